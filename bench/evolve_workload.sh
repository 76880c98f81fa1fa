# The GA workload shared by evolve_vs_deap.sh and evolve_speedup.sh; sourced with
# $1 = quantfarm binary (optional) and $2 = default number of generations.
# Sets: here qf bars pop gens repeat cores py work (a temp dir removed on exit), and
# writes $work/bench.h5 (BARS synthetic bars of AAA) and $work/evolve.json.
set -euo pipefail
# Benchmarks time evaluations: the result cache (on by default) would serve repeats.
export QUANTFARM_NO_CACHE=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
qf=${1:-$here/../build/app/quantfarm}
bars=${BARS:-1000000}
pop=${POP:-512}
gens=${GENERATIONS:-$2}
repeat=${REPEAT:-1}
cores=$(nproc)
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$qf" data synth --symbols 1 --bars "$bars" --seed 7 --store "$work/bench.h5" >/dev/null
cat > "$work/evolve.json" <<JSON
{"strategy": "ema_crossover", "symbols": ["AAA"], "store": "$work/bench.h5",
 "timeframe": "1d", "population": $pop, "generations": $gens, "islands": 4,
 "migration_interval": 5, "migration_size": 2, "tournament_size": 3,
 "crossover": "uniform", "crossover_rate": 0.8, "mutation": "gaussian",
 "mutation_rate": 0.2, "mutation_sigma": 0.1, "elitism": 2,
 "fitness": {"metric": "sharpe", "min_trades": 0, "max_drawdown": 1.0},
 "split": {"in_sample": 0.7},
 "engine": {"fill": "next-open", "commission_bps": 1, "slippage_bps": 1,
            "position_size": 1, "long_only": false},
 "seed": 42}
JSON
