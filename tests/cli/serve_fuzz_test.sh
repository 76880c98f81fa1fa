#!/usr/bin/env bash
# `mpirun -np 3 quantfarm serve` (two worker ranks, two replicas of each service spread
# over them) under a seeded fuzzer (tests/serve/http_fuzz.py): first malformed HTTP
# (raw mode), then a few thousand well-framed requests with random, truncated and
# malformed JSON bodies and query strings to the real service routes (--api mode).
# Checks: every answer is well-formed HTTP/1.1 with a JSON object body and a status in
# {200,201,202,400,401,404,405,409,413,429,431,502,503} (no 500, nothing but headers for HEAD);
# afterwards /health is 200, a valid screen request works, /status lists both worker
# ranks with their replicas and every rank process is still the same live process; the
# store's bytes are unchanged (every crawl was refused) and the registry holds exactly
# the runs and filter names the fuzzer was told were accepted; then a graceful shutdown
# (exit 0). A failing request is printed with a curl reproducer.
# Usage: serve_fuzz_test.sh /path/to/quantfarm   (QF_FUZZ_SEED picks another seed)
source "$(dirname "$0")/cli_test_lib.sh" "$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FUZZ="$HERE/../serve/http_fuzz.py"
PY=/usr/bin/python3
SEED="${QF_FUZZ_SEED:-20240607}"
MPIRUN=(timeout 240 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo --mca mpi_yield_when_idle 1)

serve_pid="" mpirun_pid="" ranks=()
cleanup() {  # stops what this test started, by pid: timeout -> mpirun -> ranks
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2> /dev/null; then
    kill -TERM "$serve_pid" 2> /dev/null || true
    for _ in $(seq 1 50); do kill -0 "$serve_pid" 2> /dev/null || break; sleep 0.1; done
    for p in "${ranks[@]}" "$mpirun_pid" "$serve_pid"; do
      [ -n "$p" ] && kill -KILL "$p" 2> /dev/null || true
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
problems=()
problem() { echo "PROBLEM: $*" >&2; problems+=("$*"); }
jq_py() {  # jq_py FILE EXPR: prints EXPR over the JSON document j in FILE
  "$PY" -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}

"$QF" data synth --store quantfarm.h5 --symbols 6 --bars 1000 --seed 3 > /dev/null
store_sum=$(sha256sum quantfarm.h5)
port=$(free_port)
url="http://127.0.0.1:$port"
# The internet sources point at a closed local port: their crawls are refused (502).
export BINANCE_BASE_URL=http://127.0.0.1:1 YAHOO_FINANCE_BASE_URL=http://127.0.0.1:1 \
  ALPHA_VANTAGE_BASE_URL=http://127.0.0.1:1 BINANCE_WS_URL=ws://127.0.0.1:1
"${MPIRUN[@]}" -x BINANCE_BASE_URL -x YAHOO_FINANCE_BASE_URL -x ALPHA_VANTAGE_BASE_URL \
  -x BINANCE_WS_URL -np 3 "$QF" serve --port "$port" --replicas-per-worker 4 --max-workers 0 \
  > serve.out 2>&1 &
serve_pid=$!
wait_serve "$url" "$serve_pid" serve.out
# The processes: timeout -> mpirun -> 3 ranks (all on this node).
mpirun_pid=$(pgrep -P "$serve_pid" -x mpirun || true)
[ -n "$mpirun_pid" ] || fail "no mpirun under $serve_pid"
for _ in $(seq 1 100); do
  mapfile -t ranks < <(pgrep -P "$mpirun_pid")
  [ "${#ranks[@]}" -eq 3 ] && break
  sleep 0.05
done
[ "${#ranks[@]}" -eq 3 ] || fail "expected 3 rank processes under mpirun, found ${#ranks[@]}"

# Two replicas of each service: 8 replicas over 2 ranks x 4 slots, so both ranks serve.
for svc in algorunner screener tickscrawler ensemble; do
  curl -sf -X POST "$url/api/cluster/scale" -d "{\"service\": \"$svc\", \"replicas\": 2}" \
    > /dev/null || fail "cannot scale $svc"
done
placed() {  # status.json -> "ok" when both ranks host 4 replicas and each service has 2
  jq_py "$1" "'ok' if j['ranks'] == 3 and j['spawned_workers'] == 0 and
    sorted((w['name'], w['replicas']) for w in j['workers']) == [('rank 1', 4), ('rank 2', 4)]
    and all(s['replicas'] == 2 and s['target_replicas'] == 2 for s in j['services'].values())
    and len(j['services']) == 4 else 'no'"
}
for _ in $(seq 1 100); do
  curl -sf "$url/status" > status.json && [ "$(placed status.json)" = ok ] && break
  sleep 0.05
done
[ "$(placed status.json)" = ok ] || { cat status.json >&2; fail "replicas not placed on both ranks"; }

start=$(date +%s%N)
echo "== raw HTTP fuzz (seed $SEED)"
timeout 60 "$PY" "$FUZZ" "$port" --seed "$SEED" --count 1500 --seconds 15 ||
  problem "raw HTTP fuzz: a malformed answer (see above)"
echo "== API fuzz (seed $SEED)"
api_rc=0
timeout 90 "$PY" "$FUZZ" "$port" --api --seed "$SEED" --count 3000 --seconds 40 \
  --connections 4 --timeout 10 --summary fuzz.json --failures failures || api_rc=$?
fuzz_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ -f fuzz.json ] || fail "the API fuzzer wrote no summary (exit $api_rc)"
[ "$api_rc" -eq 0 ] ||
  problem "API fuzz: $(jq_py fuzz.json "len(j['failures'])") request(s) got a bad answer (classes and reproducers above)"
[ "$(jq_py fuzz.json "j['answered']")" -ge 2000 ] ||
  problem "API fuzz answered only $(jq_py fuzz.json "j['answered']") requests (expected >= 2000)"
echo "fuzz took ${fuzz_ms} ms"

echo "== the server afterwards"
for p in "${ranks[@]}" "$mpirun_pid"; do
  kill -0 "$p" 2> /dev/null || problem "process $p (mpirun or a rank) died during the fuzz"
done
code=$(curl -s -o health.json -w '%{http_code}' --max-time 10 "$url/health" || true)
[ "$code" = 200 ] || problem "/health answers $code after the fuzz"
curl -sf --max-time 10 -X POST "$url/api/screener/screen" -d '{"limit": 2}' > screen.json ||
  problem "a valid screen request failed after the fuzz"
[ "$(jq_py screen.json "j.get('count')" 2> /dev/null)" = 2 ] ||
  problem "a valid screen request returns $(head -c 300 screen.json)"
curl -sf --max-time 10 "$url/status" > status.json || problem "/status failed after the fuzz"
[ "$(placed status.json)" = ok ] || problem "/status after the fuzz: $(cat status.json)"

echo "== files: the store untouched, the registry holds only accepted requests"
echo "$store_sum" | sha256sum -c --quiet - || problem "the store's bytes changed"
[ "$(jq_py fuzz.json "j['crawls_accepted']")" = 0 ] || problem "a crawl was accepted"
[ ! -e crawl ] || problem "a crawl folder appeared"
if [ -e quantfarm.db ]; then
  "$PY" - quantfarm.db fuzz.json <<'PY' || problem "the registry does not match the accepted requests"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
fuzz = json.load(open(sys.argv[2]))
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
runs = dict(db.execute("SELECT run_id, status FROM algorithm_runs").fetchall())
accepted = set(fuzz["run_ids"])
assert len(accepted) == len(fuzz["run_ids"]), "a run id was answered twice"
assert set(runs) == accepted, ("runs recorded but not accepted: %s; accepted but not "
                               "recorded: %s" % (sorted(set(runs) - accepted)[:5],
                                                 sorted(accepted - set(runs))[:5]))
assert all(s == "finished" for s in runs.values()), sorted(set(runs.values()))
names = {n for (n,) in db.execute("SELECT name FROM screener_filters")}
assert names == set(fuzz["filters"]), (sorted(names), fuzz["filters"])
ensembles = {n for (n,) in db.execute("SELECT name FROM ensembles")}
assert ensembles == set(fuzz["ensembles"]), (sorted(ensembles), fuzz["ensembles"])
members = db.execute("SELECT count(*) FROM ensemble_members WHERE ensemble NOT IN "
                     "(SELECT name FROM ensembles)").fetchone()[0]
assert members == 0, "%d member(s) of no ensemble" % members
print("registry: %d run(s), %d filter(s) and %d ensemble(s), each from an accepted request"
      % (len(runs), len(names), len(ensembles)))
PY
else
  [ "$(jq_py fuzz.json "len(j['run_ids']) + len(j['filters']) + len(j['ensembles'])")" = 0 ] ||
    problem "requests were accepted but no registry exists"
fi

echo "== graceful shutdown"
curl -sf --max-time 10 -X POST "$url/api/cluster/shutdown" > /dev/null || problem "shutdown request failed"
rc=0
wait "$serve_pid" || rc=$?
serve_pid=""
[ "$rc" -eq 0 ] || problem "serve exited with $rc"
grep -qF "quantfarm serve: stopped (0 request(s) unanswered)" serve.out ||
  problem "serve did not report a clean stop"
if [ ${#problems[@]} -gt 0 ]; then
  tail -n 20 serve.out >&2
  printf ' - %s\n' "${problems[@]}" >&2
  fail "${#problems[@]} problem(s)"
fi
echo "PASS"
