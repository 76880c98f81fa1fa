# Shared set-up and assertions of the CLI tests; sourced, with $1 = the quantfarm
# binary. Leaves the caller in a fresh temporary directory removed on exit.
set -euo pipefail

QF="$(readlink -f "$1")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
unset QUANTFARM_STORE
# Tests compute: the result cache would serve a script's repeated runs of one config
# from its first run. The cache's own tests unset this.
export QUANTFARM_NO_CACHE=1

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_contains() {  # expect_contains FILE TEXT
  grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "missing '$2'"; }
}
# expect_failure LOG CMD...: CMD must exit non-zero; its stderr goes to LOG.
expect_failure() {
  local log="$1"; shift
  if "$@" >/dev/null 2>"$log"; then fail "succeeded: $*"; fi
}
# same_results A.h5 B.h5 [GENERATIONS]: B is a finished run equal to A bit for bit in
# every dataset of /generations and /best_per_island, in the top list and in the number
# of distinct evaluations; with GENERATIONS, both hold that many generations.
same_results() {
  /usr/bin/python3 - "$@" <<'PY' || fail "$1 and $2 differ"
import h5py, sys
def columns(path):
    f = h5py.File(path, "r")
    out = {}
    for group in ["generations", "best_per_island"]:
        f[group].visititems(lambda n, o: out.__setitem__(group + "/" + n, o[:].tobytes())
                            if isinstance(o, h5py.Dataset) else None)
    return f, out
(fa, a), (fb, b) = columns(sys.argv[1]), columns(sys.argv[2])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
assert any(k.endswith("/fitness") for k in a)
if len(sys.argv) > 3:
    assert len(fa["generations"]) == int(sys.argv[3]), len(fa["generations"])
for k in a:
    assert a[k] == b[k], k
assert fa.attrs["top"] == fb.attrs["top"], "top differs"
assert fa.attrs["evaluated"] == fb.attrs["evaluated"], "an evaluation was repeated or lost"
assert fb.attrs["status"] == b"finished", fb.attrs["status"]
PY
}
# same_search A.h5 B.h5: two finished search results: every dataset of /trials,
# /evaluated, /trial_metrics (and the GA's /generations) and the top, overfitting and
# report attributes are equal bit for bit.
same_search() {
  /usr/bin/python3 - "$@" <<'PY' || fail "$1 and $2 differ"
import h5py, sys
def content(path):
    f = h5py.File(path, "r")
    out = {}
    for group in ["trials", "evaluated", "trial_metrics", "generations", "best_per_island"]:
        if group in f:
            f[group].visititems(lambda n, o: out.__setitem__(group + "/" + n, o[:].tobytes())
                                if isinstance(o, h5py.Dataset) else None)
    for a in ["top", "overfitting", "report", "algorithm", "evaluated", "status"]:
        if a in f.attrs:
            out["@" + a] = f.attrs[a]
    return out
a, b = content(sys.argv[1]), content(sys.argv[2])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
assert "trials/fitness" in a and "@top" in a
for k in a:
    assert a[k] == b[k], k
assert a["@status"] == b"finished"
PY
}
# checkpoint_generation FILE: the generation a checkpoint will evaluate next (0 if the
# file does not exist yet or cannot be read at this moment).
checkpoint_generation() {
  /usr/bin/python3 -c "import h5py, sys
try:
    print(int(h5py.File(sys.argv[1], 'r')['state/generation'][0]))
except Exception:
    print(0)" "$1"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  /usr/bin/python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# wait_serve URL PID LOG: waits up to 10 s for URL/health to answer; fails (showing LOG)
# if the server process PID exits first or it never answers.
wait_serve() {
  for _ in $(seq 1 200); do
    curl -sf "$1/health" > /dev/null 2>&1 && return 0
    kill -0 "$2" 2> /dev/null || { cat "$3" >&2; fail "serve exited at start-up"; }
    sleep 0.05
  done
  curl -sf "$1/health" > /dev/null || { cat "$3" >&2; fail "serve did not answer /health"; }
}
