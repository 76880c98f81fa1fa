#!/usr/bin/env bash
# The request shapes of the Python "seed" system, sent with curl as a user moving from
# it would, to `mpirun -np 3 quantfarm serve` (two worker ranks with the replicas):
#  - POST /api/screener/screen with list-form filters ({"type", "parameters"}: price,
#    volume, market_cap, pe, dividend_yield and sector filters) answers like the object
#    form; unknown types or parameters are 400 naming them;
#  - SCREENER_MAX_RESULTS caps "limit"; SCREENER_REFRESH_INTERVAL shows in the status;
#  - the seed's algorithm ids (momentum_strategy, mean_reversion_strategy,
#    arbitrage_strategy) run their seeds and are listed as aliases; a parameter the
#    seed lacks is 400 naming it;
#  - POST /api/algorunner/stop {"algorithm_id"} answers the runs it stopped;
#  - ALGORUNNER_MAX_EXECUTION_TIME ends a run as timed_out (recorded in the registry);
#    malformed env values are ignored, the ranks live on, the status shows the limits.
# Usage: seed_requests_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(timeout 240 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo)
PY=/usr/bin/python3

"$QF" data synth --store quantfarm.h5 --symbols 8 --bars 1000 --seed 3 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
PID=""
start_serve() {  # start_serve LOG: the cluster on $port with the exported SCREENER_* and
  # ALGORUNNER_* variables; sets PID
  "${MPIRUN[@]}" -x SCREENER_MAX_RESULTS -x SCREENER_REFRESH_INTERVAL \
    -x ALGORUNNER_MAX_EXECUTION_TIME -x ALGORUNNER_MAX_CONCURRENT -np 3 "$QF" serve \
    --port "$port" --store quantfarm.h5 --registry quantfarm.db > "$1" 2>&1 &
  PID=$!
  wait_serve "$url" "$PID" "$1"
}
stop_serve() {  # stop_serve LOG: graceful shutdown, exit code 0
  "$QF" ctl --url "$url" shutdown > /dev/null
  local rc=0
  wait "$PID" || rc=$?
  PID=""
  [ "$rc" -eq 0 ] || { cat "$1" >&2; fail "serve exited with $rc"; }
}
cleanup() {  # stops the cluster this test started (by its pid) and removes $WORK
  if [ -n "$PID" ]; then kill "$PID" 2> /dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
post() {  # post PATH BODY OUT: prints the status code, the body into OUT
  curl -s -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$2" "$url$1"
}
expect_post() {  # expect_post CODE PATH BODY OUT: POST must answer CODE
  local got
  got=$(post "$2" "$3" "$4")
  [ "$got" = "$1" ] || { cat "$4" >&2; echo >&2; fail "POST $2 $3 answered $got, not $1"; }
}
check() {  # check FILE PYTHON: asserts about the JSON document j in FILE
  "$PY" -c "import json, sys
j = json.load(open(sys.argv[1]))
$2" "$1" || { cat "$1" >&2; echo >&2; fail "unexpected answer in $1"; }
}

export SCREENER_MAX_RESULTS=5 SCREENER_REFRESH_INTERVAL=60
export ALGORUNNER_MAX_EXECUTION_TIME=600 ALGORUNNER_MAX_CONCURRENT=4
start_serve serve.out

echo "== screener: the seed's list-form filters"
expect_post 200 /api/screener/screen '{"filters": [{"type": "price_filter", "parameters": {"min_price": 100, "max_price": 500}}], "limit": 5}' price.json
check price.json "
assert j['count'] == len(j['results']) and j['count'] <= 5, j['count']
assert all(100 <= r['price'] <= 500 for r in j['results']), [r['price'] for r in j['results']]
assert [c['field'] for c in j['criteria']] == ['price', 'price'], j['criteria']"
# The same screen in the object form gives the same symbols.
expect_post 200 /api/screener/screen '{"filters": {"price": {"min": 100, "max": 500}}, "limit": 5}' price-object.json
"$PY" -c "import json
a, b = json.load(open('price.json')), json.load(open('price-object.json'))
assert a['results'] == b['results'] and a['total_matched'] == b['total_matched']" ||
  fail "list and object forms differ"
# Bounds from the data (the synthetic prices may all lie outside 100..500): the 2nd to
# 4th lowest last closes match exactly those three symbols.
expect_post 200 /api/screener/screen '{"sort": {"field": "price"}, "limit": 5}' by-price.json
read -r lo hi expected < <("$PY" -c "import json
r = json.load(open('by-price.json'))['results']
print(r[1]['price'], r[3]['price'], ','.join(x['symbol'] for x in r[1:4]))")
expect_post 200 /api/screener/screen "{\"filters\": [{\"type\": \"price_filter\", \"parameters\": {\"min_price\": $lo, \"max_price\": $hi}}]}" price-data.json
check price-data.json "assert ','.join(r['symbol'] for r in sorted(j['results'], key=lambda r: r['price'])) == '$expected', j"
curl -sf "$url/api/screener/filters" > filters.json
sector=$("$PY" -c "import json; print(json.load(open('filters.json'))['sectors'][0])")
all_types='{"filters": [
  {"type": "price_filter", "parameters": {"min_price": 1, "max_price": 100000}},
  {"type": "volume_filter", "parameters": {"min_volume": 0, "max_volume": 1e15}},
  {"type": "market_cap_filter", "parameters": {"min_market_cap": 0, "max_market_cap": 1e16}},
  {"type": "pe_filter", "parameters": {"min_pe": 0, "max_pe": 100000}},
  {"type": "dividend_yield_filter", "parameters": {"min_dividend_yield": 0, "max_dividend_yield": 100}},
  {"type": "sector_filter", "parameters": {"sectors": ["'"$sector"'"]}}],
  "sort": {"field": "market_cap", "order": "desc"}}'
expect_post 200 /api/screener/screen "$all_types" all.json
check all.json "
assert j['total_matched'] >= 1, j
assert all(r['sector'] == '$sector' for r in j['results'])
assert len(j['criteria']) == 11, j['criteria']"
expect_post 400 /api/screener/screen '{"filters": [{"type": "beta_filter", "parameters": {}}]}' bad-type.json
expect_contains bad-type.json "field 'filters[0].type' must be one of price_filter"
expect_contains bad-type.json "got 'beta_filter'"
expect_post 400 /api/screener/screen '{"filters": [{"type": "price_filter", "parameters": {"min_prize": 1}}]}' bad-param.json
expect_contains bad-param.json "unknown field 'filters[0].parameters.min_prize' (allowed: min_price, max_price)"
echo "list-form filters: same answers as the object form; bad types and parameters named"

echo "== screener: SCREENER_MAX_RESULTS and SCREENER_REFRESH_INTERVAL"
expect_post 200 /api/screener/screen '{}' default.json
check default.json "assert j['count'] == 5 and j['total_matched'] == 8, j['count']"
expect_post 400 /api/screener/screen '{"limit": 6}' over.json
expect_contains over.json "field 'limit' must be in 1..5, got 6"
curl -sf "$url/api/screener/status" > screener-status.json
check screener-status.json "
assert j['limits'] == {'max_results': 5, 'refresh_interval': 60}, j['limits']
assert 'warnings' not in j"
echo "limit capped at 5; the status shows the effective limits"

echo "== algorunner: the seed's algorithm ids"
curl -sf "$url/api/algorunner/algorithms" > algorithms.json
check algorithms.json "
assert j['aliases'] == {'momentum_strategy': 'momentum_roc',
                        'mean_reversion_strategy': 'zscore_reversion',
                        'arbitrage_strategy': 'pairs_arbitrage'}, j['aliases']
by_id = {a['id']: a for a in j['algorithms']}
assert by_id['momentum_roc']['aliases'] == ['momentum_strategy']"
expect_post 200 /api/algorunner/run '{"algorithm_id": "momentum_strategy", "parameters": {"symbol": "AAA", "period": 20}}' momentum.json
check momentum.json "
assert j['status'] == 'finished' and j['algorithm_id'] == 'momentum_roc', j
assert j['requested_as'] == 'momentum_strategy' and j['params']['period'] == 20
assert 'sharpe' in j['metrics']['full']"
expect_post 200 /api/algorunner/run '{"algorithm_id": "mean_reversion_strategy", "parameters": {"symbol": "BBB"}}' reversion.json
check reversion.json "assert j['status'] == 'finished' and j['algorithm_id'] == 'zscore_reversion', j"
expect_post 200 /api/algorunner/run '{"algorithm_id": "arbitrage_strategy", "parameters": {"symbol": "AAA", "symbol2": "BBB"}}' arbitrage.json
check arbitrage.json "assert j['status'] == 'finished' and j['symbol'] == 'AAA/BBB', j"
expect_post 400 /api/algorunner/run '{"algorithm_id": "momentum_strategy", "parameters": {"symbol": "AAA", "lookback": 20}}' unknown-param.json
expect_contains unknown-param.json "unknown field 'parameters.lookback' (allowed: symbol"
echo "aliases run their seeds; a parameter the seed lacks is named"

echo "== algorunner: stop by algorithm_id"
expect_post 200 /api/algorunner/stop '{"algorithm_id": "momentum_roc"}' stop.json
check stop.json "assert j['algorithm_id'] == 'momentum_roc' and j['count'] == 0 and j['stopped'] == [], j"
expect_post 200 /api/algorunner/stop '{"algorithm_id": "momentum_strategy"}' stop-alias.json
check stop-alias.json "assert j['algorithm_id'] == 'momentum_roc' and j['requested_as'] == 'momentum_strategy', j"
expect_post 404 /api/algorunner/stop '{"algorithm_id": "nope_strategy"}' stop-unknown.json
expect_contains stop-unknown.json "unknown algorithm 'nope_strategy'"
run_id=$("$PY" -c "import json; print(json.load(open('momentum.json'))['run_id'])")
expect_post 409 /api/algorunner/stop "{\"run_id\": \"$run_id\"}" stop-run.json
expect_contains stop-run.json "already finished"
curl -sf "$url/api/algorunner/status" > algorunner-status.json
check algorunner-status.json "
assert j['limits'] == {'max_execution_time': 600, 'max_concurrent': 4}, j['limits']
assert j['max_background_runs'] == 4, j['max_background_runs']
assert len(j['runs']) == 3 and all(r['status'] == 'finished' for r in j['runs'])"
echo "stop by algorithm lists what it stopped (nothing here); by run_id as before"
stop_serve serve.out

echo "== a tiny ALGORUNNER_MAX_EXECUTION_TIME; malformed values are ignored"
export ALGORUNNER_MAX_EXECUTION_TIME=0.000001 ALGORUNNER_MAX_CONCURRENT=lots
export SCREENER_MAX_RESULTS=-3 SCREENER_REFRESH_INTERVAL=soon
start_serve serve2.out
expect_post 200 /api/algorunner/run '{"algorithm_id": "momentum_strategy", "parameters": {"symbol": "CCC", "period": 20}}' timed-out.json
check timed-out.json "
assert j['status'] == 'timed_out', j['status']
assert 'ALGORUNNER_MAX_EXECUTION_TIME' in j['error'], j['error']"
curl -sf "$url/api/algorunner/status" > algorunner-status2.json
check algorunner-status2.json "
assert j['limits'] == {'max_execution_time': 1e-06, 'max_concurrent': 10}, j['limits']
assert j['max_background_runs'] == 2, j['max_background_runs']
assert any('ALGORUNNER_MAX_CONCURRENT=\'lots\'' in w for w in j['warnings']), j['warnings']"
curl -sf "$url/api/screener/status" > screener-status2.json
check screener-status2.json "
assert j['status'] == 'ok' and j['limits'] == {'max_results': 1000, 'refresh_interval': 300}, j
assert len(j['warnings']) == 2, j['warnings']"
expect_post 200 /api/screener/screen '{"limit": 8}' after.json
curl -sf "$url/status" > /dev/null || fail "/status failed"
stop_serve serve2.out
"$PY" - quantfarm.db <<'PY' || fail "the registry does not hold the timed-out run"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
runs = db.execute("SELECT status, count(*) FROM algorithm_runs GROUP BY status").fetchall()
assert dict(runs) == {"finished": 3, "timed_out": 1}, runs
PY
echo "timed_out recorded; malformed env values ignored with warnings, every rank alive"
echo "PASS"
