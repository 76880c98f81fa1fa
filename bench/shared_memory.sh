#!/usr/bin/env bash
# Market data is loaded once per node: the proportional set size (PSS) of the ranks
# must not grow with their number by more than a few percent of the data size.
# Runs `mpirun -np N quantfarm evolve --memory-report` for N = 1..4 on a large
# market (BARS bars x 2 symbols) and on a tiny one; the growth per added rank that
# the data causes is the large market's growth minus the tiny one's (which is MPI's
# and the program's own per-process memory).
# Usage: bench/shared_memory.sh [path/to/quantfarm]   (BARS, default 1000000)
set -euo pipefail
# Benchmarks time evaluations: the result cache (on by default) would serve repeats.
export QUANTFARM_NO_CACHE=1
here=$(cd "$(dirname "$0")" && pwd)
qf=$(readlink -f "${1:-$here/../build/app/quantfarm}")
bars=${BARS:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$qf" data synth --symbols 2 --bars "$bars" --seed 3 --store big.h5 > /dev/null
"$qf" data synth --symbols 2 --bars 1000 --seed 3 --store tiny.h5 > /dev/null
for store in big tiny; do
  cat > "$store.json" <<JSON
{"strategy": "sma_crossover", "symbols": ["AAA", "BBB"], "store": "$store.h5",
 "population": 8, "generations": 1, "islands": 1, "seed": 1}
JSON
  for np in 1 2 3 4; do
    mpirun --allow-run-as-root --oversubscribe --enable-recovery -np "$np" "$qf" evolve --config "$store.json" \
      --out "$store$np.h5" --quiet --memory-report --threads 1 | grep '^memory:' > "$store$np.txt"
  done
done
/usr/bin/python3 - "$bars" <<'PY'
import re, sys
def total(path):
    line = open(path).read()
    data = float(re.search(r"market data ([0-9.]+) MiB", line).group(1))
    pss = float(re.search(r"PSS total ([0-9.]+) MiB", line).group(1))
    return data, pss
bars = int(sys.argv[1])
data, _ = total("big1.txt")
print(f"market data: 2 symbols x {bars} bars = {data:.1f} MiB")
print(f"{'ranks':>5} {'PSS total, large (MiB)':>24} {'PSS total, tiny (MiB)':>23} {'data share per rank':>20}")
base_big, base_tiny = total("big1.txt")[1], total("tiny1.txt")[1]
worst = 0.0
for np in range(1, 5):
    big, tiny = total(f"big{np}.txt")[1], total(f"tiny{np}.txt")[1]
    growth = ((big - base_big) - (tiny - base_tiny)) / (np - 1) if np > 1 else 0.0
    worst = max(worst, growth)
    print(f"{np:5d} {big:24.1f} {tiny:23.1f} {growth:17.2f} MiB")
pct = 100.0 * worst / data
print(f"largest data-driven growth per added rank: {worst:.2f} MiB = {pct:.2f}% of the data "
      f"(a copy per rank would be 100%) -> {'MET' if pct <= 5 else 'SHORT'} (target: a few percent)")
PY
