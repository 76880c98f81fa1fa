#!/usr/bin/env bash
# The seed's tickscrawler requests, as its README writes them, against
# `mpirun -np 3 quantfarm serve` with local replay servers standing in for Binance
# (REST: tests/serve/replay_server.py; WebSocket: tests/serve/ws_replay_server.py).
# Each was refused before issue 14 (crawl with source_id/data_type/limit: 400 unknown
# field; historical with a JSON body on GET: 400; POST /api/tickscrawler/stream: 404)
# and is now answered 2xx: a Binance crawl lands its bars in the store, historical
# reads them back from a GET body, a trade stream is listed with messages, then stopped.
# Usage: seed_tickscrawler_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
"$PY" "$HERE/../serve/replay_server.py" --port-file replay.port --log replay.log &
replay_pid=$!
# The WebSocket replay server exits when its stdin closes: a fifo held open on fd 7,
# closed by this shell's exit (no helper process is left holding the test's output).
mkfifo ws.in
"$PY" "$HERE/../serve/ws_replay_server.py" < ws.in > ws.port &
ws_pid=$!
exec 7> ws.in
trap 'exec 7>&-; kill $replay_pid $ws_pid 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s replay.port ] && [ -s ws.port ] && break; sleep 0.05; done
[ -s replay.port ] && [ -s ws.port ] || fail "the replay servers did not start"
export BINANCE_BASE_URL="http://127.0.0.1:$(cat replay.port)"
export BINANCE_WS_URL="ws://127.0.0.1:$(head -1 ws.port)"
"$QF" data synth --store quantfarm.h5 --symbols 2 --bars 300 --seed 3 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
timeout 120 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp \
  --mca btl_tcp_if_include lo -x BINANCE_BASE_URL -x BINANCE_WS_URL -np 3 "$QF" serve \
  --port "$port" --store quantfarm.h5 --registry reg.db > serve.out 2>&1 &
PID=$!
wait_serve "$url" "$PID" serve.out
expect_2xx() {  # expect_2xx METHOD PATH BODY OUT
  local code
  code=$(curl -s -o "$4" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$url$2")
  [ "${code:0:1}" = 2 ] || { cat "$4"; fail "$1 $2 $3: $code"; }
}
# The seed's crawl.
expect_2xx POST /api/tickscrawler/crawl \
  '{"source_id": "binance", "symbols": ["BTCUSDT"], "data_type": "ohlc", "limit": 100, "interval": "1m"}' crawl.json
expect_contains crawl.json '"appended"'
"$QF" data show --store quantfarm.h5 --symbol BTCUSDT --timeframe 1m --json > /dev/null 2>&1 ||
  fail "the crawled bars are not in the store"
# The seed's historical: a JSON body on GET.
expect_2xx GET /api/tickscrawler/historical \
  '{"symbol": "BTCUSDT", "start_date": "2000-01-01", "end_date": "2100-01-01", "interval": "1m"}' hist.json
"$PY" -c "import json; j = json.load(open('hist.json')); assert len(j['bars']) > 0, j" ||
  fail "historical from a GET body returned no bars: $(head -c 300 hist.json)"
# The seed's stream, listed, then stopped.
expect_2xx POST /api/tickscrawler/stream \
  '{"source": "binance", "symbols": ["BTCUSDT"], "stream_type": "trades"}' stream.json
id=$("$PY" -c "import json; print(json.load(open('stream.json'))['stream_id'])")
for _ in $(seq 1 100); do
  curl -s "$url/api/tickscrawler/streams" > streams.json
  [ "$("$PY" -c "import json; print(sum(s['messages'] for s in json.load(open('streams.json'))['streams']))")" -gt 0 ] && break
  sleep 0.1
done
[ "$("$PY" -c "import json; print(sum(s['messages'] for s in json.load(open('streams.json'))['streams']))")" -gt 0 ] ||
  fail "the stream received no message: $(cat streams.json)"
expect_2xx POST /api/tickscrawler/stream/stop "{\"stream_id\": \"$id\"}" stop.json
curl -s -X POST "$url/api/cluster/shutdown" > /dev/null
wait "$PID" || { cat serve.out >&2; fail "serve did not exit cleanly"; }
echo "seed_tickscrawler_test: ok"
