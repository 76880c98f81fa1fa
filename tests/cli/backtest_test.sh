#!/usr/bin/env bash
# CLI round trips of `quantfarm strategies | indicator | backtest | sweep`: import a
# hand-made CSV -> indicator values checked by hand -> backtest -> sweep, and bad input
# that must fail with a clear message and write nothing.
# Usage: backtest_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"

json() {  # json FILE PYTHON-EXPR-ON-d
  /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# --- strategies ---------------------------------------------------------------------
"$QF" strategies --json > strategies.json
[ "$(json strategies.json 'len(d)')" = 14 ] || fail "14 strategies expected"
[ "$(json strategies.json '[s for s in d if s["name"]=="pairs_arbitrage"][0]["symbols"]')" = 2 ] \
  || fail "pairs_arbitrage takes 2 symbols"
"$QF" strategies > strategies.txt
expect_contains strategies.txt "donchian_breakout"

# --- import a tiny CSV and check an indicator by hand ---------------------------------
cat > tiny.csv <<'CSV'
Date,Open,High,Low,Close,Volume
2024-01-01,10,11,9,10,100
2024-01-02,10,12,9,11,100
2024-01-03,11,13,10,12,100
2024-01-04,12,14,11,13,100
2024-01-05,13,14,11,12,100
CSV
"$QF" data import --csv tiny.csv --symbol TNY --store t.h5 > /dev/null
"$QF" indicator --store t.h5 --symbol TNY --name ema --params '{"period": 3}' > ema.csv
# EMA(3): NaN, NaN, seed (10+11+12)/3 = 11, then 11 + 0.5*(13-11) = 12, 12 + 0.5*(12-12) = 12
[ "$(sed -n 1p ema.csv)" = "time,ema" ] || fail "indicator header"
[ "$(sed -n 2p ema.csv)" = "2024-01-01,NaN" ] || fail "warm-up must be NaN"
[ "$(sed -n 4p ema.csv)" = "2024-01-03,11" ] || fail "EMA seed: $(sed -n 4p ema.csv)"
[ "$(sed -n 6p ema.csv)" = "2024-01-05,12" ] || fail "EMA value: $(sed -n 6p ema.csv)"
"$QF" indicator --store t.h5 --symbol TNY --name bollinger --params '{"period": 2, "k": 1}' \
  > bb.csv
expect_contains bb.csv "time,lower,middle,upper"
expect_contains bb.csv "2024-01-02,10,10.5,11"   # mean 10.5, population sd 0.5
expect_failure err.log "$QF" indicator --store t.h5 --symbol TNY --name emma
expect_contains err.log "unknown indicator 'emma'"
expect_failure err.log "$QF" indicator --store t.h5 --symbol TNY --name ema --params '{"period": 0}'
expect_contains err.log "out of range"

# --- backtest on synthetic data -------------------------------------------------------
"$QF" data synth --store s.h5 --symbols 2 --bars 1500 --seed 11 > /dev/null
"$QF" backtest --store s.h5 --symbol AAA --strategy ema_crossover \
  --params '{"fast": 10, "slow": 40}' --in-sample 0.7 --json --trades --equity eq.csv > bt.json
[ "$(json bt.json 'd["params"]')" = "{'fast': 10, 'slow': 40}" ] || fail "params echoed"
[ "$(json bt.json 'sorted(d["metrics"])')" = "['full', 'in_sample', 'out_of_sample']" ] \
  || fail "segments"
[ "$(json bt.json 'd["metrics"]["full"]["trades"] == len(d["trades"])')" = True ] \
  || fail "trade list length"
[ "$(wc -l < eq.csv)" -eq 1501 ] || fail "equity CSV has a row per bar"
# The equity file's last value is 1 + total return.
/usr/bin/python3 - bt.json eq.csv <<'PY' || fail "equity CSV disagrees with total_return"
import csv, json, sys
d = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert abs(float(rows[-1]["equity"]) - 1 - d["metrics"]["full"]["total_return"]) < 1e-12
PY
"$QF" backtest --store s.h5 --symbol AAA --strategy ema_crossover --fill close \
  --commission-bps 0 --slippage-bps 0 --long-only --folds 3 > bt.txt
expect_contains bt.txt "long only"
expect_contains bt.txt "fold_3"
"$QF" backtest --store s.h5 --symbol AAA --symbol2 BBB --strategy pairs_arbitrage > pairs.txt
expect_contains pairs.txt "pairs_arbitrage on AAA/BBB"

# Costs lower returns: the same run with 50 bps per side returns less.
"$QF" backtest --store s.h5 --symbol AAA --strategy sma_crossover --json > c0.json
"$QF" backtest --store s.h5 --symbol AAA --strategy sma_crossover --commission-bps 50 --json \
  > c1.json
[ "$(/usr/bin/python3 -c "import json; a=json.load(open('c0.json')); b=json.load(open('c1.json')); print(b['metrics']['full']['total_return'] < a['metrics']['full']['total_return'])")" = True ] \
  || fail "costs must reduce the return"

# Round trip: show a synthetic series as CSV, import it under a new name, and the
# backtest of the import equals the backtest of the original, metric for metric.
"$QF" data show --store s.h5 --symbol BBB --all > bbb.csv 2>/dev/null
"$QF" data import --csv bbb.csv --symbol BBB2 --store s.h5 > /dev/null
for sym in BBB BBB2; do
  "$QF" backtest --store s.h5 --symbol "$sym" --strategy macd_signal --json > "rt_$sym.json"
done
[ "$(json rt_BBB.json 'd["metrics"]')" = "$(json rt_BBB2.json 'd["metrics"]')" ] \
  || fail "backtest of the re-imported series differs from the original"

# --- bad input: clear errors, nothing written ----------------------------------------
bad() {  # bad EXPECTED-TEXT ARGS...: backtest must fail naming the problem, write no file
  local want="$1"; shift
  expect_failure err.log "$QF" backtest --store s.h5 --equity bad_eq.csv "$@"
  expect_contains err.log "$want"
  [ ! -e bad_eq.csv ] || fail "a rejected backtest wrote its equity file"
}
bad "unknown strategy 'ema'" --symbol AAA --strategy ema
bad "fast (50) must be < slow (20)" --symbol AAA --strategy ema_crossover \
  --params '{"fast": 50, "slow": 20}'
bad "unknown parameter 'fsat'" --symbol AAA --strategy ema_crossover --params '{"fsat": 5}'
bad "must be a number" --symbol AAA --strategy ema_crossover --params '{"fast": "5"}'
bad "not valid JSON" --symbol AAA --strategy ema_crossover --params '{"fast": 5'
bad "must be an integer" --symbol AAA --strategy ema_crossover --params '{"fast": 5.5}'
bad "out of range" --symbol AAA --strategy rsi_mean_reversion --params '{"period": 1000}'
bad "symbol 'ZZZ'" --symbol ZZZ --strategy ema_crossover
bad "give --symbol2" --symbol AAA --strategy pairs_arbitrage
bad "--fill must be next-open or close" --symbol AAA --strategy ema_crossover --fill later
bad "in-sample fraction" --symbol AAA --strategy ema_crossover --in-sample 1.5
bad "position size" --symbol AAA --strategy ema_crossover --size 0
expect_failure err.log "$QF" backtest --store nope.h5 --symbol AAA --strategy ema_crossover
expect_contains err.log "does not exist"
[ ! -e nope.h5 ] || fail "a rejected backtest created the store"

# --- sweep -----------------------------------------------------------------------------
"$QF" sweep --store s.h5 --symbol AAA --strategy ema_crossover \
  --grid 'fast=2:20:2,slow=10:60:10' --top 3 --json --threads 2 > sw2.json
"$QF" sweep --store s.h5 --symbol AAA --strategy ema_crossover \
  --grid 'fast=2:20:2,slow=10:60:10' --top 3 --json --threads 1 > sw1.json
# 10 fast x 6 slow = 60 sets; fast >= slow skipped: (10,10),(12,10),...,(20,10) = 6 and (20,20) = 1
[ "$(json sw1.json 'd["sets"]')" = 53 ] || fail "sets: $(json sw1.json 'd["sets"]')"
[ "$(json sw1.json 'd["skipped"]')" = 7 ] || fail "skipped"
[ "$(json sw1.json 'len(d["top"])')" = 3 ] || fail "top 3"
[ "$(json sw1.json 'd["bar_evals_per_second"] > 0')" = True ] || fail "throughput"
# Same ranking and bit-identical metrics on 1 and 2 threads (JSON prints shortest
# round-trip doubles, so equal text means equal bits).
[ "$(json sw1.json 'd["top"]')" = "$(json sw2.json 'd["top"]')" ] \
  || fail "sweep differs between 1 and 2 threads"
# The best set's sweep metrics equal a backtest of that set.
best="$(json sw1.json 'json.dumps(d["top"][0]["params"])')"
"$QF" backtest --store s.h5 --symbol AAA --strategy ema_crossover --params "$best" --json \
  > best.json
[ "$(json sw1.json 'd["top"][0]["metrics"]["full"]')" = "$(json best.json '{k: v for k, v in d["metrics"]["full"].items() if k not in ("first_time", "last_time")}')" ] \
  || fail "sweep and backtest disagree on the best set"
"$QF" sweep --store s.h5 --symbol AAA --strategy bollinger_reversion \
  --grid 'period=10:30:10,k=1.5:2.5:0.5' --in-sample 0.6 --metric calmar > sw.txt
expect_contains sw.txt "top 9 by calmar (in_sample)"
expect_contains sw.txt "out_of_sample"
expect_contains sw.txt "bar-evaluations/s"

expect_failure err.log "$QF" sweep --store s.h5 --symbol AAA --strategy ema_crossover \
  --grid 'fast=2:10,sloww=20'
expect_contains err.log "unknown parameter 'sloww'"
expect_failure err.log "$QF" sweep --store s.h5 --symbol AAA --strategy ema_crossover \
  --grid 'fast=30:40,slow=10:20'
expect_contains err.log "no consistent parameter set"
expect_failure err.log "$QF" sweep --store s.h5 --symbol AAA --strategy ema_crossover \
  --grid 'fast=2:10' --metric sharp
expect_contains err.log "unknown metric 'sharp'"
echo "backtest CLI tests passed"
