#!/usr/bin/env bash
# One cluster: `mpirun -np 3 quantfarm serve` runs searches POSTed over REST on the
# worker ranks that host the service replicas. Real curl against the real server:
#  - a GA search POSTed and polled to the end gives the results file `quantfarm search`
#    gives for the same config, bit for bit; GET /experiments/{name} shows status,
#    algorithm, step, evaluations, best, ETA and the per-step best/mean;
#  - stop then resume over REST gives the bits of an uninterrupted run;
#  - two searches at once: each bit-identical to running alone, both progressing;
#  - while a search runs, service requests keep answering (no 5xx, each within 1 s);
#  - bad input: 4xx with the reason, registry unchanged;
#  - shutdown while a search runs: it is checkpointed (interrupted), exit code 0.
# Usage: cluster_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo)

"$QF" data synth --store data.h5 --symbols 3 --bars 4000 --seed 11 > /dev/null
common='"strategy": "ema_crossover", "symbols": ["AAA", "BBB"], "store": "data.h5",
 "split": {"in_sample": 0.7}, "fitness": {"aggregate": "mean_plus_min", "min_trades": 3},
 "seed": 13'
echo "{\"search\": \"ga\", $common, \"population_size\": 32, \"num_generations\": 4, \"islands\": 2}" > ga.json
echo "{\"search\": \"ga\", $common, \"population_size\": 64, \"num_generations\": 60, \"islands\": 2}" > long.json
# Runs far longer than the test waits (about 25 s alone): stopped and shut down mid-run.
echo "{\"search\": \"ga\", ${common/ema_crossover/macd_signal}, \"population_size\": 64, \"num_generations\": 400, \"islands\": 2}" > heavy.json
echo "{\"search\": \"random\", $common, \"num_samples\": 96, \"batch_size\": 16}" > random.json
for c in ga long random; do
  "$QF" search --config $c.json --out cli-$c.h5 --registry cli.db --quiet > cli-$c.out 2>&1 ||
    { cat cli-$c.out; fail "CLI search $c failed"; }
done

port=$(free_port)
url="http://127.0.0.1:$port"
start_serve() {  # start_serve LOG: the cluster on $port; sets PID
  "${MPIRUN[@]}" -np 3 "$QF" serve --port "$port" --store data.h5 --registry reg.db \
    --results-dir results > "$1" 2>&1 &
  PID=$!
  wait_serve "$url" "$PID" "$1"
}
field() {  # field NAME KEY: a top-level field of GET /experiments/NAME
  curl -s "$url/experiments/$1" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin).get('$2'))"
}
wait_status() {  # wait_status NAME STATUS: bounded to 120 s
  for _ in $(seq 1 1200); do
    [ "$(field "$1" status)" = "$2" ] && return 0
    sleep 0.1
  done
  curl -s "$url/experiments/$1" >&2
  cat serve.out >&2
  fail "experiment $1 not $2 within 120 s"
}
post() {  # post PATH BODY OUT: prints the status code, body into OUT
  curl -s -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$2" "$url$1"
}
start_serve serve.out

# A GA search over REST: 202 at once, then polled to the end; the CLI's bits.
code=$(post /search/ga "$(/usr/bin/python3 -c "import json; c = json.load(open('ga.json')); c.pop('search'); c['name'] = 'ga1'; print(json.dumps(c))")" ga1.json)
[ "$code" = 202 ] || { cat ga1.json; fail "POST /search/ga answered $code"; }
expect_contains ga1.json '"url":"/experiments/ga1"'
wait_status ga1 finished
same_search cli-ga.h5 results/ga1.h5
curl -s "$url/experiments/ga1" > ga1-status.json
/usr/bin/python3 - <<'PY' || { cat ga1-status.json; fail "GET /experiments/ga1"; }
import json
s = json.load(open("ga1-status.json"))
assert s["algorithm"] == "ga", s["algorithm"]
assert s["evaluations"] > 0 and s["best_fitness"] is not None
steps = s["steps"]
assert len(steps) == 4 and [x["step"] for x in steps] == [1, 2, 3, 4], steps
assert all("best" in x and "mean" in x for x in steps)
PY
echo "GA over REST: bit-identical to the CLI; status with per-step best/mean"
# The registry, cache and catalogue routes answer from the same code as the CLI.
curl -sf "$url/experiments" > list.json
"$QF" experiments list --registry reg.db --json > cli-list.json
/usr/bin/python3 - <<'PY' || fail "GET /experiments differs from experiments list --json"
import json
rest, cli = json.load(open("list.json")), json.load(open("cli-list.json"))
assert [e["name"] for e in rest] == [e["name"] for e in cli] == ["ga1"], (rest, cli)
assert rest[0]["status"] == cli[0]["status"] == "finished"
PY
curl -sf "$url/fingerprint/stats" > fp.json
expect_contains fp.json '"entries":0'  # QUANTFARM_NO_CACHE=1 (cli_test_lib.sh): nothing cached
curl -sf "$url/symbols" > symbols.json
expect_contains symbols.json '"symbol":"AAA"'
curl -sf "$url/algorithms" > algorithms.json
/usr/bin/python3 -c "import json; a = json.load(open('algorithms.json')); names = [x['name'] for x in a['search_algorithms']]; assert set(names) >= {'grid', 'random', 'ga', 'pbt', 'asha', 'bayesian'}, names" ||
  fail "GET /algorithms lacks a search algorithm"
code=$(curl -s -o del.json -w '%{http_code}' -X DELETE "$url/fingerprint")
[ "$code" = 400 ] || { cat del.json; fail "DELETE /fingerprint without confirm answered $code"; }
expect_contains del.json "confirm=true"

# The seed's field names: algorithm -> strategy, tickers -> symbols.
seed_body='{"name": "seed1", "algorithm": "ema_crossover", "tickers": ["AAA", "BBB"], "store": "data.h5",
 "split": {"in_sample": 0.7}, "fitness": {"aggregate": "mean_plus_min", "min_trades": 3},
 "seed": 13, "num_samples": 96, "batch_size": 16}'
[ "$(post /search/random "$seed_body" seed1.json)" = 202 ] || { cat seed1.json; fail "seed fields refused"; }
wait_status seed1 finished
same_search cli-random.h5 results/seed1.h5
echo "the seed's field names: the same search"

# Two searches at once, and service requests while they run.
long_body=$(/usr/bin/python3 -c "import json; c = json.load(open('long.json')); c['name'] = 'long1'; print(json.dumps(c))")
rand_body=$(/usr/bin/python3 -c "import json; c = json.load(open('random.json')); c['name'] = 'rand2'; print(json.dumps(c))")
[ "$(post /search/ga "$long_body" l.json)" = 202 ] || { cat l.json; fail "POST long1"; }
[ "$(post /search/random "$rand_body" r.json)" = 202 ] || { cat r.json; fail "POST rand2"; }
slow=0
for i in $(seq 1 40); do
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$url/api/screener/status")
  set -- $out
  [ "$1" = 200 ] || fail "a service request during searches answered $1"
  /usr/bin/python3 -c "import sys; sys.exit(0 if float('$2') < 1.0 else 1)" || slow=$((slow + 1))
  sleep 0.05
done
[ "$slow" -eq 0 ] || fail "$slow service request(s) took 1 s or more during searches"
wait_status rand2 finished
wait_status long1 finished
/usr/bin/python3 - <<'PY' || { cat serve.out >&2; fail "long1 and rand2 did not run at the same time"; }
lines = open("serve.out").read().splitlines()
at = lambda text: next(i for i, l in enumerate(lines) if text in l)
assert at("search 'long1': finished") > at("search 'rand2': started"), "long1 ended first"
assert at("search 'rand2': finished") > at("search 'long1': started")
PY
same_search cli-random.h5 results/rand2.h5
same_search cli-long.h5 results/long1.h5
grep -q "search 'rand2': step" serve.out || fail "rand2 logged no step"
echo "two searches at once: each bit-identical to running alone; services answered (40 x 200, < 1 s)"

# Stop, then resume over REST: the bits of an uninterrupted run.
stop_body=$(/usr/bin/python3 -c "import json; c = json.load(open('long.json')); c['name'] = 'stopme'; print(json.dumps(c))")
[ "$(post /search/ga "$stop_body" s.json)" = 202 ] || { cat s.json; fail "POST stopme"; }
for _ in $(seq 1 600); do
  steps=$(curl -s "$url/experiments/stopme" | /usr/bin/python3 -c "import json, sys; print(len(json.load(sys.stdin).get('steps') or []))")
  [ "$steps" -ge 2 ] && break
  sleep 0.05
done
code=$(post /experiments/stopme/stop '' stop.json)
[ "$code" = 200 ] || { cat stop.json; fail "stop answered $code"; }
wait_status stopme interrupted
[ "$(post /search/ga '{"name": "stopme", "resume": true}' resume.json)" = 202 ] ||
  { cat resume.json; fail "resume refused"; }
wait_status stopme finished
same_search cli-long.h5 results/stopme.h5
echo "stop + resume over REST: bit-identical to the uninterrupted run"

# Bad input: 4xx with the reason; the registry is unchanged.
snapshot() { /usr/bin/python3 -c "import sqlite3; c = sqlite3.connect('file:reg.db?mode=ro', uri=True); print(c.execute('select name, status, generations_done from experiments order by name').fetchall(), c.execute('select count(*) from cache').fetchone())"; }
before=$(snapshot)
bad() {  # bad EXPECTED_CODE PATH BODY TEXT
  local code
  code=$(post "$2" "$3" bad.json)
  [ "$code" = "$1" ] || { cat bad.json; fail "POST $2 $3: $code, expected $1"; }
  expect_contains bad.json "$4"
}
bad 404 /search/annealing '{}' "unknown search 'annealing'"
bad 400 /search/ga '{"strategy": "ema_crossover", "symbols": ["AAA"], "store": "data.h5", "popsize": 3}' "popsize"
bad 400 /search/ga '[1, 2]' "expected a JSON object"
bad 400 /search/ga '{"strategy": ' "malformed JSON"
bad 400 /search/ga '{"strategy": "ema_crossover", "symbols": ["ZZZ"], "store": "data.h5"}' "ZZZ"
bad 400 /search/grid '{"search": "ga", "strategy": "ema_crossover", "symbols": ["AAA"], "store": "data.h5"}' "the route is /search/grid"
bad 400 /search/multi-ticker-pbt '{"strategy": "ema_crossover", "tickers": ["AAA"], "store": "data.h5"}' "two or more"
bad 409 /search/ga "$(/usr/bin/python3 -c "import json; c = json.load(open('ga.json')); c['name'] = 'ga1'; print(json.dumps(c))")" "'ga1' is in use"
bad 404 /search/ga '{"name": "nosuch", "resume": true}' "no experiment 'nosuch'"
bad 409 /search/ga '{"name": "ga1", "resume": true}' "is finished"
bad 409 /experiments/ga1/stop '' "not running"
for n in 0 -3 x 1e9; do
  code=$(curl -s -o top.json -w '%{http_code}' "$url/experiments/ga1/top/$n")
  [ "$code" = 400 ] || { cat top.json; fail "top/$n answered $code"; }
done
[ "$(curl -s -o top.json -w '%{http_code}' "$url/experiments/ga1/top/3")" = 200 ] || { cat top.json; fail "top/3"; }
[ "$(snapshot)" = "$before" ] || fail "refused requests changed the registry: $before -> $(snapshot)"
# Deleting a running experiment is refused.
[ "$(post /search/ga "$(/usr/bin/python3 -c "import json; c = json.load(open('heavy.json')); c['name'] = 'busy'; print(json.dumps(c))")" b.json)" = 202 ] ||
  { cat b.json; fail "POST busy"; }
code=$(curl -s -o del.json -w '%{http_code}' -X DELETE "$url/experiments/busy")
[ "$code" = 409 ] || { cat del.json; fail "DELETE of a running experiment answered $code"; }
[ "$(post /experiments/busy/stop '' stop2.json)" = 200 ] || { cat stop2.json; fail "stop busy"; }
wait_status busy interrupted
echo "bad input: 4xx with reasons, registry unchanged"

# Shutdown while a search runs: checkpointed as interrupted, exit 0.
[ "$(post /search/ga '{"name": "busy", "resume": true}' b2.json)" = 202 ] || { cat b2.json; fail "resume busy"; }
sleep 0.5
wait_status busy running
"$QF" ctl --url "$url" shutdown > /dev/null
rc=0
wait "$PID" || rc=$?
[ "$rc" -eq 0 ] || { cat serve.out >&2; fail "serve exited with $rc"; }
expect_contains serve.out "search 'busy': stopped: checkpoint in"
/usr/bin/python3 -c "import sqlite3; s = sqlite3.connect('reg.db').execute(\"select status from experiments where name = 'busy'\").fetchone()[0]; assert s == 'interrupted', s" ||
  fail "a search running at shutdown is not interrupted"
# With QUANTFARM_API_TOKEN, POST and DELETE need the bearer token; nothing changes without.
before=$(snapshot)
QUANTFARM_API_TOKEN=s3cret "${MPIRUN[@]}" -x QUANTFARM_API_TOKEN -np 2 "$QF" serve --port "$port" \
  --store data.h5 --registry reg.db --results-dir results > token.out 2>&1 &
PID=$!
wait_serve "$url" "$PID" token.out
[ "$(post /search/random "$rand_body" t.json)" = 401 ] || { cat t.json; fail "POST /search without the token"; }
[ "$(curl -s -o t.json -w '%{http_code}' -X DELETE "$url/experiments/ga1")" = 401 ] || fail "DELETE without the token"
[ "$(curl -s -o t.json -w '%{http_code}' "$url/experiments/ga1")" = 200 ] || fail "GET needs no token"
[ "$(snapshot)" = "$before" ] || fail "requests without the token changed the registry"
code=$(curl -s -o t.json -w '%{http_code}' -X DELETE -H 'Authorization: Bearer s3cret' "$url/experiments/ga1")
[ "$code" = 200 ] || { cat t.json; fail "DELETE with the token answered $code"; }
[ "$(curl -s -o t.json -w '%{http_code}' "$url/experiments/ga1")" = 404 ] || fail "ga1 still listed after DELETE"
curl -s -X POST -H 'Authorization: Bearer s3cret' "$url/api/cluster/shutdown" > /dev/null
wait "$PID" || { cat token.out >&2; fail "serve with a token exited non-zero"; }
echo "token: POST/DELETE refused without it (registry unchanged), DELETE with it removed ga1"
echo "PASS"
