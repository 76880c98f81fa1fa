#!/usr/bin/env bash
# ASHA against random search at the same budget (issue 11), and how well a rung's
# ranking predicts the full-data ranking, on the series of bench/search_efficiency.sh.
# Per seed: `quantfarm search asha` (ASHA_SAMPLES trials, defaults otherwise: reduction
# factor 4, grace period 1/4 (search's default since this study), so rungs at 1/4 and
# all of the in-sample bars; ASHA_KEYS='"grace_period": 0.0625' gives 1/16, 1/4, all),
# then `search random` with num_samples = round(ASHA's report full_data_evaluations),
# the same budget counted in full-data evaluations. ASHA's best is its report's "best"
# when at_last_rung (a full-data fitness); otherwise its best window-0 row, or none
# (printed). Prints both per seed, their means and the check "asha mean best > random
# mean best" (PASS or MISS; exit 0 either way).
# Rung study: SAMPLES parameter sets drawn by `search random` (scored on all in-sample
# bars) are scored again through `quantfarm evaluate --config <the ASHA config>` on
# ASHA's rung windows ("window": 1 = the first 1/16 of the in-sample bars, 2 = the
# first 1/4), exactly the fitness ASHA ranks on; window 0 must reproduce the random
# run's values bit for bit. Prints the Spearman rank correlation of each fraction's
# fitness with the full-data fitness, the infeasible share per fraction, and which
# share of the true top 1% (and 5%) survives keeping the top 1/eta at each fraction and
# at both in turn. Fails (exit 1) if a run fails or a check of consistency does not hold.
# Usage: bench/asha_vs_random.sh [path/to/quantfarm]
# Environment: SEEDS ("1 2 ... 10"), BARS (5000), DATA_SEED (7), STRATEGY
# (zscore_reversion), ASHA_SAMPLES (256), ASHA_KEYS (more keys of the ASHA runs, e.g.
# '"grace_period": 0.0625'; the rung study always scores 1/16, 1/4 and all), SAMPLES (500),
# SAMPLE_SEED (1000), THREADS (1).
source "$(dirname "${BASH_SOURCE[0]}")/search_workload.sh" "${1:-}"
asha_samples=${ASHA_SAMPLES:-256}
asha_keys=${ASHA_KEYS:+, $ASHA_KEYS}
samples=${SAMPLES:-500}
sample_seed=${SAMPLE_SEED:-1000}

# run NAME JSON-KEYS: `quantfarm search` of the common config plus JSON-KEYS.
run() {
  local name=$1
  echo "{$2, $common}" > "$work/$name.json"
  if ! "$qf" search --config "$work/$name.json" --out "$work/$name.h5" \
      --registry "$work/registry.db" --threads "$threads" --top 1 --overfitting-blocks 0 \
      --quiet > "$work/$name.log" 2>&1; then
    echo "FAILED: search $name" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}
# budget H5: round(full_data_evaluations) of an ASHA results file.
budget() {
  "$py" -c 'import h5py, json, sys
r = json.loads(h5py.File(sys.argv[1], "r").attrs["report"])
print(max(1, round(r["full_data_evaluations"])))' "$1"
}

for s in $seeds; do
  run "asha.$s" "\"search\": \"asha\", \"num_samples\": $asha_samples, \"seed\": $s$asha_keys"
  run "random.$s" "\"search\": \"random\", \"num_samples\": $(budget "$work/asha.$s.h5"), \"seed\": $s"
done

# The rung study: SAMPLES random sets, then the same sets on each rung window.
run sample "\"search\": \"random\", \"num_samples\": $samples, \"seed\": $sample_seed"
"$py" - "$work/sample.h5" "$strategy" > "$work/sample.req" <<'PY'
import h5py, json, sys
f = h5py.File(sys.argv[1], "r")
e = f["evaluated"]
names = json.loads(f.attrs["gene_names"])[sys.argv[2]]
for i in range(len(e["fitness"])):
    params = {n: float(e[f"gene_{k}"][i]) for k, n in enumerate(names)}
    for w in (0, 1, 2):
        print(json.dumps({"params": params, "window": w}))
PY
echo "{\"search\": \"asha\", \"num_samples\": $asha_samples, \"grace_period\": 0.0625, $common}" \
  > "$work/rungs.json"
"$qf" evaluate --config "$work/rungs.json" --threads "$threads" < "$work/sample.req" \
  > "$work/sample.res"

"$py" - "$work" "$bars" "$data_seed" "$strategy" "$asha_samples" "${ASHA_KEYS:-}" $seeds <<'PY'
import json, statistics, sys
import h5py
from scipy.stats import spearmanr
work, bars, data_seed, strategy, asha_samples, asha_keys = sys.argv[1:7]
seeds = sys.argv[7:]
failed = []

def h5(name):
    return h5py.File(f"{work}/{name}.h5", "r")

def full_data(f):
    e = f["evaluated"]
    return [float(v) for v, w in zip(e["fitness"][:], e["window"][:]) if w == 0]

def mean_sd(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)

print(f"{strategy}: {bars} synthetic daily bars (data synth --seed {data_seed}), in-sample "
      f"0.7, fitness = in-sample Sharpe, min_trades 10; asha: {asha_samples} trials"
      f"{', ' + asha_keys if asha_keys else ', reduction factor 4, grace period 1/4'}")
print(f"{'seed':>4s} {'asha rungs (fraction: evaluated, promoted)':44s} {'budget':>7s} "
      f"{'asha best':>10s} {'random n':>8s} {'random best':>11s}")
asha_best, random_best, budgets, notes = [], [], [], []
for s in seeds:
    with h5(f"asha.{s}") as f:
        report = json.loads(f.attrs["report"])
        rows = full_data(f)
    best = report.get("best")
    if best and best["at_last_rung"]:
        value = best["value"]
        if rows and value != max(rows):
            failed.append(f"seed {s}: ASHA report best {value!r} != best window-0 row {max(rows)!r}")
    elif rows:
        value = max(rows)
        notes.append(f"seed {s}: ASHA's best is not at the last rung; its best full-data row is used")
    else:
        value = None
        notes.append(f"seed {s}: ASHA made no full-data evaluation")
    with h5(f"random.{s}") as f:
        rnd = full_data(f)
    rungs = "  ".join(f"{r['fraction']:g}: {r['evaluated']}, {r['promoted']}" for r in report["rungs"])
    budgets.append(report["full_data_evaluations"])
    if value is not None:
        asha_best.append(value)
    random_best.append(max(rnd))
    print(f"{s:>4s} {rungs:44s} {report['full_data_evaluations']:7.2f} "
          f"{value if value is not None else float('nan'):10.4f} {len(rnd):8d} {max(rnd):11.4f}")
am, asd = mean_sd(asha_best)
rm, rsd = mean_sd(random_best)
print(f"mean ± sd over {len(seeds)} seeds: budget {statistics.mean(budgets):.2f} full-data "
      f"evaluations; asha best {am:.4f} ± {asd:.4f}; random best {rm:.4f} ± {rsd:.4f}")
wins = sum(a > r for a, r in zip(asha_best, random_best)) if len(asha_best) == len(seeds) else None
if wins is not None:
    print(f"asha better than random in {wins} of {len(seeds)} seeds")
for n in notes:
    print("note:", n)
print(f"asha mean best > random mean best: {'PASS' if am > rm else 'MISS'} ({am:.4f} vs {rm:.4f})")

# The rung study.
with h5("sample") as f:
    e = f["evaluated"]
    full = [float(v) for v in e["fitness"][:]]
    names = json.loads(f.attrs["gene_names"])[strategy]
    genes = [[float(v) for v in e[f"gene_{k}"][:]] for k in range(len(names))]
res = [json.loads(l) for l in open(f"{work}/sample.res")]
if any("error" in r for r in res) or len(res) != 3 * len(full):
    failed.append("evaluate answered with errors or a wrong number of lines in the rung study")
    res = []
by_window = {w: [r["fitness"] for r in res[w::3]] for w in (0, 1, 2)}
feasible = {w: [r["feasible"] for r in res[w::3]] for w in (0, 1, 2)}
if res and by_window[0] != full:
    failed.append("evaluate's window 0 differs from the random run's /evaluated")
n = len(full)
in_sample = int(0.7 * int(bars))
print(f"\nrung study: {n} random parameter sets scored on the first 1/16, the first 1/4 and all "
      f"of the in-sample bars (windows of the ASHA config; window 0 equals the random run "
      f"bit for bit: {'yes' if res and by_window[0] == full else 'NO'})")
order_full = sorted(range(n), key=lambda i: -full[i])
labels = {1: "1/16", 2: "1/4"}
for w in (1, 2):
    rho = spearmanr(by_window[w], full).correlation
    both = [i for i in range(n) if feasible[w][i] and feasible[0][i]]
    rho_f = spearmanr([by_window[w][i] for i in both], [full[i] for i in both]).correlation
    print(f"fraction {labels[w]:>4s}: Spearman rho vs full data {rho:+.3f} "
          f"(feasible at both: {len(both)} sets, rho {rho_f:+.3f}); infeasible at this "
          f"fraction {n - sum(feasible[w])} of {n}")
print(f"infeasible on all in-sample bars: {n - sum(feasible[0])} of {n}")

def top(values, share):
    k = max(1, round(share * n))
    return set(sorted(range(n), key=lambda i: (-values[i], i))[:k])

eta = 4
for share in (0.01, 0.05):
    truth = top(full, share)
    line = f"true top {share:.0%} ({len(truth)} sets) kept in the top 1/{eta} ({round(n / eta)} sets):"
    for w in (1, 2):
        kept = truth & top(by_window[w], 1 / eta)
        line += f" at {labels[w]} {len(kept)}/{len(truth)} ({len(kept) / len(truth):.0%});"
    # Successive halving: the top 1/eta at 1/16, then the top 1/eta of those at 1/4.
    first = top(by_window[1], 1 / eta)
    k2 = max(1, round(len(first) / eta))
    second = set(sorted(first, key=lambda i: (-by_window[2][i], i))[:k2])
    kept = truth & second
    line += f" through both ({k2} sets left) {len(kept)}/{len(truth)} ({len(kept) / len(truth):.0%})"
    print(line)
if "period" in names:  # lookbacks against the first rung's length
    p = genes[names.index("period")]
    truth = sorted(top(full, 0.01), key=lambda i: -full[i])
    ok = [p[i] for i in range(n) if feasible[1][i]]
    print(f"period of the true top 1%: {[int(p[i]) for i in truth]}; the first rung has about "
          f"{in_sample // 16} bars; largest period feasible there: "
          f"{int(max(ok)) if ok else '-'}; sets with period > {in_sample // 16}: "
          f"{sum(v > in_sample // 16 for v in p)} of {n}")
for f in failed:
    print("FAILED:", f)
sys.exit(1 if failed else 0)
PY
