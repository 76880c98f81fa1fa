#!/usr/bin/env bash
# `quantfarm evaluate` is the search's fitness function, bit for bit: every parameter
# set a `search random` run evaluated (two symbols, mean aggregate) gets exactly the
# fitness, mean, min and feasibility the run recorded in /evaluated, and its best set
# exactly top[0].fitness; a sampler's float (0.30000000000000004) is snapped to the
# grid's 0.3; ASHA's rung results are reproduced through "window"; a malformed,
# unknown-key, out-of-bounds or inconsistent line gets one {"error": ...} line and the
# lines after it are still answered; a bad config fails before reading stdin.
# Usage: evaluate_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
R=(--registry reg.db --quiet --overfitting-blocks 0)

"$QF" data synth --store data.h5 --symbols 2 --bars 1500 --seed 3 > /dev/null
common='"strategy": "zscore_reversion", "symbols": ["AAA", "BBB"], "store": "data.h5",
 "split": {"in_sample": 0.7}, "fitness": {"metric": "sharpe", "min_trades": 5}, "seed": 4'
echo "{\"search\": \"random\", \"num_samples\": 40, $common}" > random.json
echo "{\"search\": \"asha\", \"num_samples\": 32, $common}" > asha.json
"$QF" search --config random.json --out random.h5 "${R[@]}" > random.out
"$QF" search --config asha.json --out asha.h5 "${R[@]}" > asha.out

# requests H5 FILE: one request line per /evaluated row of H5 (with its window).
requests() {
  /usr/bin/python3 - "$1" > "$2" <<'PY'
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
e = f["evaluated"]
names = ["period", "entry", "exit"]
for i in range(len(e["fitness"])):
    params = {n: float(e[f"gene_{k}"][i]) for k, n in enumerate(names)}
    params["period"] = int(params["period"])
    print(json.dumps({"params": params, "window": int(e["window"][i])}))
PY
}
# same_as_evaluated H5 RESULTS: RESULTS (evaluate's output) has, line by line, the
# fitness, mean, min and feasible of the rows of H5's /evaluated, compared as doubles.
same_as_evaluated() {
  /usr/bin/python3 - "$1" "$2" <<'PY' || fail "evaluate differs from $1"
import h5py, json, sys
e = h5py.File(sys.argv[1], "r")["evaluated"]
out = [json.loads(l) for l in open(sys.argv[2])]
assert len(out) == len(e["fitness"]) > 0, (len(out), len(e["fitness"]))
for i, r in enumerate(out):
    assert "error" not in r, r
    got = (r["fitness"], r["mean"], r["min"], r["feasible"])
    want = (float(e["fitness"][i]), float(e["fitness_mean"][i]), float(e["fitness_min"][i]),
            bool(e["feasible"][i]))
    assert got == want, (i, got, want)
print(len(out), "rows equal")
PY
}

requests random.h5 random.req
"$QF" evaluate --config random.json < random.req > random.res
same_as_evaluated random.h5 random.res
requests asha.h5 asha.req
grep -q '"window": 1' asha.req || fail "the ASHA run has no rung-0 rows"
"$QF" evaluate --config asha.json --threads 2 < asha.req > asha.res
same_as_evaluated asha.h5 asha.res

# The best set of the random run, once as the grid writes it and once as a float
# sampler would, then a malformed line, and more lines that must still be answered.
/usr/bin/python3 - random.h5 > lines.req <<'PY'
import h5py, json, sys
top = json.loads(h5py.File(sys.argv[1], "r").attrs["top"])[0]
p = top["params"]
print(json.dumps({"params": p}))
print(json.dumps({"strategy": "zscore_reversion",
                  "params": {"period": p["period"] + 0.2, "entry": p["entry"] + 1e-12,
                             "exit": p["exit"] * (1 + 1e-15)}}))
print('{"params": {"period": 20, "entry":')
print('{"params": {"period": 20}, "colour": 1}')
print('{"params": {"period": 9999}}')
print('{"params": {"entry": 1.0, "exit": 2.0}}')
print('{"params": {"period": 20}, "window": 1}')
print('{"params": {}}')
open("best.txt", "w").write(repr(top["fitness"]))
PY
"$QF" evaluate --config random.json < lines.req > lines.res
/usr/bin/python3 - lines.req lines.res best.txt <<'PY' || { cat lines.res >&2; fail "evaluate lines"; }
import json, sys
req = open(sys.argv[1]).read().splitlines()
out = [json.loads(l) for l in open(sys.argv[2])]
best = float(open(sys.argv[3]).read())
assert len(out) == len(req), (len(out), len(req))
assert out[0]["fitness"] == best, (out[0], best)     # bit for bit (same double)
assert out[1]["fitness"] == best and out[1]["params"] == out[0]["params"], out[1]
assert len(json.dumps(out[1]["params"])) == len(json.dumps(out[0]["params"])), out[1]
assert "not valid JSON" in out[2]["error"], out[2]
assert "unknown key 'colour'" in out[3]["error"], out[3]
assert "outside [5, 500]" in out[4]["error"], out[4]
assert "inconsistent parameters" in out[5]["error"], out[5]
assert out[5]["params"]["exit"] == 2.0, out[5]
assert "'window'" in out[6]["error"], out[6]
assert out[7]["params"] == {"period": 20, "entry": 2.0, "exit": 0.5}, out[7]  # defaults
assert isinstance(out[7]["fitness"], float) and out[7]["window"] == 0, out[7]
PY

# A bad config or flag fails at once, naming the problem.
echo '{"search": "random", "strategy": "zscore_reversion", "symbols": ["AAA"], "store": "data.h5", "num_samples": 0}' > bad.json
expect_failure err.log "$QF" evaluate --config bad.json < /dev/null
expect_contains err.log "num_samples"
expect_failure err.log "$QF" evaluate --config missing.json < /dev/null
expect_contains err.log "cannot read config file 'missing.json'"
expect_failure err.log "$QF" evaluate --config random.json --threads 0 < /dev/null
expect_contains err.log "--threads must be in 1..1024"
echo "evaluate: OK"
