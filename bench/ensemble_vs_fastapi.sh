#!/usr/bin/env bash
# Side-by-side: ensemble predictions, `POST /ensemble/bench/predict {"symbol": S}`, from
# `mpirun quantfarm serve` (the head routes HTTP; the ensemble service's replicas live
# on the worker ranks) against the same votes computed with numpy behind FastAPI +
# uvicorn (bench/fastapi_ensemble.py), in one run, loaded with wrk on loopback.
# Setup: `quantfarm data synth` ($SYMBOLS symbols x $BARS bars, seed 7) and one soft-vote
# ensemble of 5 seeds with non-default parameters, deployed with `quantfarm ensemble
# deploy` before the servers start. Before any timing, every symbol is predicted by
# both servers and the answers compared (signal, votes, positions, ids, strategies,
# num_models, voting_method, version, as_of, ensemble, symbol exactly; confidence,
# score, strength, weight within 1e-9); a mismatch fails with both answers, and so does
# a vacuous check (every signal HOLD, or no strength strictly between 0 and 1). Then
# wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency with a Lua script POSTing the
# symbols in turn (the same sequence for both), interleaved, $REPEAT times, keeping the
# best requests/s and the best p99 of each; prints them with the ratios and the targets
# (quantfarm >= 8x the peer's requests/s and a p99 <= 1/8 of the peer's). Fails when
# any request is not 2xx or hits a socket error. Installs nothing.
# Usage: bench/ensemble_vs_fastapi.sh [path/to/quantfarm]
# Environment: CHECK_ONLY (1: the agreement check only, no timing), DURATION (10 s),
#   REPEAT (2), CONNECTIONS (64), THREADS (2), WARMUP (2 s), SYMBOLS (20), BARS (2500),
#   THRESHOLD (0.2, the soft vote's), LAUNCH ("readme": the README's launch,
#   `mpirun --oversubscribe -np 3` with the default autoscaling; "fixed": -np 2,
#   ENSEMBLE_MIN_REPLICAS = ENSEMBLE_MAX_REPLICAS = 2 and --max-workers 0, so the
#   autoscaler changes nothing), PEER_WORKERS ("1"; "1 2" also runs a 2-process uvicorn
#   peer, not judged), SERVE_ARGS (extra `quantfarm serve` flags), QUIET_BUSY (25),
#   QUIET_WAIT (60 s) and FOREIGN_MAX (10 %) as in bench/serve_vs_fastapi.sh: wait for
#   quiet cores before each run, redo a run other processes disturbed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
qf=$(readlink -f "${1:-$here/../build/app/quantfarm}")
check_only=${CHECK_ONLY:-0}
duration=${DURATION:-10}
repeat=${REPEAT:-2}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
warmup=${WARMUP:-2}
symbols=${SYMBOLS:-20}
bars=${BARS:-2500}
threshold=${THRESHOLD:-0.2}
replicas=2
launch=${LAUNCH:-readme}
case "$launch" in
  fixed) np=2; launch_flags=(--max-workers 0) ;;
  readme) np=3; launch_flags=(); replicas=auto ;;
  *) echo "ensemble_vs_fastapi: LAUNCH must be readme or fixed" >&2; exit 1 ;;
esac
peer_workers=(${PEER_WORKERS:-1})
serve_args=(${SERVE_ARGS:-})
quiet_busy=${QUIET_BUSY:-25}
quiet_wait=${QUIET_WAIT:-60}
foreign_max=${FOREIGN_MAX:-10}
python=/usr/bin/python3

bench_name=ensemble_vs_fastapi
. "$here/http_bench_lib.sh"
[ -x "$qf" ] || die "no quantfarm binary at '$qf' (build it: scripts/build.sh)"
for tool in wrk mpirun curl; do
  command -v "$tool" > /dev/null || die "'$tool' is not installed: run scripts/install-deps.sh"
done
[ -x "$python" ] || die "$python is missing: run scripts/install-deps.sh"
"$python" -c "import fastapi, uvicorn, h5py, numpy, scipy" 2> /dev/null ||
  die "$python lacks fastapi, uvicorn, h5py, numpy or scipy (Debian python3-fastapi python3-uvicorn python3-h5py python3-scipy): run scripts/install-deps.sh"

work=$(mktemp -d)
qf_pid=""
qf_url=""
peer_pids=()
trap 'stop_servers; rm -rf "$work"' EXIT

store="$work/bench.h5"
registry="$work/registry.db"
"$qf" data synth --store "$store" --symbols "$symbols" --bars "$bars" --seed 7 > "$work/synth.log" 2>&1 ||
  { cat "$work/synth.log" >&2; die "data synth failed"; }
"$qf" ensemble deploy --name bench --registry "$registry" --store "$store" \
  --member 'sma_crossover:{"fast": 10, "slow": 40}' \
  --member 'rsi_mean_reversion:{"period": 10, "lower": 35, "upper": 65}' \
  --member 'bollinger_reversion:{"period": 15, "k": 1.5}' \
  --member 'momentum_roc:{"period": 15, "threshold": 0.01}' \
  --member 'zscore_reversion:{"period": 30, "entry": 1.5, "exit": 0.3}' \
  --voting soft --threshold "$threshold" > "$work/deploy.log" 2>&1 ||
  { cat "$work/deploy.log" >&2; die "ensemble deploy failed"; }
"$python" -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r') as f:
    print(' '.join(sorted(k for k in f if k != 'fundamentals' and '1d' in f[k])))" "$store" \
  > "$work/symbols.txt"
read -r -a symbol_list < "$work/symbols.txt"
[ "${#symbol_list[@]}" -eq "$symbols" ] || die "the store holds ${#symbol_list[@]} symbols, not $symbols"
path=/ensemble/bench/predict
{
  echo 'wrk.method = "POST"'
  echo 'wrk.headers["Content-Type"] = "application/json"'
  printf 'local symbols = {'; printf '"%s", ' "${symbol_list[@]}"; echo '}'
  cat << LUA
local bodies = {}
for i, s in ipairs(symbols) do bodies[i] = '{"symbol": "' .. s .. '"}' end
local next_body = 0
request = function()  -- each wrk thread walks the symbols in order, from the first
  next_body = next_body % #bodies + 1
  return wrk.format(nil, "$path", nil, bodies[next_body])
end
LUA
} > "$work/predict.lua"

# Every process is bounded: measured runs may wait for quiet and be redone (3 tries).
runs=${#peer_workers[@]}
bound=$(( 3 * (runs + 1) * (warmup + 3 * repeat * (quiet_wait + duration + 5)) + 300 ))
mpi_env=()
if [ "$launch" = fixed ]; then
  export ENSEMBLE_MIN_REPLICAS=$replicas ENSEMBLE_MAX_REPLICAS=$replicas
  mpi_env=(-x ENSEMBLE_MIN_REPLICAS -x ENSEMBLE_MAX_REPLICAS)
fi
qf_port=$(free_port)
qf_url="http://127.0.0.1:$qf_port"
timeout "$bound" mpirun --allow-run-as-root --oversubscribe --mca btl self,vader \
  "${mpi_env[@]}" -np "$np" \
  "$qf" serve --port "$qf_port" --store "$store" --registry "$registry" \
  "${launch_flags[@]}" "${serve_args[@]}" > "$work/serve.out" 2>&1 &
qf_pid=$!
servers=(qf)
declare -A url=([qf]="$qf_url")
declare -A label=([qf]="quantfarm (mpirun -np $np)")
for n in "${peer_workers[@]}"; do
  port=$(free_port)
  timeout "$bound" "$python" "$here/fastapi_ensemble.py" --store "$store" \
    --registry "$registry" --port "$port" --workers "$n" > "$work/peer$n.out" 2>&1 &
  peer_pids+=($!)
  servers+=("peer$n")
  url[peer$n]="http://127.0.0.1:$port"
  label[peer$n]="fastapi+uvicorn, $n worker$([ "$n" -gt 1 ] && echo s || true)"
done
wait_up "$qf_url" "$qf_pid" "$work/serve.out"
i=0
for n in "${peer_workers[@]}"; do
  wait_up "${url[peer$n]}" "${peer_pids[$i]}" "$work/peer$n.out"
  i=$((i + 1))
done
curl -sf "$qf_url/status" > "$work/status.before.json"

# Same answers, symbol by symbol, before any timing.
urls=()
for s in "${servers[@]}"; do urls+=("${url[$s]}"); done
"$python" - "$path" "$work/symbols.txt" "${urls[@]}" << 'PY' ||
import json, sys, time, urllib.error, urllib.request
path, symbols, urls = sys.argv[1], open(sys.argv[2]).read().split(), sys.argv[3:]
TOL = 1e-9
EXACT = ("signal", "num_models", "voting_method", "version", "as_of", "ensemble", "symbol")
CLOSE = ("confidence", "score")
MEMBER_EXACT = ("id", "strategy", "position", "vote")
MEMBER_CLOSE = ("strength", "weight")

def predict(url, symbol):
    body = json.dumps({"symbol": symbol}).encode()
    for _ in range(100):  # the head may answer before its replicas are placed: 503
        req = urllib.request.Request(url + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            if e.code != 503:
                print(f"{url}{path} {body.decode()}: HTTP {e.code} {e.read().decode()}")
                sys.exit(1)
        time.sleep(0.2)
    print(f"{url}{path}: still 503 after 20 s"); sys.exit(1)

def differences(a, b):
    out, worst = [], 0.0
    keys = EXACT + CLOSE + ("members", "threshold")
    if set(a) != set(b) or set(a) != set(keys):
        out.append(f"keys {sorted(a)} vs {sorted(b)}")
        return out, worst
    out += [k for k in EXACT + ("threshold",) if a[k] != b[k]]
    for k in CLOSE:
        d = abs(a[k] - b[k]); worst = max(worst, d)
        if not d <= TOL: out.append(k)
    if len(a["members"]) != len(b["members"]):
        return out + ["members"], worst
    for i, (x, y) in enumerate(zip(a["members"], b["members"])):
        if set(x) != set(y):
            out.append(f"members[{i}] keys")
            continue
        out += [f"members[{i}].{k}" for k in MEMBER_EXACT if x[k] != y[k]]
        for k in MEMBER_CLOSE:
            d = abs(x[k] - y[k]); worst = max(worst, d)
            if not d <= TOL: out.append(f"members[{i}].{k}")
    return out, worst

worst, signals, partial, members = 0.0, {}, 0, 0
for symbol in symbols:
    answers = [predict(u, symbol) for u in urls]
    qf = answers[0]
    for u, peer in zip(urls[1:], answers[1:]):
        diff, w = differences(qf, peer)
        worst = max(worst, w)
        if diff:
            print(f"MISMATCH on {symbol} ({', '.join(diff)}):\n  quantfarm: {json.dumps(qf)}\n"
                  f"  peer {u}: {json.dumps(peer)}")
            sys.exit(1)
    signals[qf["signal"]] = signals.get(qf["signal"], 0) + 1
    members += len(qf["members"])
    partial += sum(0.0 < m["strength"] < 1.0 for m in qf["members"])
if signals.get("HOLD", 0) == len(symbols):
    print("vacuous check: every symbol's signal is HOLD (lower THRESHOLD)"); sys.exit(1)
if partial == 0:
    print("vacuous check: no member strength is strictly between 0 and 1"); sys.exit(1)
print(f"predictions answered alike for all {len(symbols)} symbols "
      f"({', '.join(f'{signals.get(s, 0)} {s}' for s in ('BUY', 'SELL', 'HOLD'))}; "
      f"{partial} of {members} member strengths strictly between 0 and 1); largest "
      f"difference in confidence, score, strength, weight: {worst:.3g} (tolerance {TOL:g})")
PY
  die "the agreement check failed (above)"
if [ "$check_only" = 1 ]; then
  stop_servers
  grep -q "stopped (0 request(s) unanswered)" "$work/serve.out" ||
    { cat "$work/serve.out" >&2; die "quantfarm serve did not stop cleanly"; }
  exit 0
fi

write_cpu_py
run_wrk() {  # run_wrk SERVER SECONDS OUT
  timeout $(( $2 + 60 )) wrk -t"$threads" -c"$connections" -d"$2s" --timeout 10s --latency \
    -s "$work/predict.lua" "${url[$1]}$path" > "$3" 2>&1 ||
    { cat "$3" >&2; tail -n 20 "$work/$([ "$1" = qf ] && echo serve || echo "$1").out" >&2
      die "wrk failed against ${label[$1]}"; }
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${servers[@]}"; do run_wrk "$s" "$warmup" "$work/warmup.txt"; done
# Interleaved: every server once per round; the order alternates.
for i in $(seq 1 "$repeat"); do
  order=("${servers[@]}")
  if [ $((i % 2)) -eq 0 ]; then
    order=(); for ((k = ${#servers[@]} - 1; k >= 0; k--)); do order+=("${servers[$k]}"); done
  fi
  for s in "${order[@]}"; do run_measured run_wrk "$s" "$duration" "$work/wrk.$s.$i.txt"; done
done
print_quiet_summary
curl -sf "$qf_url/status" > "$work/status.after.json"

peer_versions
labels=()
for s in "${servers[@]}"; do labels+=("${label[$s]}"); done
PYTHONPATH="$here" "$python" - "$work" "$repeat" "$connections" "$threads" "$duration" \
  "$symbols" "$bars" "$replicas" "$fastapi_v" "$uvicorn_v" "$impl" "$(nproc)" "$launch" \
  "${serve_args[*]}" "${servers[@]}" "${labels[@]}" << 'PY'
import json, sys
from wrk_report import parse, best, word
(work, repeat, conns, threads, duration, symbols, bars, replicas, fastapi_v, uvicorn_v,
 impl, cores, launch, serve_args) = sys.argv[1:15]
repeat = int(repeat)
rest = sys.argv[15:]
servers, labels = rest[:len(rest) // 2], dict(zip(rest[:len(rest) // 2], rest[len(rest) // 2:]))
figures, failures = {}, []
for s in servers:
    runs = [parse(f"{work}/wrk.{s}.{i}.txt") for i in range(1, repeat + 1)]
    for rps, p99, total, errors in runs:
        if errors or total == 0:
            failures.append(f"{labels[s]}: {'; '.join(errors) or 'no requests'}")
    figures[s] = best(runs)
before, after = (json.load(open(f"{work}/status.{w}.json")) for w in ("before", "after"))
ens = after["services"].get("ensemble", {})
if replicas != "auto" and (ens.get("replicas") != int(replicas) or after["spawned_workers"] != 0):
    failures.append(f"quantfarm's ensemble service changed during the run: {ens}, "
                    f"spawned workers {after['spawned_workers']}")

print(f"ensemble predict: POST /ensemble/bench/predict {{\"symbol\"}} over {symbols} symbols "
      f"x {bars} bars in turn, 5 members, soft vote; wrk -t{threads} -c{conns} "
      f"-d{duration}s --latency, loopback, {cores} cores shared by wrk and the servers; "
      f"best of {repeat} interleaved runs (requests/s and p99 each)")
if launch == "readme":
    print(f"quantfarm: the README's launch, mpirun --oversubscribe -np 3 --mca btl self,vader, "
          f"default autoscaling{' ' + serve_args if serve_args else ''}; ensemble replicas at the end "
          f"{ens.get('replicas')}, spawned workers {after['spawned_workers']}")
else:
    print(f"quantfarm: mpirun -np 2 --mca btl self,vader, ensemble replicas fixed at "
          f"{replicas}, --max-workers 0 {serve_args}".rstrip())
print(f"peer: FastAPI {fastapi_v} + uvicorn {uvicorn_v} ({impl}), numpy, "
      f"bench/fastapi_ensemble.py")
print(f"{'peer':26s} {'qf req/s':>9s} {'peer req/s':>10s} {'ratio':>7s} {'qf p99':>8s} "
      f"{'peer p99':>9s} {'p99 ratio':>9s}  target req/s >= 8x, p99 <= 1/8")
q_rps, q_p99, _ = figures["qf"]
met = None
for k, p in enumerate(servers[1:]):
    p_rps, p_p99, _ = figures[p]
    ratio, p99_ratio = q_rps / p_rps, p_p99 / q_p99
    status = f"{word(ratio >= 8)}, {word(p99_ratio >= 8)}" if k == 0 else "(not judged)"
    if k == 0:
        met = (ratio >= 8, p99_ratio >= 8)
    print(f"{labels[p]:26s} {q_rps:9.0f} {p_rps:10.0f} {ratio:6.2f}x {q_p99:6.2f}ms "
          f"{p_p99:7.2f}ms {p99_ratio:8.2f}x  {status}")
print(f"targets against {labels[servers[1]]}: requests/s >= 8x the peer's: {word(met[0])}; "
      f"p99 <= 1/8 of the peer's: {word(met[1])}")
handled = ens.get("handled", 0) - before["services"].get("ensemble", {}).get("handled", 0)
print(f"quantfarm ensemble service during the run: handled {handled}, rejected "
      f"{ens.get('rejected')}, replicas {ens.get('replicas')}")
if failures:
    print("FAILED requests:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("non-2xx responses and socket errors: none")
PY
stop_servers
grep -q "stopped (0 request(s) unanswered)" "$work/serve.out" ||
  { cat "$work/serve.out" >&2; die "quantfarm serve did not stop cleanly"; }
