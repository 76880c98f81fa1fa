#!/usr/bin/env bash
# A real Prometheus scrapes `mpirun -np 2 quantfarm serve`'s /metrics: its target
# turns up, the count of screen requests read through Prometheus's own query API
# advances by at least the N requests sent with curl, and the replica gauges are
# visible there too. Then Prometheus and serve stop (serve gracefully, exit 0).
# Prometheus runs with its own config, port and data directory in the test's temporary
# directory (never the Debian service's).
# Usage: prometheus_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
PY=/usr/bin/python3
PROMETHEUS=/usr/bin/prometheus
[ -x "$PROMETHEUS" ] || fail "prometheus is not installed: run scripts/install-deps.sh"
MPIRUN=(timeout 180 mpirun --allow-run-as-root --oversubscribe --mca btl self,vader,tcp
        --mca btl_tcp_if_include lo --mca mpi_yield_when_idle 1)
N=25  # screen requests sent while Prometheus watches

serve_pid="" prom_pid=""
cleanup() {  # stops what this test started, by pid
  for pid in "$prom_pid" "$serve_pid"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null || true
  done
  for pid in "$prom_pid" "$serve_pid"; do
    [ -z "$pid" ] && continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
dump_logs() { echo "--- serve.out" >&2; tail -n 20 serve.out >&2; echo "--- prometheus.log" >&2; tail -n 20 prometheus.log >&2; }

"$QF" data synth --store quantfarm.h5 --symbols 6 --bars 1000 --seed 3 > /dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
"${MPIRUN[@]}" -np 2 "$QF" serve --port "$port" > serve.out 2>&1 &
serve_pid=$!
wait_serve "$url" "$serve_pid" serve.out
# One screen request first, so the series exists before Prometheus's first scrape.
curl -sf -X POST "$url/api/screener/screen" -d '{"limit": 5}' > /dev/null ||
  fail "a screen request failed"

prom_port=$(free_port)
prom="http://127.0.0.1:$prom_port"
cat > prometheus.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: quantfarm
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
"$PROMETHEUS" --config.file=prometheus.yml --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn > prometheus.log 2>&1 &
prom_pid=$!

# query EXPR: prints the value of the instant query's first sample, "none" when the
# result is empty, "error" when Prometheus does not answer.
query() {
  curl -sf --max-time 5 -G "$prom/api/v1/query" --data-urlencode "query=$1" 2> /dev/null |
    "$PY" -c "import json, sys
r = json.load(sys.stdin)
assert r['status'] == 'success', r
res = r['data']['result']
print(res[0]['value'][1] if res else 'none')" 2> /dev/null || echo error
}
# wait_for SECONDS CMD...: runs CMD every 0.25 s until it succeeds, at most SECONDS.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    kill -0 "$prom_pid" 2> /dev/null || { dump_logs; fail "prometheus exited"; }
    sleep 0.25
  done
}

start=$(date +%s%N)
wait_for 30 curl -sf --max-time 2 "$prom/-/ready" -o /dev/null ||
  { dump_logs; fail "prometheus not ready within 30 s"; }
target_up() {
  curl -sf --max-time 5 "$prom/api/v1/targets" | "$PY" -c "import json, sys
t = json.load(sys.stdin)['data']['activeTargets']
sys.exit(0 if len(t) == 1 and t[0]['health'] == 'up' and
         t[0]['scrapeUrl'] == 'http://127.0.0.1:$port/metrics' else 1)" 2> /dev/null
}
wait_for 20 target_up || { curl -s "$prom/api/v1/targets" >&2; dump_logs; fail "the target is not up within 20 s"; }
[ "$(query 'up{job="quantfarm"}')" = 1 ] || fail "up{job=\"quantfarm\"} is not 1"
up_ms=$(( ($(date +%s%N) - start) / 1000000 ))

SCREEN='sum(quantfarm_http_requests_total{route="/api/screener/screen",method="POST",code="200"})'
seen_screen() { before=$(query "$SCREEN"); [[ "$before" =~ ^[0-9]+$ ]] && [ "$before" -ge 1 ]; }
wait_for 20 seen_screen || { dump_logs; fail "Prometheus never saw the first screen request ($before)"; }
echo "target up after ${up_ms} ms; screen requests seen by Prometheus: $before"

for i in $(seq 1 "$N"); do
  curl -sf --max-time 10 -X POST "$url/api/screener/screen" -d '{"limit": 5}' > /dev/null ||
    fail "screen request $i failed"
done
sent=$(date +%s%N)
advanced() { after=$(query "$SCREEN"); [[ "$after" =~ ^[0-9]+$ ]] && [ "$after" -ge $((before + N)) ]; }
wait_for 20 advanced || { dump_logs; fail "Prometheus's count went from $before to $after, not by $N"; }
echo "after $N requests Prometheus reads $after (seen $(( ($(date +%s%N) - sent) / 1000000 )) ms after the last one)"

# The replica gauges, through Prometheus too.
replicas=$(query 'quantfarm_service_replicas{service="screener",job="quantfarm"}')
[[ "$replicas" =~ ^[0-9]+$ ]] && [ "$replicas" -ge 1 ] ||
  fail "quantfarm_service_replicas{service=\"screener\"} through Prometheus: $replicas"
services=$(query 'count(quantfarm_service_replicas{job="quantfarm"} >= 1)')
[ "$services" = 4 ] || fail "services with replicas through Prometheus: $services (expected 4)"
echo "through Prometheus: screener replicas $replicas, services with replicas $services"

# Stop Prometheus (by pid), then serve gracefully.
kill -TERM "$prom_pid"
for _ in $(seq 1 100); do kill -0 "$prom_pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$prom_pid" 2> /dev/null && fail "prometheus still running 10 s after SIGTERM"
prom_rc=0
wait "$prom_pid" || prom_rc=$?
prom_pid=""
[ "$prom_rc" -eq 0 ] || { dump_logs; fail "prometheus exited with $prom_rc"; }
curl -sf --max-time 10 -X POST "$url/api/cluster/shutdown" > /dev/null || fail "shutdown request failed"
rc=0
wait "$serve_pid" || rc=$?
serve_pid=""
[ "$rc" -eq 0 ] || { cat serve.out >&2; fail "serve exited with $rc"; }
expect_contains serve.out "quantfarm serve: stopped (0 request(s) unanswered)"
echo "PASS"
