#!/usr/bin/env bash
# Scaling the serving cluster by the cores it may use (MPI_UNIVERSE_SIZE: mpirun gives
# this machine one slot per core):
#  - tried as a new user would: the README's launch (`mpirun -np 3 ... serve`, default
#    autoscaling) under wrk at 64 connections on GET /api/screener/status spawns no
#    worker onto the full node (3 processes on 2 slots), and says why;
#  - the scale-up watcher: search tasks waiting beyond --pending-threshold for
#    --check-interval spawn a worker into a free slot (--slots), which takes tasks; the
#    results stay bit-identical to the CLI's; the idle worker is released after
#    --idle-release; with no free slot the watcher logs that it does not spawn.
# Usage: cluster_scaling_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
command -v wrk > /dev/null || fail "wrk is not installed: run scripts/install-deps.sh"
MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo)

"$QF" data synth --store data.h5 --symbols 6 --bars 20000 --seed 11 > /dev/null
cat > wide.json <<'JSON'
{"search": "random", "strategy": "macd_signal", "symbols": ["AAA", "BBB"], "store": "data.h5",
 "split": {"in_sample": 0.7}, "fitness": {"aggregate": "mean_plus_min", "min_trades": 3},
 "seed": 21, "num_samples": 40000, "batch_size": 8000}
JSON
"$QF" search --config wide.json --out reference.h5 --registry cli.db --quiet > /dev/null 2>&1 ||
  fail "the CLI reference run failed"
body() { /usr/bin/python3 -c "import json; c = json.load(open('wide.json')); c['name'] = '$1'; print(json.dumps(c))"; }
status_of() {
  curl -s "$1/experiments/$2" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin).get('status'))"
}
wait_finished() {  # wait_finished URL NAME LOG
  for _ in $(seq 1 1200); do
    [ "$(status_of "$1" "$2")" = finished ] && return 0
    sleep 0.1
  done
  cat "$3" >&2
  fail "$2 did not finish within 120 s"
}

# The README's launch under 64 connections: no spawn onto the busy node.
port=$(free_port)
url="http://127.0.0.1:$port"
"${MPIRUN[@]}" -np 3 "$QF" serve --port "$port" --store data.h5 --registry reg.db \
  --pending-threshold 0 --check-interval 0.5 > readme.out 2>&1 &
pid=$!
wait_serve "$url" "$pid" readme.out
wrk -t2 -c64 -d6s --latency "$url/api/screener/status" > wrk.txt 2>&1 || { cat wrk.txt; fail "wrk failed"; }
spawned=$(curl -s "$url/status" | /usr/bin/python3 -c "import json, sys; s = json.load(sys.stdin); print(s['spawned_workers'], s['slots'])")
[ "${spawned%% *}" = 0 ] || { cat readme.out >&2; fail "a worker was spawned onto the full node ($spawned)"; }
[ "${spawned##* }" = 2 ] || fail "slots: ${spawned##* }, expected 2 (MPI_UNIVERSE_SIZE on 2 cores)"
# A search's backlog: the watcher wants a worker and says there is no slot.
[ "$(curl -s -o p.json -w '%{http_code}' -X POST --data-binary "$(body full)" "$url/search/random")" = 202 ] ||
  { cat p.json; fail "POST full"; }
wait_finished "$url" full readme.out
expect_contains readme.out "no free slot (3 processes on 2 slots): not spawning"
grep -q "spawned worker" readme.out && { cat readme.out >&2; fail "a worker was spawned onto the full node"; }
same_search reference.h5 results/full.h5
"$QF" ctl --url "$url" shutdown > /dev/null
wait "$pid" || { cat readme.out >&2; fail "serve exited non-zero"; }
echo "README launch, 64 connections: nothing spawned on 2 slots; $(grep -E '^ +99%' wrk.txt | tr -s ' ')"

# The watcher with a free slot: spawns, the spawned worker evaluates, then is released.
port=$(free_port)
url="http://127.0.0.1:$port"
"${MPIRUN[@]}" -np 2 "$QF" serve --port "$port" --store data.h5 --registry reg.db --slots 3 \
  --pending-threshold 0 --check-interval 0.2 --cooldown 1 --max-workers 1 --idle-release 2 \
  > watch.out 2>&1 &
pid=$!
wait_serve "$url" "$pid" watch.out
[ "$(curl -s -o p.json -w '%{http_code}' -X POST --data-binary "$(body watched)" "$url/search/random")" = 202 ] ||
  { cat p.json; fail "POST watched"; }
wait_finished "$url" watched watch.out
expect_contains watch.out "scale-up watcher:"
expect_contains watch.out "spawned a worker"
same_search reference.h5 results/watched.h5
for _ in $(seq 1 100); do
  grep -q "released worker 'spawned 1' (idle;" watch.out && break
  sleep 0.1
done
expect_contains watch.out "released worker 'spawned 1' (idle;"
done_by_spawned=$(grep -o "released worker 'spawned 1' (idle; [0-9]*" watch.out | grep -o '[0-9]*$')
[ "$done_by_spawned" -gt 0 ] || { cat watch.out >&2; fail "the spawned worker evaluated no search task"; }
"$QF" ctl --url "$url" shutdown > /dev/null
wait "$pid" || { cat watch.out >&2; fail "serve exited non-zero"; }
echo "watcher: $(grep -m1 'scale-up watcher' watch.out | sed 's/^\[serve\] //'); the spawned worker evaluated $done_by_spawned task(s); released when idle; results bit-identical"
echo "PASS"
