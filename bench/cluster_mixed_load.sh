#!/usr/bin/env bash
# Services beside a search on one cluster (issue 12): the README's launch
# (`mpirun -np 3 quantfarm serve`: the head, two workers hosting the replicas and
# evaluating search tasks) on this machine's cores. Three phases, interleaved $REPEAT
# times in one run:
#   idle    wrk -c$CONNECTIONS on POST /api/screener/screen, no search;
#   alone   a random search (macd_signal, 1.2M-point space, steps of $BATCH) alone;
#   mixed   the same search with the same wrk load.
# wrk paces each connection ($PACE ms between its requests: a service load, not a
# flood; PACE=0 floods). Search throughput: distinct evaluations per second over the
# steps that ended inside the measured window (the same window of the search's life in
# both phases). Prints the medians and the targets: mixed p99 <= 3x idle p99, mixed
# throughput >= 70% of alone. "busy": the workers' evaluation time over the steps' wall time
# x workers (the rest: waiting for the head between steps). Fails when a wrk request is not 2xx or hits a socket error.
# Usage: bench/cluster_mixed_load.sh [path/to/quantfarm]
# Environment: DURATION (10 s), REPEAT (3), CONNECTIONS (16), PACE (50 ms), BATCH (2000),
#   SYMBOLS (50 screener symbols x 1000 bars), SEARCH_BARS (5000, 2 symbols), WARMUP (2 s:
#   the search runs that long before the window).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
qf=$(readlink -f "${1:-$here/../build/app/quantfarm}")
duration=${DURATION:-10}
repeat=${REPEAT:-3}
connections=${CONNECTIONS:-16}
pace=${PACE:-50}
batch=${BATCH:-2000}
symbols=${SYMBOLS:-50}
search_bars=${SEARCH_BARS:-5000}
warmup=${WARMUP:-2}
python=/usr/bin/python3
die() { echo "cluster_mixed_load: $*" >&2; exit 1; }
[ -x "$qf" ] || die "no quantfarm binary at '$qf' (build it: scripts/build.sh)"
for tool in wrk mpirun curl; do
  command -v "$tool" > /dev/null || die "'$tool' is not installed: run scripts/install-deps.sh"
done

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
    curl -s -m 5 -X POST "$url/api/cluster/shutdown" > /dev/null 2>&1 || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill "$pid" 2> /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
"$qf" data synth --store "$work/screen.h5" --symbols "$symbols" --bars 1000 --seed 7 > /dev/null
"$qf" data synth --store "$work/search.h5" --symbols 2 --bars "$search_bars" --seed 8 > /dev/null
body='{"filters": {"price": {"min": 10}, "pe": {"max": 40}, "sector": ["Technology", "Financials", "Health Care", "Industrials", "Energy", "Real Estate"]}, "sort": {"field": "market_cap", "order": "desc"}, "limit": 20}'
cat > "$work/screen.lua" << LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
function delay() return $pace end
LUA
port=$("$python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
url="http://127.0.0.1:$port"
# No result cache: the mixed phase must compute what the alone phase computed.
export QUANTFARM_NO_CACHE=1
timeout 3600 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -x QUANTFARM_NO_CACHE -np 3 \
  "$qf" serve --port "$port" --store "$work/screen.h5" --registry "$work/registry.db" \
  --results-dir "$work/results" > "$work/serve.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -sf -m 2 "$url/health" > /dev/null 2>&1 && break
  kill -0 "$pid" 2> /dev/null || { cat "$work/serve.out" >&2; die "serve exited at start-up"; }
  sleep 0.1
done
search_body() {  # search_body NAME
  "$python" -c "import json; print(json.dumps({'name': '$1', 'strategy': 'macd_signal',
  'symbols': ['AAA', 'BBB'], 'store': '$work/search.h5', 'split': {'in_sample': 0.7},
  'fitness': {'min_trades': 3}, 'seed': 5, 'num_samples': 1000000, 'batch_size': $batch}))"
}
load() {  # load OUT: the wrk load for $duration s
  wrk -t1 -c"$connections" -d"${duration}s" --latency --timeout 5s -s "$work/screen.lua" \
    "$url/api/screener/screen" > "$1" 2>&1
}
start_search() {  # start_search NAME
  local code
  code=$(curl -s -o "$work/post.json" -w '%{http_code}' -X POST --data-binary "$(search_body "$1")" "$url/search/random")
  [ "$code" = 202 ] || { cat "$work/post.json" >&2; die "POST /search/random answered $code"; }
}
end_search() {  # end_search NAME: stops it and keeps its live steps in $work/NAME.json
  curl -s "$url/experiments/$1" > "$work/$1.json"
  curl -s -X POST "$url/experiments/$1/stop" > /dev/null
}
alone() {  # alone R
  start_search "alone$1"
  sleep $((warmup + duration))
  end_search "alone$1"
}
mixed() {  # mixed R
  start_search "mixed$1"
  sleep "$warmup"
  load "$work/mixed.$1.txt"
  end_search "mixed$1"
}
# One unmeasured search first: the workers' first evaluators fault in fresh memory
# (measured: 2-4x slower than later ones). Then alone and mixed alternate which goes
# first, so that neither gains from coming second.
start_search warmup
sleep $((warmup + duration))
end_search warmup
for r in $(seq 1 "$repeat"); do
  load "$work/idle.$r.txt"
  if [ $((r % 2)) = 1 ]; then alone "$r"; mixed "$r"; else mixed "$r"; alone "$r"; fi
done
curl -s "$url/status" > "$work/status.json"
"$python" - "$work" "$repeat" "$warmup" "$duration" "$connections" "$pace" "$batch" <<'PY'
import json, os, re, statistics, sys
work, repeat, warmup, duration, conns, pace, batch = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
def wrk(path):
    text = open(path).read()
    if "Non-2xx" in text or "Socket errors" in text:
        sys.exit(f"cluster_mixed_load: errors in {path}:\n{text}")
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    p = {k: float(v) * unit[u] for k, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", text, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return p["50"], p["99"], rps
def throughput(name):
    steps = json.load(open(f"{work}/{name}.json"))["steps"]
    inside = [s for s in steps if warmup <= s["elapsed_seconds"] <= warmup + duration]
    before = [s for s in steps if s["elapsed_seconds"] < warmup]
    if len(inside) < 2:
        sys.exit(f"cluster_mixed_load: {name}: only {len(inside)} steps in the window; raise DURATION or lower BATCH")
    t0 = before[-1]["elapsed_seconds"] if before else 0.0
    busy = sum(s["busy_fraction"] for s in inside) / len(inside)
    return sum(s["evaluated"] for s in inside) / (inside[-1]["elapsed_seconds"] - t0), busy
idle = [wrk(f"{work}/idle.{r}.txt") for r in range(1, repeat + 1)]
mixed = [wrk(f"{work}/mixed.{r}.txt") for r in range(1, repeat + 1)]
alone_t, alone_busy = zip(*[throughput(f"alone{r}") for r in range(1, repeat + 1)])
mixed_t, mixed_busy = zip(*[throughput(f"mixed{r}") for r in range(1, repeat + 1)])
med = statistics.median
status = json.load(open(f"{work}/status.json"))
print(f"cluster: mpirun -np 3 quantfarm serve on {os.cpu_count()} cores ({status['ranks']} ranks, "
      f"{status['slots']} slots, {status['spawned_workers']} spawned); wrk -t1 -c{conns} "
      f"-d{duration:g}s, {pace} ms between a connection's requests; POST /api/screener/screen")
print(f"search: random macd_signal, steps of {batch}, window {warmup:g}..{warmup + duration:g} s of its life; "
      f"medians of {repeat} interleaved repeats")
for r in range(repeat):
    print(f"  repeat {r + 1}: idle p50 {idle[r][0]:.2f} p99 {idle[r][1]:.2f} ms ({idle[r][2]:.0f} req/s) | "
          f"mixed p50 {mixed[r][0]:.2f} p99 {mixed[r][1]:.2f} ms ({mixed[r][2]:.0f} req/s) | "
          f"search alone {alone_t[r]:.0f}/s ({100 * alone_busy[r]:.0f}% busy), "
          f"mixed {mixed_t[r]:.0f}/s ({100 * mixed_busy[r]:.0f}% busy)")
p99_ratio = med(m[1] for m in mixed) / med(i[1] for i in idle)
t_ratio = med(mixed_t) / med(alone_t)
print(f"screen p99: idle {med(i[1] for i in idle):.2f} ms, under the search {med(m[1] for m in mixed):.2f} ms: "
      f"{p99_ratio:.2f}x (target <= 3x): {'MET' if p99_ratio <= 3 else 'SHORT'}")
print(f"search throughput: alone {med(alone_t):.0f} evals/s, beside the load {med(mixed_t):.0f} evals/s: "
      f"{100 * t_ratio:.0f}% (target >= 70%): {'MET' if t_ratio >= 0.7 else 'SHORT'}")
PY
