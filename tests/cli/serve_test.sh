#!/usr/bin/env bash
# `mpirun -np 2 quantfarm serve`: rank 0 routes HTTP requests to service replicas on
# rank 1; real curl and wrk against the real server. Checks the head's own endpoints,
# a request through a replica, the router's errors, autoscaling under a sustained load
# (a spawned worker appears in /status, and is released after the load ends, with no
# failed request), scaling with `quantfarm ctl`, and a graceful shutdown (exit code 0).
# Usage: serve_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo)
command -v wrk > /dev/null || fail "wrk is not installed: run scripts/install-deps.sh"

"$QF" data synth --store quantfarm.h5 --symbols 6 --bars 1000 --seed 3 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
# Scale screener up when more than one request is under way for 0.5 s; back down after
# 1 s without; empty spawned workers go 10 s (the default) after that. --slots 3: mpirun
# gives this 2-core machine 2 slots, both taken by the job; one more may be spawned.
export SCREENER_TARGET_REQUESTS=1 SCREENER_SCALE_UP_DELAY=0.5 SCREENER_SCALE_DOWN_DELAY=1
export SCREENER_MAX_REPLICAS=4
"${MPIRUN[@]}" -x SCREENER_TARGET_REQUESTS -x SCREENER_SCALE_UP_DELAY \
  -x SCREENER_SCALE_DOWN_DELAY -x SCREENER_MAX_REPLICAS -np 2 "$QF" serve --port "$port" \
  --replicas-per-worker 4 --slots 3 > serve.out 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  curl -sf "$url/health" > health.json 2> /dev/null && break
  kill -0 "$pid" 2> /dev/null || { cat serve.out >&2; fail "serve exited at start-up"; }
  sleep 0.05
done
expect_contains health.json '"status":"healthy"'
spawned() { curl -sf "$url/status" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin)['spawned_workers'])"; }
[ "$(spawned)" -eq 0 ] || fail "a worker was spawned before any load"

# Through a replica on rank 1.
curl -sf -X POST "$url/api/screener/screen" -d '{"limit": 2}' > screen.json
/usr/bin/python3 -c "import json; r = json.load(open('screen.json')); assert r['count'] == 2, r"
# The router's own errors.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$url/nope")" = 404 ] || fail "unknown route is not 404"
[ "$(code -X DELETE "$url/health")" = 405 ] || fail "wrong method is not 405"
[ "$(code -X POST "$url/api/screener/screen" -d '{"limit": ')" = 400 ] || fail "malformed JSON is not 400"
[ "$(code -X POST "$url/api/cluster/scale" -d '{"service": "nope", "replicas": 2}')" = 400 ] ||
  fail "scaling an unknown service is not 400"

# A sustained load (48 connections: enough requests under way at every autoscaler tick
# now that a screen takes tens of microseconds): the screener scales up beyond rank 1's
# room, so a worker is spawned.
cat > screen.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"limit": 5, "sort": {"field": "market_cap", "order": "desc"}}'
LUA
start=$(date +%s%N)
wrk -t 2 -c 48 -d 6s -s screen.lua "$url/api/screener/screen" > load.txt &
wrk_pid=$!
up_ms=""
for _ in $(seq 1 120); do
  if [ "$(spawned)" -ge 1 ]; then up_ms=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
  sleep 0.05
done
wait "$wrk_pid"
[ -n "$up_ms" ] || { cat serve.out load.txt >&2; fail "no worker spawned under load"; }
if grep -q "Non-2xx\|Socket errors" load.txt; then cat load.txt >&2; fail "requests failed during the load"; fi
echo "under load: a spawned worker appeared in /status after ${up_ms} ms;" \
  "$(grep 'Requests/sec' load.txt | tr -s ' ')"
expect_contains serve.out "spawned worker 'spawned 1'"
# After the load: replicas drained and the spawned worker released (<= 1 s + 10 s + slack).
for _ in $(seq 1 300); do
  [ "$(spawned)" -eq 0 ] && break
  sleep 0.1
done
[ "$(spawned)" -eq 0 ] || { cat serve.out >&2; fail "the spawned worker was not released"; }
expect_contains serve.out "released worker 'spawned 1'"
curl -sf -X POST "$url/api/screener/screen" -d '{"limit": 1}' > /dev/null || fail "no answer after scaling down"

# Metrics in Prometheus text format.
curl -sf "$url/metrics" > metrics.txt
expect_contains metrics.txt 'quantfarm_http_requests_total{route="/api/screener/screen",method="POST",code="200"}'
expect_contains metrics.txt 'quantfarm_service_replicas{service="screener"}'

# quantfarm ctl: scale by command (a replica more, then back), errors exit 1.
# The new replica starts asynchronously (on a spawned worker when rank 1 is full).
"$QF" ctl --url "$url" scale tickscrawler 2 > /dev/null
for _ in $(seq 1 100); do
  "$QF" ctl --url "$url" status > status.json
  /usr/bin/python3 -c "import json, sys; s = json.load(open('status.json'))
sys.exit(s['services']['tickscrawler']['replicas'] != 2)" && break
  sleep 0.1
done
/usr/bin/python3 -c "import json; s = json.load(open('status.json'))
assert s['services']['tickscrawler']['replicas'] == 2, s"
expect_failure ctl.err "$QF" ctl --url "$url" scale nope 2
expect_contains ctl.err "no service 'nope'"
expect_failure ctl.err "$QF" ctl --url "http://127.0.0.1:1" status
expect_contains ctl.err "Connection refused"

# Graceful shutdown by `ctl shutdown`: exit code 0, every process gone.
"$QF" ctl --url "$url" shutdown > /dev/null
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat serve.out >&2; fail "serve exited with $rc"; }
expect_contains serve.out "quantfarm serve: stopped (0 request(s) unanswered)"

# Start-up errors: one clear message, every rank ends (no mpirun --enable-recovery here:
# with it mpirun exits 0 whatever the ranks return).
PLAIN=(timeout 60 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader)
echo '{"screener": {"max_replicas": 50}}' > autoscaling.json
expect_failure bad.err "${PLAIN[@]}" -np 2 "$QF" serve --port 0 --autoscaling autoscaling.json
expect_contains bad.err "autoscaling: screener: max_replicas must be in"
# A port of its own: the one just used may still have connections in TIME_WAIT.
/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()
open('held.port.tmp', 'w').write(str(s.getsockname()[1])); __import__('os').rename('held.port.tmp', 'held.port')
time.sleep(20)" &
holder=$!
for _ in $(seq 1 100); do [ -s held.port ] && break; sleep 0.05; done
held=$(cat held.port)
expect_failure busy.err "${PLAIN[@]}" -np 2 "$QF" serve --port "$held"
expect_contains busy.err "$held"
kill "$holder"

# QUANTFARM_API_TOKEN: mutating routes need the bearer token, reads stay open.
QUANTFARM_API_TOKEN=s3cret "${MPIRUN[@]}" -x QUANTFARM_API_TOKEN -np 2 "$QF" serve \
  --port "$port" > token.out 2>&1 &
pid=$!
for _ in $(seq 1 200); do curl -sf "$url/health" > /dev/null 2>&1 && break; sleep 0.05; done
[ "$(code -X POST "$url/api/screener/screen" -d '{}')" = 401 ] || fail "POST without a token is not 401"
[ "$(code -H 'Authorization: Bearer wrong' -X POST "$url/api/screener/screen" -d '{}')" = 401 ] ||
  fail "POST with a wrong token is not 401"
[ "$(code -H 'Authorization: Bearer s3cret' -X POST "$url/api/screener/screen" -d '{}')" = 200 ] ||
  fail "POST with the token is not 200"
[ "$(code "$url/api/screener/status")" = 200 ] || fail "GET needs no token"
expect_failure ctl.err "$QF" ctl --url "$url" shutdown
QUANTFARM_API_TOKEN=s3cret "$QF" ctl --url "$url" shutdown > /dev/null
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || { cat token.out >&2; fail "serve with a token exited with $rc"; }
echo "PASS"
