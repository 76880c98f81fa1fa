#!/usr/bin/env bash
# Sample efficiency of the searches (issue 11): the best in-sample fitness found after
# 25, 50 and 100 distinct evaluations by `quantfarm search bayesian`, `search random`,
# `search ga` and Optuna 3.1's TPE sampler (bench/optuna_peer.py, evaluating through
# one long-running `quantfarm evaluate` process, so the same fitness bit for bit), on
# one synthetic daily series, over several seeds (mean and sample standard deviation),
# against the exhaustive grid optimum (`search grid` over every grid point of the
# space). A search's evaluation order is the order of /evaluated (window-0 rows), the
# running maximum taken over it; the GA runs long enough for BUDGET distinct
# evaluations and is cut there (its population-20 run of 5 generations is the same run
# cut earlier: its distinct count is printed too). Prints a table, the per-seed best
# after BUDGET evaluations and the check "bayesian mean best @50 >= TPE mean best @100"
# (PASS or MISS; exit 0 either way). Fails (exit 1) if a run fails, a search makes fewer
# evaluations than asked, or any search beats the exhaustive optimum (which would mean
# an evaluation off the grid or a different fitness function).
# Usage: bench/search_efficiency.sh [path/to/quantfarm]
# Environment: SEEDS ("1 2 ... 10"), BARS (5000), DATA_SEED (7), STRATEGY
# (zscore_reversion), BOUNDS (a "bounds" JSON object for every search and the grid,
# default none), BUDGET (100; checkpoints BUDGET/4, BUDGET/2, BUDGET), POP (20),
# GENERATIONS (5: the brief's GA), LONG_GENERATIONS (60: the GA cut at BUDGET),
# THREADS (1).
source "$(dirname "${BASH_SOURCE[0]}")/search_workload.sh" "${1:-}"
bounds=${BOUNDS:-}
budget=${BUDGET:-100}
pop=${POP:-20}
gens=${GENERATIONS:-5}
long_gens=${LONG_GENERATIONS:-60}
with_bounds=$common
[ -n "$bounds" ] && with_bounds="$common, \"bounds\": $bounds"

# The whole grid of the (narrowed) space: "name=lo:hi" at each parameter's own step.
grid=$("$qf" strategies --json | "$py" -c '
import json, sys
strategy, bounds = sys.argv[1], json.loads(sys.argv[2] or "{}")
space = next(s["params"] for s in json.load(sys.stdin) if s["name"] == strategy)
print(",".join("%s=%r:%r" % (p["name"], *bounds.get(p["name"], [p["min"], p["max"]]))
               for p in space))' "$strategy" "$bounds")

# run NAME JSON-KEYS: `quantfarm search` of the common config plus JSON-KEYS.
run() {
  local name=$1
  echo "{$2, $with_bounds}" > "$work/$name.json"
  if ! "$qf" search --config "$work/$name.json" --out "$work/$name.h5" \
      --registry "$work/registry.db" --threads "$threads" --top 1 --overfitting-blocks 0 \
      --quiet > "$work/$name.log" 2>&1; then
    echo "FAILED: search $name" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}

t0=$(date +%s)
echo "{\"search\": \"grid\", \"grid\": \"$grid\", $common}" > "$work/grid.json"
"$qf" search --config "$work/grid.json" --out "$work/grid.h5" --registry "$work/registry.db" \
  --threads "$threads" --top 1 --overfitting-blocks 0 --quiet > "$work/grid.log" 2>&1 \
  || { cat "$work/grid.log" >&2; echo "FAILED: search grid" >&2; exit 1; }
for s in $seeds; do
  run "bayesian.$s" "\"search\": \"bayesian\", \"num_samples\": $budget, \"seed\": $s"
  run "random.$s" "\"search\": \"random\", \"num_samples\": $budget, \"seed\": $s"
  run "ga.$s" "\"search\": \"ga\", \"population_size\": $pop, \"num_generations\": $gens, \"seed\": $s"
  run "galong.$s" "\"search\": \"ga\", \"population_size\": $pop, \"num_generations\": $long_gens, \"seed\": $s"
  echo "{$with_bounds, \"search\": \"random\", \"seed\": $s}" > "$work/tpe.$s.json"
  if ! "$py" "$here/optuna_peer.py" --qf "$qf" --config "$work/tpe.$s.json" --seed "$s" \
      --trials "$budget" > "$work/tpe.$s.out" 2> "$work/tpe.$s.err"; then
    echo "FAILED: optuna peer, seed $s" >&2
    cat "$work/tpe.$s.err" >&2
    exit 1
  fi
done
echo "runs took $(( $(date +%s) - t0 )) s"

"$py" - "$work" "$budget" "$bars" "$data_seed" "$strategy" "$pop" "$gens" "$long_gens" \
  "$bounds" $seeds <<'PY'
import json, statistics, sys
import h5py
work, budget, bars, data_seed, strategy, pop, gens, long_gens, bounds = sys.argv[1:10]
budget, pop, gens = int(budget), int(pop), int(gens)
seeds = sys.argv[10:]
checkpoints = [budget // 4, budget // 2, budget]

def evaluated(name):
    with h5py.File(f"{work}/{name}.h5", "r") as f:
        e = f["evaluated"]
        w = e["window"][:]
        fit = [float(v) for v, k in zip(e["fitness"][:], w) if k == 0]
        genes = [n for n in e.keys() if n.startswith("gene_")]
        best = max(range(len(w)), key=lambda i: (w[i] == 0, e["fitness"][i]))
        point = tuple(float(e[g][best]) for g in sorted(genes))
        names = json.loads(f.attrs["gene_names"])[strategy]
    return fit, point, names

def tpe(seed):
    r = json.load(open(f"{work}/tpe.{seed}.out"))
    return r["fitness"], r

grid_fit, grid_point, names = evaluated("grid")
optimum = max(grid_fit)
runs = {"bayesian": {}, "random": {}, "ga": {}, "galong": {}, "tpe": {}}
peer = {}
for s in seeds:
    for k in ["bayesian", "random", "ga", "galong"]:
        runs[k][s] = evaluated(f"{k}.{s}")[0]
    runs["tpe"][s], peer[s] = tpe(s)
long_made = {s: len(runs["galong"][s]) for s in seeds}
for s in seeds:
    runs["galong"][s] = runs["galong"][s][:budget]

failed = []
for k in ["bayesian", "random", "tpe", "galong"]:
    for s in seeds:
        if len(runs[k][s]) < budget:
            failed.append(f"{k} seed {s}: {len(runs[k][s])} evaluations, {budget} asked")
for k in runs:
    for s in seeds:
        if max(runs[k][s]) > optimum:
            failed.append(f"{k} seed {s}: best {max(runs[k][s])!r} beats the exhaustive "
                          f"optimum {optimum!r}")

def best_at(fit, n):
    return max(fit[:n])

def cell(k, n):
    values = [best_at(runs[k][s], n) for s in seeds]
    short = any(len(runs[k][s]) < n for s in seeds)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), f"{statistics.mean(values):7.4f} ± {sd:6.4f}{'*' if short else ' '}"

label = {"bayesian": "bayesian (quantfarm)", "random": "random (quantfarm)",
         "ga": f"ga (quantfarm), pop {pop}, {gens} gens",
         "galong": f"ga (quantfarm), pop {pop}, cut at {budget}",
         "tpe": "TPE (optuna 3.1, via evaluate)"}
print(f"{strategy}: {bars} synthetic daily bars (data synth --seed {data_seed}), in-sample "
      f"0.7, fitness = in-sample Sharpe, min_trades 10{', bounds ' + bounds if bounds else ''}; "
      f"seeds {' '.join(seeds)}")
desc = ", ".join(f"{n}={v:g}" for n, v in zip(names, grid_point))
print(f"exhaustive grid: {len(grid_fit)} consistent points, optimum {optimum:.4f} ({desc})")
print(f"best in-sample fitness after n distinct evaluations, mean ± sd over {len(seeds)} seeds "
      f"(* = some seeds made fewer than n: their best of all)")
hdr = f"{'search':34s} {'evals':>6s} " + " ".join(f"{'best @' + str(n):>17s}" for n in checkpoints)
print(hdr + f" {'found optimum':>13s}")
means = {}
for k in runs:
    evals = statistics.mean(len(runs[k][s]) for s in seeds)
    cells = [cell(k, n) for n in checkpoints]
    means[k] = [c[0] for c in cells]
    hits = sum(max(runs[k][s][:budget]) == optimum for s in seeds)
    print(f"{label[k]:34s} {evals:6.1f} " + " ".join(f"{c[1]:>17s}" for c in cells) +
          f" {hits:>6d} of {len(seeds):<3d}")
print(f"per seed, best @{budget} (or of all made):")
for k in runs:
    print(f"  {k:9s} " + " ".join(f"{best_at(runs[k][s], budget):.4f}" for s in seeds))
print(f"the GA cut at {budget} ({long_gens} generations) made " +
      ", ".join(str(long_made[s]) for s in seeds) + " distinct evaluations before the cut")
gap = {k: optimum - means[k][2] for k in runs}
print("mean gap to the optimum @%d: " % budget + ", ".join(f"{k} {gap[k]:.4f}" for k in runs))
print("TPE proposals per seed (distinct evaluations + inconsistent + repeated): " +
      ", ".join(f"{peer[s]['proposals']} ({peer[s]['inconsistent']} inc., "
                f"{peer[s]['duplicates']} rep.)" for s in seeds))
ok = means["bayesian"][1] >= means["tpe"][2]
print(f"bayesian mean best @{checkpoints[1]} >= TPE mean best @{budget}: "
      f"{'PASS' if ok else 'MISS'} ({means['bayesian'][1]:.4f} vs {means['tpe'][2]:.4f})")
for f in failed:
    print("FAILED:", f)
sys.exit(1 if failed else 0)
PY
