#!/usr/bin/env bash
# Live streams are the cluster's and outlive the rank that runs them:
# `mpirun --enable-recovery -np 3 quantfarm serve` with two tickscrawler replicas
# (TICKSCRAWLER_MIN_REPLICAS=2) and tests/serve/ws_replay_server.py standing in for
# Binance's streams (an endless trade stream). A stream started over REST is listed
# alike by whichever replica answers; TICKSCRAWLER_MAX_STREAMS=1 refuses a second one
# with 429 on every replica. The rank running the stream is SIGKILLed: within 6 s
# another replica runs it (a new owner, restarts 1, a second connection at the replay
# server) and its bars keep reaching the store. Stopped over REST, it stays stopped,
# and shutdown ends every rank within 20 s.
# Usage: streams_failover_test.sh /path/to/quantfarm
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/cli_test_lib.sh" "$1"
PY=/usr/bin/python3
# The WebSocket replay server exits when its stdin closes: a fifo held open on fd 7.
mkfifo ws.in
REPLAY_CONNECTIONS_LOG="$WORK/connections.log" "$PY" "$HERE/../serve/ws_replay_server.py" \
  < ws.in > ws.port &
ws_pid=$!
exec 7> ws.in
PID=""
trap 'exec 7>&-; kill $ws_pid 2> /dev/null; [ -n "$PID" ] && kill $PID 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s ws.port ] && break; sleep 0.05; done
[ -s ws.port ] || fail "the WebSocket replay server did not start"
# 50 trades a second, each a second of market time after the previous: a 1-minute bar
# closes every 1.2 s.
export BINANCE_WS_URL="ws://127.0.0.1:$(head -1 ws.port)/endless=1/delay=20"
export TICKSCRAWLER_MIN_REPLICAS=2 TICKSCRAWLER_MAX_STREAMS=1
"$QF" data synth --store quantfarm.h5 --symbols 2 --bars 300 --seed 3 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
timeout 180 mpirun --allow-run-as-root --oversubscribe --enable-recovery \
  --mca btl self,vader,tcp --mca btl_tcp_if_include lo -x BINANCE_WS_URL \
  -x TICKSCRAWLER_MIN_REPLICAS -x TICKSCRAWLER_MAX_STREAMS -np 3 "$QF" serve \
  --port "$port" --store quantfarm.h5 --registry reg.db > serve.out 2>&1 &
PID=$!
wait_serve "$url" "$PID" serve.out

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
post() {  # post PATH BODY OUT: prints the status code
  curl -s -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary "$2" "$url$1"
}
entry() {  # entry FIELD: FIELD of stream $id in the listing ("" when not listed)
  curl -s "$url/api/tickscrawler/streams" | "$PY" -c "
import json, sys
for s in json.load(sys.stdin)['streams']:
    if s['stream_id'] == '$id':
        v = s['$1']
        print('' if v is None else v)" 2> /dev/null || true
}

for _ in $(seq 1 100); do
  curl -s "$url/status" | "$PY" -c "import json, sys
assert json.load(sys.stdin)['services']['tickscrawler']['replicas'] >= 2" 2> /dev/null && break
  sleep 0.1
done
code=$(post /api/tickscrawler/stream '{"source": "binance", "symbols": ["BTCUSDT"], "stream_type": "trades"}' start.json)
[ "$code" = 201 ] || { cat start.json; fail "start stream: $code"; }
id=$("$PY" -c "import json; print(json.load(open('start.json'))['stream_id'])")
owner=$("$PY" -c "import json; print(json.load(open('start.json'))['owner'])")
# The limit is the cluster's, and every replica lists the stream with its owner.
for i in 1 2 3 4; do
  code=$(post /api/tickscrawler/stream '{"source": "binance", "symbols": ["ETHUSDT"]}' second.json)
  [ "$code" = 429 ] || { cat second.json; fail "a second stream (try $i): $code, not 429"; }
done
for i in $(seq 1 10); do
  [ "$(entry owner)" = "$owner" ] || fail "listing $i does not show $id held by $owner"
done
for _ in $(seq 1 150); do
  [ "$(entry bars_written)" -gt 0 ] 2> /dev/null && break
  sleep 0.1
done
[ "$(entry bars_written)" -gt 0 ] || { cat serve.out >&2; fail "no bar written before the kill"; }

# The rank that runs it: the owner is host:pid:n.
victim=$(echo "$owner" | cut -d: -f2)
tr "\0" "\n" < "/proc/$victim/environ" | grep -q "^OMPI_COMM_WORLD_RANK=[12]$" ||
  fail "the owner $owner is not a worker rank"
kill -9 "$victim"
killed=$(now_ms)
moved=""
for _ in $(seq 1 100); do
  new_owner=$(entry owner)
  if [ -n "$new_owner" ] && [ "$new_owner" != "$owner" ] && [ "$(entry status)" = streaming ]; then
    moved=$(( $(now_ms) - killed ))
    break
  fi
  sleep 0.1
done
[ -n "$moved" ] || { cat serve.out >&2; curl -s "$url/api/tickscrawler/streams" >&2; fail "$id did not move within 10 s"; }
echo "stream moved to $new_owner in $moved ms"
[ "$moved" -le 6000 ] || fail "$id moved after $moved ms (> 6000)"
[ "$(entry restarts)" = 1 ] || fail "restarts is $(entry restarts), not 1"
[ "$(grep -c '^open ' connections.log)" -ge 2 ] || { cat connections.log; fail "the replay server saw no second connection"; }
grep -q "took over $id" serve.out || fail "no log line of the takeover"
written=$(entry bars_written)
for _ in $(seq 1 150); do
  [ "$(entry bars_written)" -gt "$written" ] && break
  sleep 0.1
done
[ "$(entry bars_written)" -gt "$written" ] || { cat serve.out >&2; fail "no bar written after the takeover"; }
"$QF" data show --store quantfarm.h5 --symbol BTCUSDT --timeframe 1m --json > shown.json ||
  fail "the streamed bars are not in the store"

code=$(post /api/tickscrawler/stream/stop "{\"stream_id\": \"$id\"}" stop.json)
[ "$code" = 200 ] || { cat stop.json; fail "stop: $code"; }
expect_contains stop.json '"status":"stopped"'
sleep 4  # past a lease: nobody takes a stopped stream
[ "$(entry status)" = stopped ] || fail "$id is $(entry status) after its stop"
[ "$(entry restarts)" = 1 ] || fail "a stopped stream was taken over"

"$QF" ctl --url "$url" shutdown > /dev/null
for _ in $(seq 1 200); do kill -0 "$PID" 2> /dev/null || break; sleep 0.1; done
kill -0 "$PID" 2> /dev/null && { cat serve.out >&2; fail "serve still running 20 s after shutdown"; }
rc=0
wait "$PID" || rc=$?
PID=""
[ "$rc" = 0 ] || { cat serve.out >&2; fail "serve exited $rc"; }
echo "PASS"
