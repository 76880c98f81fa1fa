#!/bin/bash
# `mpirun -np 3 quantfarm serve` with the market-data connectors pointed at
# tests/serve/replay_server.py: crawls from binance (klines, trades), yahoo and
# alpha_vantage land in the store; the source's 429 (retried once when Retry-After
# fits TICKSCRAWLER_TIMEOUT, else passed on), 500, malformed payload, a slow source
# and a closed port are answers that change nothing; the keys never appear in serve's
# log or in any answer, and are sent to the sources. Yahoo is served over https (a
# second replay server with a self-signed certificate that SSL_CERT_FILE trusts).
source "$(dirname "$0")/cli_test_lib.sh"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPLAY="$HERE/../serve/replay_server.py"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem > /dev/null 2>&1 ||
  fail "openssl could not make a test certificate"
/usr/bin/python3 "$REPLAY" --port-file replay.port --log replay.log &
replay=$!
/usr/bin/python3 "$REPLAY" --port-file tls.port --log tls.log --tls-cert cert.pem \
  --tls-key key.pem &
tls_replay=$!
pid=""
trap 'kill $replay $tls_replay 2> /dev/null || true; [ -n "$pid" ] && kill $pid 2> /dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s replay.port ] && [ -s tls.port ] && break; sleep 0.05; done
rport=$(cat replay.port)
tport=$(cat tls.port)
closed=$(free_port)

"$QF" data synth --store quantfarm.h5 --symbols 3 --bars 50 --seed 3 > /dev/null
export BINANCE_BASE_URL="http://127.0.0.1:$rport" YAHOO_FINANCE_BASE_URL="https://127.0.0.1:$tport"
export SSL_CERT_FILE="$WORK/cert.pem"
export ALPHA_VANTAGE_BASE_URL="http://127.0.0.1:$rport"
export BINANCE_API_KEY="bk-$RANDOM-unique-binance-key" BINANCE_API_SECRET="bs-$RANDOM-unique-secret"
export ALPHA_VANTAGE_API_KEY="av-$RANDOM-unique-alpha-key"
export TICKSCRAWLER_TIMEOUT=2 TICKSCRAWLER_MAX_CRAWLS=2 QUANTFARM_STORE="$WORK/quantfarm.h5"
port=$(free_port)
url="http://127.0.0.1:$port"
timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp \
  --mca btl_tcp_if_include lo -x BINANCE_BASE_URL -x YAHOO_FINANCE_BASE_URL \
  -x ALPHA_VANTAGE_BASE_URL -x BINANCE_API_KEY -x BINANCE_API_SECRET -x ALPHA_VANTAGE_API_KEY \
  -x TICKSCRAWLER_TIMEOUT -x TICKSCRAWLER_MAX_CRAWLS -x QUANTFARM_STORE -x SSL_CERT_FILE \
  -np 3 "$QF" serve --port "$port" --store "$WORK/quantfarm.h5" > serve.out 2>&1 &
pid=$!
wait_serve "$url" "$pid" serve.out

crawl() {  # crawl BODY -> prints the status code, body in crawl.json
  curl -s -o crawl.json -w '%{http_code}' -X POST "$url/api/tickscrawler/crawl" -d "$1"
  cat crawl.json >> answers.txt
}
curl -sf "$url/api/tickscrawler/sources" > sources.json
cat sources.json >> answers.txt
expect_contains sources.json '"name":"binance","available":true'
expect_contains sources.json '"name":"alpha_vantage","available":true'

[ "$(crawl '{"source_id": "binance", "symbols": ["BTCUSDT"], "data_type": "ohlc", "limit": 5, "interval": "1m"}')" = 200 ] || fail "binance klines: $(cat crawl.json)"
expect_contains crawl.json '"appended":5'
"$QF" data show --store quantfarm.h5 --symbol BTCUSDT --timeframe 1m --all > btc.csv 2>&1 || { cat btc.csv; fail "data show"; }
[ "$(grep -c '^2024-01-01' btc.csv)" = 5 ] || { cat btc.csv; fail "5 BTCUSDT bars expected"; }
# Again with more: the 5 stored ones are dropped, 3 appended.
[ "$(crawl '{"source_id": "binance", "symbols": ["BTCUSDT"], "limit": 8, "interval": "1m"}')" = 200 ] || fail "binance again"
expect_contains crawl.json '"appended":3,"dropped":5'
[ "$(crawl '{"source_id": "binance", "symbols": ["ETHUSDT"], "data_type": "trades", "limit": 4}')" = 200 ] || fail "trades: $(cat crawl.json)"
expect_contains crawl.json '"appended":4'
[ "$(crawl '{"source_id": "yahoo", "symbols": ["AAPL"], "interval": "1d"}')" = 200 ] || fail "yahoo: $(cat crawl.json)"
expect_contains crawl.json '"appended":4'  # 5 bars, one of nulls
expect_contains tls.log '/v8/finance/chart/AAPL'  # over https
[ "$(crawl '{"source_id": "alpha_vantage", "symbols": ["IBM"], "interval": "1d"}')" = 200 ] || fail "alpha: $(cat crawl.json)"
expect_contains crawl.json '"appended":5'
[ "$(crawl '{"source_id": "alpha_vantage", "symbols": ["IBM"], "interval": "5m"}')" = 200 ] || fail "alpha intraday: $(cat crawl.json)"
curl -sf "$url/api/tickscrawler/historical?symbol=IBM&start_date=2024-01-01&end_date=2024-01-31" > hist.json
expect_contains hist.json '"count":5'

# Failures: answers, nothing written.
cp quantfarm.h5 before.h5
[ "$(crawl '{"source_id": "binance", "symbols": ["RETRYONCE"], "limit": 2, "interval": "1m"}')" = 200 ] || fail "429 once then retried: $(cat crawl.json)"
cp quantfarm.h5 before.h5
code=$(curl -s -D headers.txt -o crawl.json -w '%{http_code}' -X POST "$url/api/tickscrawler/crawl" \
  -d '{"source_id": "binance", "symbols": ["RATELIMIT"], "interval": "1m"}')
cat crawl.json >> answers.txt
[ "$code" = 429 ] || fail "rate limit: $code $(cat crawl.json)"
grep -qi '^retry-after: 30' headers.txt || { cat headers.txt; fail "no Retry-After"; }
[ "$(crawl '{"source_id": "binance", "symbols": ["FAIL500"], "interval": "1m"}')" = 502 ] || fail "500"
[ "$(crawl '{"source_id": "binance", "symbols": ["BTCUSDT", "BROKEN"], "interval": "1m", "limit": 20}')" = 502 ] || fail "malformed"
expect_contains crawl.json 'bad_source_payload'
[ "$(crawl '{"source_id": "yahoo", "symbols": ["SLOW"]}')" = 502 ] || fail "slow: $(cat crawl.json)"
expect_contains crawl.json 'timed out'
[ "$(crawl '{"source_id": "alpha_vantage", "symbols": ["NOTE"]}')" = 429 ] || fail "alpha note"
cmp -s quantfarm.h5 before.h5 || fail "a failed crawl changed the store"
curl -sf "$url/api/tickscrawler/status" >> answers.txt
kill $pid; wait $pid 2> /dev/null || true

# Server down: a closed port.
export BINANCE_BASE_URL="http://127.0.0.1:$closed"
port=$(free_port); url="http://127.0.0.1:$port"
timeout 120 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader -x BINANCE_BASE_URL \
  -x BINANCE_API_KEY -x TICKSCRAWLER_TIMEOUT -np 2 "$QF" serve --port "$port" \
  --store "$WORK/quantfarm.h5" >> serve.out 2>&1 &
pid=$!
wait_serve "$url" "$pid" serve.out
[ "$(crawl '{"source_id": "binance", "symbols": ["BTCUSDT"], "interval": "1m"}')" = 502 ] || fail "closed port: $(cat crawl.json)"
expect_contains crawl.json "127.0.0.1:$closed"
expect_contains crawl.json "source_unreachable"
kill $pid; wait $pid 2> /dev/null || true
cmp -s quantfarm.h5 before.h5 || fail "the store changed"

# Keys: sent to the sources, never in the log or an answer.
grep -q "$BINANCE_API_KEY" replay.log || fail "binance key not sent"
grep -q "$ALPHA_VANTAGE_API_KEY" replay.log || fail "alpha vantage key not sent"
for key in "$BINANCE_API_KEY" "$BINANCE_API_SECRET" "$ALPHA_VANTAGE_API_KEY"; do
  grep -q -- "$key" serve.out && fail "a key is in serve's log"
  grep -q -- "$key" answers.txt && fail "a key is in an answer"
done
echo "connectors_test: ok"
