#!/usr/bin/env bash
# The result cache and the experiment registry through `quantfarm evolve`: a second run
# of a config against the same registry computes nothing (every evaluation is a cache
# hit) and gives /generations and /best_per_island bit-identical to the first, as do a
# warm run under mpirun and a run with --no-cache; `experiments list|show|top` and
# `cache stats|clear` report them; clearing the cache makes the next run compute again;
# a run stopped by SIGUSR1 is recorded as interrupted and `--resume --name NAME` (no
# --config, no --out) finishes it bit-identically; a reader polling `experiments show
# --json` while evolve writes never gets an error or unparsable output; bad registry
# flags are refused before anything is written.
# Usage: evolve_cache_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
unset QUANTFARM_REGISTRY QUANTFARM_NO_CACHE
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)

"$QF" data synth --store data.h5 --symbols 2 --bars 1500 --seed 5 > /dev/null
cat > evolve.json <<'JSON'
{"strategy": ["zscore_reversion", "bollinger_reversion"], "symbols": ["AAA", "BBB"],
 "store": "data.h5", "population": 48, "generations": 6, "islands": 4,
 "migration_interval": 2, "migration_size": 2, "crossover": "sbx",
 "fitness": {"metric": "sharpe", "min_trades": 5, "max_drawdown": 0.6},
 "split": {"in_sample": 0.7}, "seed": 11}
JSON
R=(--registry reg.db)

# hits FILE.out all|none: every generation line has cache hits == evals (all) or 0.
hits() {
  /usr/bin/python3 - "$1" "$2" <<'PY' || { cat "$1" >&2; fail "$1: cache hits are not $2"; }
import re, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("gen ")]
assert len(lines) == 6, len(lines)
for l in lines:
    evals, hits = map(int, re.search(r"evals +(\d+) +cache hits +(\d+)", l).groups())
    assert hits == (evals if sys.argv[2] == "all" else 0), l
PY
}

"$QF" evolve --config evolve.json --out cold.h5 "${R[@]}" > cold.out
hits cold.out none
expect_contains cold.out "experiment 'cold' recorded in reg.db"
"$QF" evolve --config evolve.json --out warm.h5 "${R[@]}" > warm.out
hits warm.out all
"${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out mpi.h5 "${R[@]}" --name mpi-warm \
  > mpi.out 2> mpi.err || { cat mpi.err; fail "mpirun -np 3 failed"; }
hits mpi.out all
"$QF" evolve --config evolve.json --out nocache.h5 "${R[@]}" --no-cache > nocache.out
hits nocache.out none
QUANTFARM_NO_CACHE=1 "$QF" evolve --config evolve.json --out envoff.h5 "${R[@]}" > envoff.out
hits envoff.out none
for f in warm mpi nocache envoff; do same_results cold.h5 "$f.h5"; done

# What the files and the registry say.
/usr/bin/python3 - "$QF" <<'PY' || fail "registry contents"
import h5py, json, subprocess, sys
qf = sys.argv[1]
def run(*args):
    r = subprocess.run([qf, *args, "--registry", "reg.db"], capture_output=True, text=True)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout
def timing(path, column):
    return h5py.File(path, "r")["timing/" + column][:].tolist()
evaluated = timing("cold.h5", "evaluated")
total = sum(evaluated)
assert total == int(h5py.File("cold.h5", "r").attrs["evaluated"])
assert timing("cold.h5", "cache_hits") == [0] * 6
assert timing("warm.h5", "cache_hits") == evaluated
assert timing("mpi.h5", "cache_hits") == evaluated
assert timing("nocache.h5", "cache_hits") == [0] * 6

listed = {e["name"]: e for e in json.loads(run("experiments", "list", "--json"))}
assert set(listed) == {"cold", "warm", "mpi-warm", "nocache", "envoff"}, listed.keys()
for name, e in listed.items():
    assert e["status"] == "finished" and e["generations_done"] == 6, e
    assert e["generations_total"] == 6 and e["evaluations"] == total, e
    assert e["ended_at"] is not None and e["error"] is None, e
assert listed["cold"]["cache_hits"] == 0 and listed["nocache"]["cache_hits"] == 0
assert listed["warm"]["cache_hits"] == total and listed["mpi-warm"]["cache_hits"] == total
human = run("experiments", "list")
assert "mpi-warm" in human and "finished" in human and "6/6" in human, human

cold_top = json.loads(h5py.File("cold.h5", "r").attrs["top"])
show = json.loads(run("experiments", "show", "warm", "--json"))
assert show["result_file"].endswith("/warm.h5"), show
assert show["config"] == json.loads(h5py.File("cold.h5", "r").attrs["config"])
assert show["best_fitness"] == cold_top[0]["fitness"], (show["best_fitness"], cold_top[0])
assert show["best"]["params"] == cold_top[0]["params"]
assert "cache hits    %d (100.0%%)" % total in run("experiments", "show", "warm")

top = json.loads(run("experiments", "top", "cold", "3", "--json"))
assert [t["rank"] for t in top] == [1, 2, 3]
assert top[0]["fitness"] >= top[1]["fitness"] >= top[2]["fitness"]
for mine, theirs in zip(top, cold_top):  # the results file's top, bit for bit
    for k in ["fitness", "fitness_mean", "fitness_min", "feasible", "params"]:
        assert mine[k] == theirs[k], (k, mine, theirs)
warm_top = json.loads(run("experiments", "top", "warm", "3", "--json"))
assert warm_top == top and top[0]["computed_by"] == "cold"
assert len(json.loads(run("experiments", "top", "cold", "100000", "--json"))) == total
assert "zscore_reversion" in run("experiments", "top", "cold", "2")

stats = json.loads(run("cache", "stats", "--json"))
assert stats["entries"] == total, stats
per = {e["experiment"]: e for e in stats["experiments"]}
assert set(per) == {"cold", "warm", "mpi-warm"}, per  # --no-cache leaves no trace
assert per["cold"]["computed"] == total and per["cold"]["used"] == total
assert per["warm"]["computed"] == 0 and per["warm"]["used"] == total
assert per["warm"]["cache_hits"] == total
print("registry: %d evaluations cached, warm runs served from the cache" % total)
PY

# Errors: clear messages, exit code 1, nothing changed.
entries() { "$QF" cache stats --json "${R[@]}" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['entries'])"; }
before=$(entries)
expect_failure err.log "$QF" experiments show nope "${R[@]}"
expect_contains err.log "no experiment 'nope' in registry 'reg.db' (known: "
expect_failure err.log "$QF" experiments top nope 3 "${R[@]}"
expect_contains err.log "no experiment 'nope'"
expect_failure err.log "$QF" experiments top cold 0 "${R[@]}"
expect_contains err.log "N must be >= 1"
expect_failure err.log "$QF" cache clear --experiment nope "${R[@]}"
expect_contains err.log "no experiment 'nope'"
[ "$(entries)" = "$before" ] || fail "a refused clear changed the cache"

# Clearing what one experiment computed: the next run computes again, same results.
"$QF" cache clear --experiment cold "${R[@]}" > clear.out
expect_contains clear.out "removed $before cached evaluations computed by experiment 'cold'"
[ "$(entries)" = 0 ] || fail "entries left after clearing the only computing experiment"
"$QF" evolve --config evolve.json --out again.h5 "${R[@]}" > again.out
hits again.out none
same_results cold.h5 again.h5
"$QF" cache clear "${R[@]}" > clear.out
expect_contains clear.out "removed $before cached evaluations from reg.db"
[ "$(entries)" = 0 ] || fail "entries left after cache clear"
[ "$("$QF" experiments list --json "${R[@]}" | grep -c '"name"')" = 6 ] ||
  fail "cache clear removed experiments"

# Bad registry flags: refused before anything is written.
expect_failure err.log "$QF" evolve --config evolve.json --out bad.h5 "${R[@]}" --cache-precision 2
expect_contains err.log "--cache-precision: parameter precision 2 must be 0 (exact) or in [1e-15, 0.1]"
expect_failure err.log "$QF" evolve --config evolve.json --out bad.h5 "${R[@]}" --name " lead"
expect_contains err.log "starts or ends with a space"
printf 'not a database, just text\n%.0s' $(seq 1 200) > garbage.db
cp garbage.db garbage.orig
expect_failure err.log "$QF" evolve --config evolve.json --out bad.h5 --registry garbage.db
expect_contains err.log "'garbage.db' is not a quantfarm registry (file is not a database)"
cmp -s garbage.db garbage.orig || fail "a refused run changed the garbage registry"
expect_failure err.log "$QF" evolve --out bad.h5 "${R[@]}"
expect_contains err.log "--config is required"
expect_failure err.log "$QF" evolve --resume --name nope "${R[@]}"
expect_contains err.log "no experiment 'nope' in registry 'reg.db' to resume"
[ ! -e bad.h5 ] || fail "a refused run wrote results"

# A longer run: a reader polling `experiments show --json` while it writes; SIGUSR1;
# `--resume --name` with neither --config nor --out; bit-identical to an undisturbed run.
"$QF" data synth --store slow.h5 --symbols 1 --bars 300000 --seed 3 > /dev/null
# (An absolute store: the config's paths are relative to where evolve runs.)
cat > slow.json <<JSON
{"strategy": ["zscore_reversion", "ema_crossover"], "symbols": ["AAA"], "store": "$WORK/slow.h5",
 "population": 96, "generations": 30, "islands": 4, "migration_interval": 3,
 "split": {"in_sample": 0.7}, "seed": 21}
JSON
"$QF" evolve --config slow.json --out reference.h5 --registry reference.db --quiet > /dev/null
# poll NAME PID UNTIL: runs `experiments show NAME --json` until generations_done >= UNTIL
# (UNTIL=0: until PID ends); every call must succeed and print JSON.
poll() {
  /usr/bin/python3 - "$QF" "$@" <<'PY'
import json, subprocess, sys, time
qf, name, pid, until = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def ended():  # gone, or a zombie not yet reaped by the shell
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True
calls, running, seen, deadline = 0, 0, set(), time.time() + 120
while time.time() < deadline:
    done = ended()  # before the call: the last call sees the final state
    r = subprocess.run([qf, "experiments", "show", name, "--registry", "live.db", "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0 and calls == 0 and ("no experiment" in r.stderr or
                                             "no registry" in r.stderr):
        time.sleep(0.01)  # not registered yet
        continue
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    calls += 1
    assert j["name"] == name, j
    assert j["status"] in ("running", "finished", "interrupted"), j["status"]
    running += j["status"] == "running"
    seen.add(j["generations_done"])
    if (until > 0 and j["generations_done"] >= until) or done:
        break
else:
    sys.exit("timed out")
assert running > 0 and len(seen) >= 2, (running, seen)
print("reader: %d calls, %d while running, generations seen %s" % (calls, running, sorted(seen)))
PY
}
"$QF" evolve --config slow.json --out live.h5 --registry live.db --name live --quiet > live.out &
pid=$!
poll live "$pid" 4 || fail "the reader failed while evolve wrote"
kill -USR1 "$pid"
wait "$pid" || fail "SIGUSR1: non-zero exit"
expect_contains live.out "checkpoint written to live.h5"
"$QF" experiments show live --registry live.db --json > live.json
/usr/bin/python3 - <<'PY' || fail "interrupted run not recorded"
import h5py, json
j = json.load(open("live.json"))
assert j["status"] == "interrupted" and j["ended_at"], j
assert j["generations_done"] == int(h5py.File("live.h5", "r")["state/generation"][0]), j
PY
mkdir elsewhere
(cd elsewhere && "$QF" evolve --resume --name live --registry ../live.db > ../resumed.out) &
pid=$!
poll live "$pid" 0 || fail "the reader failed while the resumed run wrote"
wait "$pid" || { cat resumed.out; fail "--resume --name failed"; }
expect_contains resumed.out "resuming from $WORK/live.h5"
same_results reference.h5 live.h5
[ "$("$QF" experiments show live --registry live.db --json | grep -c '"status": "finished"')" = 1 ] ||
  fail "the resumed experiment is not finished"
echo "evolve cache tests passed"
