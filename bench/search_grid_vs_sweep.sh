#!/usr/bin/env bash
# `quantfarm search` with "search": "grid" against `quantfarm sweep --threads C` on the
# same grid and data, timed as the user waits: the wall time of the whole command
# (start-up, MPI launch, data loading, evaluation, report, results file), monotonic
# clock. Throughput = parameter sets x bars / wall seconds (bar-evaluations per second),
# the measure `sweep` prints. Both score every set on all the bars (no split), so they
# do the same backtests. Layouts (C = nproc):
#   sweep-tC            quantfarm sweep --threads C (one process; the reference)
#   grid-local-tC       quantfarm search (no mpirun) --threads C
#   grid-np2            mpirun -np 2 quantfarm search: a sleeping head + 1 worker rank
#                       with C threads (--bind-to none)
#   grid-np3            mpirun -np 3: a sleeping head + C worker ranks x 1 thread
# Each grid layout runs twice: with --overfitting-blocks 0 (the search alone, the same
# work as sweep) and with the default report (which re-scores every set on 16
# sub-periods: what a user waits for by default). REPEAT interleaved repeats; medians
# (min-max). Target: grid-np2 (no report) >= 0.9 x sweep-tC. Prints MET or SHORT
# (exit 0 either way); exit 1 when a command fails or the best sets disagree.
# Usage: bench/search_grid_vs_sweep.sh [path/to/quantfarm]
# Environment: BARS (default 500000), STRATEGY (ema_crossover), GRID (default
#   'fast=2:81:1,slow=10:400:5': 5,765 consistent sets over 159 EMA series, so memory
#   heavy), REPEAT (3), MPI_FLAGS.
set -euo pipefail
qf="$(readlink -f "${1:-build/app/quantfarm}")"
py=/usr/bin/python3
bars=${BARS:-500000}
grid=${GRID:-fast=2:81:1,slow=10:400:5}
strategy=${STRATEGY:-ema_crossover}
repeat=${REPEAT:-3}
mpi_flags=${MPI_FLAGS:---allow-run-as-root --oversubscribe --enable-recovery --bind-to none}
cores=$(nproc)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export QUANTFARM_NO_CACHE=1

"$qf" data synth --store "$work/data.h5" --symbols 1 --bars "$bars" --seed 3 > /dev/null
cat > "$work/grid.json" <<JSON
{"search": "grid", "strategy": "$strategy", "symbols": ["AAA"], "store": "$work/data.h5",
 "grid": "$grid", "fitness": {"min_trades": 0}}
JSON
now() { date +%s.%N; }
declare -A times
run() {  # run LAYOUT CMD...: appends the wall time of CMD to times[LAYOUT]
  local layout=$1; shift
  local t0 t1
  t0=$(now)
  "$@" > "$work/$layout.out" 2> "$work/$layout.err" ||
    { cat "$work/$layout.err" >&2; echo "FAILED: $layout" >&2; exit 1; }
  t1=$(now)
  times[$layout]+="$(echo "$t1 - $t0" | bc) "
}
layouts=(sweep-tC grid-local-tC grid-np2 grid-np3 grid-local-tC+report grid-np2+report)
for ((r = 0; r < repeat; ++r)); do
  for layout in "${layouts[@]}"; do
    report="--overfitting-blocks 0"
    [[ $layout == *+report ]] && report=""
    s=(search --config "$work/grid.json" --out "$work/$layout.h5" --registry "$work/r.db"
       --quiet --top 1 $report)
    case ${layout%+report} in
      sweep-tC) run "$layout" "$qf" sweep --store "$work/data.h5" --symbol AAA \
                  --strategy "$strategy" --grid "$grid" --threads "$cores" --top 1 --json ;;
      grid-local-tC) run "$layout" "$qf" "${s[@]}" --threads "$cores" ;;
      grid-np2) run "$layout" mpirun $mpi_flags -np 2 "$qf" "${s[@]}" --threads "$cores" ;;
      grid-np3) run "$layout" mpirun $mpi_flags -np $((cores + 1)) "$qf" "${s[@]}" --threads 1 ;;
    esac
  done
done
sets=$("$py" -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['evaluated/fitness']))" \
  "$work/grid-np2.h5")
"$py" - "$work" "$bars" "$sets" "$repeat" "${layouts[*]}" "$strategy $grid" <<PY
import h5py, json, statistics, sys
work, bars, sets, repeat, layouts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split()
times = {$(for l in "${layouts[@]}"; do printf '"%s": [%s], ' "$l" "$(echo ${times[$l]} | tr ' ' ',')"; done)}
sweep = json.load(open(f"{work}/sweep-tC.out"))
best = sweep["top"][0]["params"]
for l in layouts[1:]:
    top = json.loads(h5py.File(f"{work}/{l}.h5", "r").attrs["top"])[0]
    assert top["params"] == best, (l, top["params"], best)
print(f"grid {sys.argv[6]!r}: {sets} consistent sets x {bars} bars = {sets * bars:.3g} bar-evaluations; "
      f"{repeat} interleaved repeats, whole-process wall time")
print(f"{'layout':24} {'median s':>9} {'(min-max)':>15} {'bar-evals/s':>12} {'vs sweep':>9}")
med = {l: statistics.median(times[l]) for l in layouts}
for l in layouts:
    t = times[l]
    print(f"{l:24} {med[l]:9.2f} ({min(t):6.2f}-{max(t):6.2f}) {sets * bars / med[l]:12.3g} "
          f"{med['sweep-tC'] / med[l]:8.2f}x")
ratio = med["sweep-tC"] / med["grid-np2"]
print(f"target grid-np2 >= 0.9 x sweep-tC: {ratio:.2f} -> {'MET' if ratio >= 0.9 else 'SHORT'}")
PY
