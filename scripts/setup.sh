#!/usr/bin/env bash
# The first command of the README: install the Debian packages, build, and run the
# main job on embedded synthetic data (HDF5 files; no server to start): a distributed
# genetic search under mpirun, then a grid sweep and a pairs backtest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
qf="$root/build/app/quantfarm"
store="$root/data/quantfarm.h5"
mkdir -p "$root/data"

echo; echo "== quantfarm data synth: 4 synthetic symbols, 10 years of daily bars"
"$qf" data synth --symbols 4 --bars 2520 --seed 42 --store "$store"
echo; echo "== mpirun quantfarm evolve: genetic search over 4 strategy seeds on AAA and CCC"
echo "   (rank 0 schedules, one worker rank per core evaluates; config: examples/evolve.json)"
# --bind-to none: Open MPI would pin each of up to 2 ranks to one core; quantfarm sizes
# each rank's threads from the cores it may use (see README, "Threads and binding").
mpi_flags=(--oversubscribe --enable-recovery --bind-to none)
[ "$(id -u)" -ne 0 ] || mpi_flags+=(--allow-run-as-root)
cores=$(nproc)
(cd "$root" && mpirun "${mpi_flags[@]}" -np $((cores + 1)) "$qf" evolve \
  --config examples/evolve.json --out data/evolve-results.h5)
echo; echo "== mpirun quantfarm search: ASHA over 2 strategy seeds, fitness mean + min Sharpe over AAA and CCC"
echo "   (config: examples/search.json; grid, random, ga, pbt and bayesian run the same way)"
(cd "$root" && mpirun "${mpi_flags[@]}" -np $((cores + 1)) "$qf" search \
  --config examples/search.json --out data/search-results.h5 --quiet)
echo; echo "== quantfarm sweep: Bollinger reversion grid on AAA, ranked in-sample, checked out-of-sample"
"$qf" sweep --store "$store" --symbol AAA --strategy bollinger_reversion \
  --grid 'period=10:100:2,k=1:3:0.1' --in-sample 0.7 --min-trades 10 --top 5
echo; echo "== quantfarm backtest: pairs arbitrage on the cointegrated pair AAA/BBB"
"$qf" backtest --store "$store" --symbol AAA --symbol2 BBB --strategy pairs_arbitrage \
  --params '{"period": 60, "entry": 2.0, "exit": 0.5}' --in-sample 0.7
echo; echo "The store is $store; try: $qf strategies, $qf backtest --help"
