#!/usr/bin/env bash
# HttpServer over real sockets: curl for the HTTP behaviours, python3 (stdlib) for slow,
# idle, crowding and malformed clients, then a graceful stop.
# Usage: http_server_test.sh [ECHO_SERVER]; CTest passes the echo server in
# QF_ECHO_SERVER (its first argument is then the quantfarm binary, unused here).
set -euo pipefail

SERVER="$(readlink -f "${QF_ECHO_SERVER:-${1:?usage: http_server_test.sh ECHO_SERVER}}")"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
TOKEN=t0ken-$$
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_contains() {  # expect_contains FILE TEXT
  grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; head -c 3000 "$1" >&2; fail "missing '$2'"; }
}
expect_eq() {  # expect_eq ACTUAL EXPECTED WHAT
  [ "$1" = "$2" ] || { [ -f body ] && head -c 2000 body >&2; fail "$3: got '$1', expected '$2'"; }
}

# start_server LOG ARGS...: starts the echo server; sets PORT and PID.
start_server() {
  local log="$1"; shift
  "$SERVER" "$@" >"$log" 2>"$log.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    grep -q '^port ' "$log" && break
    kill -0 "$PID" 2>/dev/null || fail "server exited: $(cat "$log.err")"
    sleep 0.1
  done
  PORT="$(awk '/^port /{print $2}' "$log")"
  [ -n "$PORT" ] || fail "server did not report its port"
}

# req CURL_ARGS...: prints the status code; the body goes to ./body, headers to ./headers.
req() {
  curl -s -o body -D headers -w '%{http_code}' --max-time 15 "$@" || true
}

start_server main.log --token "$TOKEN" --read-timeout-ms 1000 --idle-timeout-ms 1500 \
  --reply-timeout-ms 1000 --drain-ms 8000
MAIN_PID=$PID
BASE="http://127.0.0.1:$PORT"

echo "== 200 JSON, decoded query"
expect_eq "$(req "$BASE/health")" 200 "GET /health"
grep -qi '^content-type: application/json' headers || fail "no JSON content type"
expect_contains body '{"status":"ok"}'
expect_eq "$(req "$BASE/query?sym=BRK%2EB&words=two+words")" 200 "GET /query"
expect_contains body '"sym":"BRK.B"'
expect_contains body '"words":"two words"'

echo "== 404, 405 + Allow"
expect_eq "$(req "$BASE/nope")" 404 "GET /nope"
expect_contains body '"error":"not_found"'
grep -qi '^content-type: application/json' headers || fail "404 is not JSON"
expect_eq "$(req "$BASE/echo")" 405 "GET /echo"
expect_contains body '"error":"method_not_allowed"'
grep -qi '^allow: POST' headers || fail "405 without Allow: POST"

echo "== 413 for a 2 MiB body"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >big.json
expect_eq "$(req -X POST -H "Authorization: Bearer $TOKEN" --data-binary @big.json \
  "$BASE/echo")" 413 "POST 2 MiB"
expect_contains body '"error":"payload_too_large"'

echo "== 401 without or with a wrong token, 200 with the right one; GET stays open"
expect_eq "$(req -X POST -d '{"a":1}' "$BASE/echo")" 401 "POST without token"
expect_contains body '"error":"unauthorized"'
expect_eq "$(req -X POST -H 'Authorization: Bearer nope' -d '{"a":1}' "$BASE/echo")" 401 \
  "POST with a wrong token"
expect_eq "$(req -X POST -H "Authorization: Bearer $TOKEN" -d '{"a":1}' "$BASE/echo?q=1")" \
  200 "POST with the token"
expect_contains body '"body":"{\"a\":1}"'
expect_contains body '"method":"POST"'
expect_eq "$(req "$BASE/query?open=1")" 200 "GET without token"

echo "== handler errors: 500 on a throw, 504 when never replied, reply from another thread"
expect_eq "$(req "$BASE/throw")" 500 "GET /throw"
expect_contains body '"error":"internal_error"'
expect_eq "$(req "$BASE/never")" 504 "GET /never"
expect_contains body '"error":"timeout"'
expect_eq "$(req "$BASE/slow?ms=300")" 200 "GET /slow"
expect_contains body '"slept_ms":300'

echo "== keep-alive: two requests over one connection"
curl -sv --max-time 15 "$BASE/health" "$BASE/query?second=1" -o first.out -o second.out \
  2>keepalive.log || fail "curl keep-alive"
expect_contains keepalive.log "Re-using existing connection"
expect_contains second.out '"second":"1"'

echo "== slow and idle clients are closed"
"$PY" - "$PORT" <<'PY' || fail "slow/idle client"
import socket, sys, time
port = int(sys.argv[1])
def closed_after(payload, read_first=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    s.sendall(payload)
    start = time.monotonic()
    if read_first:  # a complete request: read its answer, then idle
        data = s.recv(65536)
        assert data.startswith(b"HTTP/1.1 200"), data
        start = time.monotonic()
    rest = s.recv(65536)
    elapsed = time.monotonic() - start
    s.close()
    assert rest == b"", rest
    return elapsed
slow = closed_after(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # half a request
assert 0.7 <= slow <= 4.0, "half a request closed after %.2f s (read timeout 1 s)" % slow
idle = closed_after(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", read_first=True)
assert 1.2 <= idle <= 5.0, "idle keep-alive closed after %.2f s (idle timeout 1.5 s)" % idle
print("slow client closed after %.2f s, idle one after %.2f s" % (slow, idle))
PY

echo "== /metrics"
expect_eq "$(req "$BASE/metrics")" 200 "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' headers || fail "metrics content type"
expect_contains body '# TYPE quantfarm_http_requests_total counter'
expect_contains body 'quantfarm_http_requests_total{route="/health",method="GET",code="200"}'
expect_contains body 'quantfarm_http_requests_total{route="unmatched",method="GET",code="404"} 1'
expect_contains body 'quantfarm_http_requests_total{route="/echo",method="GET",code="405"} 1'
expect_contains body 'quantfarm_http_requests_total{route="invalid",method="other",code="413"} 1'
expect_contains body 'quantfarm_http_requests_total{route="unauthorized",method="POST",code="401"} 2'
expect_contains body 'quantfarm_http_requests_total{route="/never",method="GET",code="504"} 1'
expect_contains body 'quantfarm_http_request_duration_seconds_bucket{route="/slow",le="+Inf"} 1'
expect_contains body 'quantfarm_http_requests_in_flight 1'  # the /metrics request itself

echo "== fuzz: random, truncated and malformed requests"
"$PY" "$HERE/../serve/http_fuzz.py" "$PORT" --seed 20240605 --count 3000 --seconds 25 \
  || fail "fuzz"
kill -0 "$MAIN_PID" 2>/dev/null || fail "server died during the fuzz"
expect_eq "$(req "$BASE/health")" 200 "GET /health after the fuzz"
expect_eq "$(req -X POST -H "Authorization: Bearer $TOKEN" -d '[1,2]' "$BASE/echo")" 200 \
  "POST after the fuzz"

echo "== more connections than allowed get 503"
start_server crowd.log --max-connections 4 --read-timeout-ms 5000
"$PY" - "$PORT" <<'PY' || fail "max connections"
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
extra.settimeout(5)
data = extra.recv(4096)
assert data.startswith(b"HTTP/1.1 503"), data
assert b"Retry-After: 1" in data, data
extra.close()
for s in held:
    s.close()
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.settimeout(5)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = s.recv(4096)
assert data.startswith(b"HTTP/1.1 200"), data
print("fifth connection got 503; after the others closed, 200")
PY

echo "== graceful stop drains a request in flight"
curl -s --max-time 15 -o drained.json -w '%{http_code}' "$BASE/slow?ms=800" >drained.code &
CURL_PID=$!
sleep 0.3
kill -TERM "$MAIN_PID"
wait "$CURL_PID" || true
expect_eq "$(cat drained.code)" 200 "request in flight during stop"
expect_contains drained.json '"slept_ms":800'
for _ in $(seq 100); do kill -0 "$MAIN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MAIN_PID" 2>/dev/null && fail "server still running 10 s after SIGTERM"
wait "$MAIN_PID" || fail "server exited with $?"
expect_contains main.log "stopped in_flight=0"

echo "PASS http_server_test"
