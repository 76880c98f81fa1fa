# The series and config keys bench/search_efficiency.sh and bench/asha_vs_random.sh
# share; sourced with $1 = the quantfarm binary (default build/app/quantfarm). Sets qf,
# seeds, bars, data_seed, strategy, threads, py, work (a temporary directory removed on
# exit) and common (the JSON keys of every search config), and writes $work/data.h5.
# Environment: SEEDS ("1 2 ... 10"), BARS (5000), DATA_SEED (7), STRATEGY
# (zscore_reversion), THREADS (1).
set -euo pipefail
export QUANTFARM_NO_CACHE=1   # every run computes; nothing is served from a cache
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
qf=$(readlink -f "${1:-$here/../build/app/quantfarm}")
seeds=${SEEDS:-$(seq -s ' ' 1 10)}
bars=${BARS:-5000}
data_seed=${DATA_SEED:-7}
strategy=${STRATEGY:-zscore_reversion}
threads=${THREADS:-1}
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$qf" data synth --symbols 1 --bars "$bars" --seed "$data_seed" --store "$work/data.h5" \
  > /dev/null 2>&1
common="\"strategy\": \"$strategy\", \"symbols\": [\"AAA\"], \"store\": \"$work/data.h5\",
 \"split\": {\"in_sample\": 0.7}, \"fitness\": {\"metric\": \"sharpe\"}"
