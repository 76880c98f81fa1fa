#!/usr/bin/env bash
# `quantfarm search` for every algorithm (grid, random, ga, pbt, asha, bayesian):
#  - bit-identical trials, evaluations, top list, overfitting report and algorithm
#    report in local mode and under mpirun -np 1..4;
#  - after a SIGKILL of the head right after a checkpoint (QUANTFARM_KILL_AFTER_STEP)
#    and --resume (under mpirun -np 2), the same bits as an uninterrupted run;
#  - with a cold, a warm and no result cache, the same bits (the warm run computes
#    nothing);
#  - the registry names the algorithm (experiments list/show);
#  - bad input: one message naming the key and the value, nothing written.
# Usage: search_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --enable-recovery --mca btl self,vader)

"$QF" data synth --store data.h5 --symbols 2 --bars 3000 --seed 5 > /dev/null
common='"strategy": "ema_crossover", "symbols": ["AAA", "BBB"], "store": "data.h5",
 "split": {"in_sample": 0.7}, "fitness": {"aggregate": "mean_plus_min", "min_trades": 3}, "seed": 7'
declare -A extra=(
  [grid]='"param_grid": {"fast": [5, 10, 15, 20], "slow": [30, 50, 80, 120]}, "batch_size": 6'
  [random]='"num_samples": 40, "batch_size": 16'
  [ga]='"population_size": 16, "num_generations": 3, "islands": 2'
  [pbt]='"population_size": 8, "num_generations": 3'
  [asha]='"num_samples": 32, "batch_size": 8, "grace_period": 0.0625'
  [bayesian]='"num_samples": 20, "n_startup": 6, "batch_size": 4'
)
algorithms=(grid random ga pbt asha bayesian)
for a in "${algorithms[@]}"; do
  echo "{\"search\": \"$a\", $common, ${extra[$a]}}" > "$a.json"
done

for a in "${algorithms[@]}"; do
  "$QF" search --config "$a.json" --out "$a.h5" --registry r.db > "$a.out" ||
    { cat "$a.out"; fail "$a: local run failed"; }
  expect_contains "$a.out" "overfitting ("
  expect_contains "$a.out" "results: $a.h5"
  for np in 1 2 3 4; do
    "${MPIRUN[@]}" -np "$np" "$QF" search --config "$a.json" --out "$a-np$np.h5" --quiet \
      --registry r.db > "$a-np$np.out" 2>&1 || { cat "$a-np$np.out"; fail "$a: -np $np failed"; }
    same_search "$a.h5" "$a-np$np.h5"
  done
  # Killed right after the checkpoint of step 1, resumed under mpirun -np 2.
  rc=0
  QUANTFARM_KILL_AFTER_STEP=1 "$QF" search --config "$a.json" --out "$a-k.h5" --quiet \
    --registry r.db > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || fail "$a: the fault-injected run exited $rc, not 137 (SIGKILL)"
  "${MPIRUN[@]}" -np 2 "$QF" search --config "$a.json" --out "$a-k.h5" --resume \
    --registry r.db > "$a-k.out" 2>&1 || { cat "$a-k.out"; fail "$a: resume failed"; }
  expect_contains "$a-k.out" "resuming from $a-k.h5: 1 of"
  same_search "$a.h5" "$a-k.h5"
  echo "$a: bit-identical on local, np 1..4 and after SIGKILL + resume"
done
# What each algorithm reports.
/usr/bin/python3 - <<'PY' || fail "reports"
import h5py, json
def attrs(a):
    f = h5py.File(a + ".h5", "r")
    return f, json.loads(f.attrs["report"]) if "report" in f.attrs else {}
f, r = attrs("grid")
assert len(f["evaluated/fitness"]) == 16 and r["points"] == 16
f, r = attrs("pbt")
assert set(f["trials/window"][:].tolist()) == {0, 1, 2, 3}
assert {"schedule", "static", "walk_forward", "lineage"} <= r.keys(), r.keys()
f, r = attrs("asha")
assert [x["fraction"] for x in r["rungs"]] == [0.0625, 0.25, 1.0], r["rungs"]
assert r["rungs"][0]["evaluated"] == 32 and r["rungs"][1]["evaluated"] == 8
f, r = attrs("bayesian")
assert len(f["evaluated/fitness"]) == 20 and r["observations"] == 20
for a in ["grid", "random", "ga", "pbt", "asha", "bayesian"]:
    f, _ = attrs(a)
    o = json.loads(f.attrs["overfitting"])
    assert 0 <= o["pbo"] <= 1 and 0 <= o["deflated_sharpe"] <= 1, (a, o)
    assert f.attrs["algorithm"] == a.encode()
    assert json.loads(f.attrs["config"])["search"] == a
print("reports ok")
PY

# Cold, warm and no cache: the same bits; the warm run computes nothing.
unset QUANTFARM_NO_CACHE
for a in "${algorithms[@]}"; do
  "$QF" search --config "$a.json" --out "$a-cold.h5" --registry c.db --quiet > /dev/null
  "$QF" search --config "$a.json" --out "$a-warm.h5" --registry c.db --quiet > /dev/null
  same_search "$a.h5" "$a-cold.h5"
  same_search "$a.h5" "$a-warm.h5"
  /usr/bin/python3 - "$a-warm.h5" <<'PY' || fail "$a: the warm run computed"
import h5py, sys
t = h5py.File(sys.argv[1], "r")["timing"]
assert (t["evaluated"][:] == t["cache_hits"][:]).all(), (t["evaluated"][:], t["cache_hits"][:])
PY
done
export QUANTFARM_NO_CACHE=1
"$QF" experiments list --registry r.db --json > list.json
/usr/bin/python3 - <<'PY' || fail "experiments list does not name the algorithms"
import json
listed = {e["name"]: e for e in json.load(open("list.json"))}
for a in ["grid", "random", "ga", "pbt", "asha", "bayesian"]:
    assert listed[a]["algorithm"] == a and listed[a + "-np2"]["algorithm"] == a, listed[a]
    assert listed[a]["status"] == "finished", listed[a]
PY
"$QF" experiments list --registry r.db > list.out
expect_contains list.out "asha"
"$QF" experiments show pbt --registry r.db > show.out
grep -qE "^algorithm +pbt" show.out || { cat show.out; fail "show does not name the algorithm"; }
"$QF" experiments top asha-warm 3 --registry c.db > top.out
expect_contains top.out "ema_crossover"
# Only scores on all the in-sample bars rank: asha's top equals its results' top.
"$QF" experiments top asha-cold 3 --registry c.db --json > top.json
/usr/bin/python3 - <<'PY' || fail "experiments top ranks partial-data scores"
import h5py, json
top = json.load(open("top.json"))
best = json.loads(h5py.File("asha-cold.h5", "r").attrs["top"])
assert [t["params"] for t in top] == [b["params"] for b in best[:3]], (top, best[:3])
assert all("fitness_window" not in t["params"] for t in top)
PY
"$QF" cache stats --registry c.db > stats.out
grep -qE "^asha-warm +asha " stats.out || { cat stats.out; fail "cache stats does not name the algorithm"; }

# Bad input: one message naming the key and the value; nothing written.
bad() {  # bad EXPECTED JSON
  echo "$2" > bad.json
  expect_failure err.log "$QF" search --config bad.json --out bad.h5 --registry bad.db
  expect_contains err.log "$1"
  [ "$(grep -c 'quantfarm: error' err.log)" -eq 1 ] || { cat err.log; fail "error not printed once"; }
  [ ! -e bad.h5 ] || fail "a rejected run wrote results"
}
c='"strategy": "ema_crossover", "symbols": ["AAA"], "store": "data.h5"'
bad "'search' must be one of" "{\"search\": \"hyperband\", $c}"
bad "'search' is required" "{$c}"
bad "unknown key 'populaton' for search 'random'" "{\"search\": \"random\", $c, \"populaton\": 5}"
bad "unknown key 'population_size' for search 'asha'" "{\"search\": \"asha\", $c, \"population_size\": 5}"
bad "'bounds.fast' [1,500] is outside the strategy's space" "{\"search\": \"random\", $c, \"bounds\": {\"fast\": [1, 500]}}"
bad "'bounds.fats': no such parameter" "{\"search\": \"random\", $c, \"bounds\": {\"fats\": [5, 10]}}"
bad "'num_generations' must be >= 2" "{\"search\": \"pbt\", $c, \"num_generations\": 1}"
bad "'reduction_factor'" "{\"search\": \"asha\", $c, \"reduction_factor\": 1}"
bad "got 1" "{\"search\": \"asha\", $c, \"reduction_factor\": 1}"
bad "'num_samples' must be >= 1, got 0" "{\"search\": \"random\", $c, \"num_samples\": 0}"
bad "'num_samples'" "{\"search\": \"bayesian\", $c, \"num_samples\": -3}"
bad "'num_samples' must be an integer, got \"many\"" "{\"search\": \"random\", $c, \"num_samples\": \"many\"}"
bad "'grace_period' 0.001 leaves" "{\"search\": \"asha\", $c, \"grace_period\": 0.001, \"reduction_factor\": 10}"
bad "'liar'" "{\"search\": \"bayesian\", $c, \"liar\": \"optimist\"}"
bad "takes one strategy" "{\"search\": \"bayesian\", $c, \"strategy\": [\"ema_crossover\", \"zscore_reversion\"]}"
bad "'grid'" "{\"search\": \"grid\", $c, \"grid\": \"fast=1:5000\"}"
bad "malformed JSON" '{"search": "grid", '
[ ! -e bad.db ] || [ "$("$QF" experiments list --registry bad.db | grep -c running)" -eq 0 ] ||
  fail "a rejected run registered an experiment"
echo "search CLI tests passed"
