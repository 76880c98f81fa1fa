#!/usr/bin/env bash
# Voting ensembles on `mpirun -np 3 quantfarm serve` (the "ensemble" service on the
# worker ranks, real curl and wrk):
#  - deploy-pbt-survivors takes an experiment's top N (random and PBT), deploy takes
#    given members; the seed's SERVE_VOTING / SERVE_THRESHOLD set the defaults;
#  - predict on a symbol's stored bars and on the caller's bars (the same vote for
#    window-only members); the seed's {"features"} form is refused with an explanation;
#  - 20 member changes under a wrk load of predicts: every answer 200, and each
#    answer's member list is the one of the version it names (never a mix of two);
#  - bad input is a 4xx naming the problem and leaves the registry unchanged;
#  - ensembles survive a restart; the CLI (ensemble deploy/list, backtest --ensemble)
#    gives what the REST API gives.
# Usage: ensemble_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
command -v wrk > /dev/null || fail "wrk is not installed: run scripts/install-deps.sh"
MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo -x SERVE_VOTING -x SERVE_THRESHOLD)
PY=/usr/bin/python3

"$QF" data synth --store data.h5 --symbols 3 --bars 1500 --seed 5 > /dev/null
common='"symbols": ["AAA"], "store": "data.h5", "split": {"in_sample": 0.7},
 "fitness": {"min_trades": 3}, "seed": 9'
echo "{\"search\": \"random\", \"strategy\": \"rsi_mean_reversion\", $common, \"num_samples\": 24, \"batch_size\": 8}" > random.json
echo "{\"search\": \"pbt\", \"strategy\": \"sma_crossover\", $common, \"population_size\": 8, \"num_generations\": 2}" > pbt.json
# The top N of an experiment come from the result cache: these runs use it.
for c in random pbt; do
  QUANTFARM_NO_CACHE= "$QF" search --config $c.json --out $c.h5 --registry reg.db --quiet > $c.out 2>&1 ||
    { cat $c.out; fail "search $c failed"; }
done

port=$(free_port)
url="http://127.0.0.1:$port"
start_serve() {  # start_serve LOG
  SERVE_VOTING=hard SERVE_THRESHOLD=0.4 "${MPIRUN[@]}" -np 3 "$QF" serve --port "$port" \
    --store data.h5 --registry reg.db > "$1" 2>&1 &
  PID=$!
  wait_serve "$url" "$PID" "$1"
}
call() {  # call METHOD PATH BODY OUT: prints the status code, body into OUT
  curl -s -o "$4" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$url$2"
}
expect_code() {  # expect_code CODE METHOD PATH BODY TEXT: the answer and its detail
  local code
  code=$(call "$2" "$3" "$4" answer.json)
  [ "$code" = "$1" ] || { cat answer.json; fail "$2 $3 $4: $code, expected $1"; }
  expect_contains answer.json "$5"
}
registry_dump() {
  $PY -c "
import sqlite3
db = sqlite3.connect('file:reg.db?mode=ro', uri=True)
for t in ('ensembles', 'ensemble_members'):
    print(t, db.execute('SELECT * FROM %s ORDER BY 1, 2' % t).fetchall())"
}
start_serve serve.out

# --- deploy from experiments: their top N, in rank order; env defaults
expect_code 201 POST /ensemble/deploy-pbt-survivors \
  '{"ensemble_name": "rnd", "experiment_name": "random", "top_n": 3}' '"num_models":3'
curl -s "$url/experiments/random/top/3" > top.json
$PY - <<'PY' || fail "deploy-pbt-survivors did not take the experiment's top 3"
import json
e, top = json.load(open("answer.json")), json.load(open("top.json"))
assert [(m["strategy"], m["params"]) for m in e["members"]] == \
       [(t["strategy"], t["params"]) for t in top], (e, top)
assert e["voting"] == "hard" and e["threshold"] == 0.4, "SERVE_VOTING/THRESHOLD ignored"
assert e["symbol"] == "AAA" and e["experiment"] == "random" and e["version"] == 1
assert all(m["sharpe"] is not None for m in e["members"])
PY
expect_code 201 POST /ensemble/deploy-pbt-survivors \
  '{"ensemble_name": "pbt", "experiment_name": "pbt", "top_n": 4, "voting": "soft", "threshold": 0.2, "weighting": "sharpe"}' '"weighting":"sharpe"'
$PY -c "
import json; e = json.load(open('answer.json'))
assert e['num_models'] == 4 and e['voting'] == 'soft'
for m in e['members']:
    assert m['strategy'] == 'sma_crossover' and m['weight'] == max(0.0, m['sharpe']), m
" || fail "PBT survivors not weighted by their in-sample Sharpe"

# --- predict: stored bars and the caller's bars give the same vote (window-only rules)
expect_code 201 POST /ensemble/deploy '{"ensemble_name": "win", "voting": "soft", "threshold": 0.1,
  "members": [{"strategy": "sma_crossover", "params": {"fast": 5, "slow": 20}},
              {"strategy": "momentum_roc", "params": {"period": 10}, "weight": 2}]}' '"version":1'
expect_code 200 POST /ensemble/win/predict '{"symbol": "AAA"}' '"voting_method":"soft"'
cp answer.json by_symbol.json
"$QF" data show --store data.h5 --symbol AAA --tail 100 --json 2> /dev/null > aaa.json
$PY - <<'PY' || fail "cannot build the bars of a predict request"
import json
rows = json.load(open("aaa.json"))["rows"]
assert len(rows) == 100
body = {"bars": [{"time": r["epoch"], "open": r["open"], "high": r["high"], "low": r["low"],
                  "close": r["close"], "volume": r["volume"]} for r in rows]}
json.dump(body, open("bars.json", "w"))
json.dump({"bars": body["bars"][:15]}, open("few.json", "w"))
json.dump({"bars": body["bars"][::-1]}, open("unsorted.json", "w"))
PY
expect_code 200 POST /ensemble/win/predict "$(cat bars.json)" '"num_models":2'
$PY - <<'PY' || fail "predict on the caller's last 100 bars differs from predict on the symbol"
import json
a, b = json.load(open("by_symbol.json")), json.load(open("answer.json"))
for k in ("signal", "version", "as_of"):
    assert a[k] == b[k], (k, a[k], b[k])
for k in ("confidence", "score"):  # to rounding: the rolling sums start elsewhere
    assert abs(a[k] - b[k]) < 1e-12, (k, a[k], b[k])
for x, y in zip(a["members"], b["members"], strict=True):
    assert (x["id"], x["position"], x["vote"]) == (y["id"], y["position"], y["vote"]), (x, y)
    assert abs(x["strength"] - y["strength"]) < 1e-12, (x, y)
PY
expect_code 400 POST /ensemble/win/predict "$(cat few.json)" "field 'bars' has 15 bars; the ensemble's members need at least"
expect_code 400 POST /ensemble/win/predict "$(cat unsorted.json)" 'must be sorted'
expect_code 400 POST /ensemble/win/predict '{"bars": [{"time": 1, "open": 1, "high": 1e999, "low": 1, "close": 1}]}' 'number overflow'
expect_code 400 POST /ensemble/win/predict '{"features": {"rsi": 30}}' 'members are trading strategies'
expect_code 404 POST /ensemble/win/predict '{"symbol": "ZZZ"}' "symbol 'ZZZ' not in store"
expect_code 404 POST /ensemble/nope/predict '{"symbol": "AAA"}' "no ensemble named 'nope'"

# --- bad deploys and member changes: 4xx naming the problem, registry unchanged
registry_dump > before.txt
expect_code 404 POST /ensemble/deploy-pbt-survivors '{"ensemble_name": "x", "experiment_name": "nope"}' "no experiment 'nope'"
expect_code 400 POST /ensemble/deploy-pbt-survivors '{"ensemble_name": "x", "experiment_name": "random", "top_n": 0}' "top_n"
expect_code 400 POST /ensemble/deploy-pbt-survivors '{"ensemble_name": "x", "experiment_name": "random", "top_n": 65}' "top_n"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [{"strategy": "sma_crossover"}], "threshold": 1.5}' "threshold"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [{"strategy": "sma_crossover"}], "voting": "median"}' "unknown voting method 'median'"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [{"strategy": "sma_crosover"}]}' "unknown strategy 'sma_crosover'"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [{"strategy": "sma_crossover", "params": {"fast": 50, "slow": 10}}]}' "must be <"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [{"strategy": "pairs_arbitrage"}]}' "trades a pair"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": []}' "1 to 64 members"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [{"strategy": "sma_crossover"}], "weighting": "sharpe"}' "needs field 'symbol'"
expect_code 400 POST /ensemble/deploy '{"ensemble_name": "x", "members": [' "malformed JSON"
expect_code 409 POST /ensemble/deploy '{"ensemble_name": "win", "members": [{"strategy": "sma_crossover"}]}' "exists"
expect_code 400 POST /ensemble/win/members '{"strategy": "ema_crossover", "params": {"fast": 0}}' "member.params.fast"
expect_code 404 POST /ensemble/nope/members '{"strategy": "ema_crossover"}' "no ensemble named 'nope'"
expect_code 404 DELETE /ensemble/win/members/99 "" "has no member 99"
expect_code 400 DELETE /ensemble/win/members/x "" "positive integer"
expect_code 404 DELETE /ensemble/nope "" "no ensemble named 'nope'"
expect_code 404 GET /ensemble/nope "" "no ensemble named 'nope'"
registry_dump > after.txt
cmp -s before.txt after.txt || { diff before.txt after.txt; fail "a refused request changed the registry"; }

# --- 20 member changes under a wrk load of predicts
expect_code 201 POST /ensemble/deploy '{"ensemble_name": "swap", "voting": "soft",
  "members": [{"strategy": "sma_crossover"}, {"strategy": "rsi_mean_reversion"}]}' '"version":1'
$PY -c "import json; e = json.load(open('answer.json')); print(e['version'], ','.join(str(m['id']) for m in e['members']))" > versions.txt
cat > predict.lua <<'LUA'
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
  out = io.open("seen." .. tid, "w")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"symbol": "AAA"}'
end
function response(status, headers, body)
  local ids = {}
  for id in body:gmatch('"id":(%d+)') do ids[#ids + 1] = id end
  out:write(status, " ", body:match('"version":(%d+)') or "-", " ", table.concat(ids, ","), "\n")
  out:flush()
end
LUA
wrk -t2 -c16 -d30s --timeout 2s -s predict.lua "$url/ensemble/swap/predict" > wrk.txt 2>&1 &
wrk_pid=$!
sleep 1
for i in $(seq 1 10); do
  code=$(call POST /ensemble/swap/members '{"strategy": "ema_crossover", "params": {"fast": '$((2 + i))'}}' change.json)
  [ "$code" = 200 ] || { cat change.json; fail "add member answered $code"; }
  $PY -c "import json; e = json.load(open('change.json')); print(e['version'], ','.join(str(m['id']) for m in e['members']))" >> versions.txt
  sleep 0.3
  first=$($PY -c "import json; print(json.load(open('change.json'))['members'][0]['id'])")
  code=$(call DELETE "/ensemble/swap/members/$first" "" change.json)
  [ "$code" = 200 ] || { cat change.json; fail "remove member answered $code"; }
  $PY -c "import json; e = json.load(open('change.json')); print(e['version'], ','.join(str(m['id']) for m in e['members']))" >> versions.txt
  sleep 0.3
done
sleep 1
kill -INT "$wrk_pid" 2> /dev/null || true
wait "$wrk_pid" || true
cat wrk.txt
$PY - <<'PY' || fail "a predict answer mixed two versions or was not 200"
import glob
versions = {}
for line in open("versions.txt"):
    v, ids = line.split()
    versions[v] = ids
assert len(versions) == 21, versions
answers, seen = 0, set()
for path in glob.glob("seen.*"):
    for line in open(path):
        status, v, ids = (line.split() + [""])[:3]
        assert status == "200", line
        assert versions.get(v) == ids, "version %s answered with members %s, not %s" % (v, ids, versions.get(v))
        answers += 1
        seen.add(v)
assert answers > 200, answers
assert len(seen) >= 10, "only versions %s were seen under load" % sorted(seen)
print("ensemble_test: %d predict answers over %d versions, each consistent" % (answers, len(seen)))
PY
grep -q "Non-2xx" wrk.txt && fail "wrk saw non-2xx answers"
grep -q "timeout" wrk.txt && grep -Eq "timeout [1-9]" wrk.txt && fail "wrk saw timeouts"

# --- the router scales the ensemble service like the others
curl -s -X POST "$url/api/cluster/scale" -d '{"service": "ensemble", "replicas": 2}' > /dev/null
for _ in $(seq 1 50); do
  [ "$(curl -s "$url/status" | $PY -c "import json, sys; print(json.load(sys.stdin)['services']['ensemble']['replicas'])")" = 2 ] && break
  sleep 0.1
done
[ "$(curl -s "$url/status" | $PY -c "import json, sys; print(json.load(sys.stdin)['services']['ensemble']['replicas'])")" = 2 ] ||
  fail "ensemble service not scaled to 2 replicas"

# --- the CLI shares the registry: its deploy is served at once; backtest --ensemble
"$QF" ensemble deploy --name cli --member sma_crossover --member 'momentum_roc:{"period": 30}' \
  --symbol BBB --registry reg.db --store data.h5 > cli_deploy.txt
expect_contains cli_deploy.txt "ensemble cli, version 1"
expect_code 200 GET /ensemble/cli "" '"symbol":"BBB"'
expect_code 200 GET /ensemble/rnd/backtest "" '"committee"'
"$QF" backtest --ensemble rnd --registry reg.db --store data.h5 --json > cli_backtest.json
$PY -c "
import json
assert json.load(open('answer.json')) == json.load(open('cli_backtest.json'))
" || fail "backtest --ensemble differs from GET /ensemble/rnd/backtest"
"$QF" backtest --ensemble rnd --registry reg.db --store data.h5 > cli_backtest.txt
expect_contains cli_backtest.txt "best member by in-sample Sharpe"
"$QF" ensemble list --registry reg.db > cli_list.txt
expect_contains cli_list.txt "swap"
expect_failure missing.err "$QF" ensemble list --registry missing.db
expect_contains missing.err "no registry at 'missing.db'"
[ ! -e missing.db ] || fail "ensemble list created a registry"
curl -s "$url/ensemble" > list_before.json

# --- ensembles survive a restart of the job; with a token, changes need it, predicts not
"$QF" ctl --url "$url" shutdown > /dev/null
wait "$PID" || fail "serve did not exit cleanly"
export QUANTFARM_API_TOKEN=s3cret
MPIRUN+=(-x QUANTFARM_API_TOKEN)
start_serve serve2.out
curl -s "$url/ensemble" > list_after.json
cmp -s list_before.json list_after.json || fail "ensembles changed across a restart"
expect_code 200 POST /ensemble/swap/predict '{"symbol": "AAA"}' '"version":21'
expect_code 401 POST /ensemble/swap/members '{"strategy": "ema_crossover"}' "Authorization: Bearer"
expect_code 401 DELETE /ensemble/swap "" "Authorization: Bearer"
curl -s "$url/ensemble" > list_token.json
cmp -s list_before.json list_token.json || fail "a refused (401) change changed the ensembles"
code=$(curl -s -o answer.json -w '%{http_code}' -X DELETE -H "Authorization: Bearer s3cret" "$url/ensemble/cli")
[ "$code" = 200 ] || { cat answer.json; fail "DELETE with the token answered $code"; }
"$QF" ctl --url "$url" --token s3cret shutdown > /dev/null
wait "$PID" || fail "serve did not exit cleanly"
echo "ensemble_test: ok"
