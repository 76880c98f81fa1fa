#!/usr/bin/env bash
# Faults of the serving cluster under load, with `mpirun --enable-recovery`, over the
# shared-memory transport and over TCP alone (`--mca btl self,tcp`, as between nodes):
#  - SIGKILL of worker rank 1 (holding replicas and search tasks) while wrk loads the
#    screener and a search runs: the loss is logged within 2 s, every wrk answer is 200
#    or 503 (none hangs: no wrk timeout), the lost replicas run again on the live worker
#    and /health is healthy within 5 s, the search ends bit-identical to the CLI's, and
#    shutdown drains and every rank exits 0 within 20 s (the survivors skip MPI_Finalize);
#  - SIGKILL of rank 0 while a search runs: every other process exits within 5 s, the
#    registry passes PRAGMA integrity_check, and a restarted cluster shows the search
#    interrupted and resumes it over REST bit-identically.
# Usage: cluster_recovery_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
command -v wrk > /dev/null || fail "wrk is not installed: run scripts/install-deps.sh"

"$QF" data synth --store data.h5 --symbols 3 --bars 20000 --seed 11 > /dev/null
cat > long.json <<'JSON'
{"search": "ga", "strategy": "macd_signal", "symbols": ["AAA", "BBB"], "store": "data.h5",
 "split": {"in_sample": 0.7}, "fitness": {"aggregate": "mean_plus_min", "min_trades": 3},
 "seed": 13, "population_size": 64, "num_generations": 80, "islands": 2}
JSON
"$QF" search --config long.json --out reference.h5 --registry cli.db --quiet > /dev/null 2>&1 ||
  fail "the CLI reference run failed"
cat > codes.lua <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function response(status, headers, body)
  local key = tostring(status)
  if status == 503 and headers["Retry-After"] then key = "503+Retry-After" end
  codes[key] = (codes[key] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("codes")) do io.write("status ", code, " ", n, "\n") end
  end
end
LUA
{ cat codes.lua; echo 'wrk.method = "POST"'; echo 'wrk.body = '"'"'{"limit": 5}'"'"; } > post_codes.lua

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rank_pid() {  # rank_pid PORT RANK: the pid of world rank RANK of the cluster on PORT
  local p
  for p in $(pgrep -f -- "serve --port $1 "); do
    if { tr "\0" "\n" < "/proc/$p/environ"; } 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
ranks_alive() {  # ranks_alive PORT: how many processes of the cluster on PORT remain
  local p n=0
  for p in $(pgrep -f -- "serve --port $1 "); do
    { tr "\0" "\n" < "/proc/$p/environ"; } 2> /dev/null | grep -q "^OMPI_COMM_WORLD_RANK=" && n=$((n + 1))
  done
  echo "$n"
}
post() {  # post URL PATH BODY OUT: prints the status code
  curl -s -o "$4" -w '%{http_code}' -X POST --data-binary "$3" "$1$2"
}
status_of() {  # status_of URL NAME
  curl -s "$1/experiments/$2" | /usr/bin/python3 -c "import json, sys; print(json.load(sys.stdin).get('status'))"
}
wait_finished() {  # wait_finished URL NAME LOG STATUS
  for _ in $(seq 1 1200); do
    [ "$(status_of "$1" "$2")" = "$4" ] && return 0
    sleep 0.1
  done
  cat "$3" >&2
  fail "$2 not $4 within 120 s"
}
start_cluster() {  # start_cluster LOG: 3 ranks on $port with $MPIRUN and $tag; sets pid
  "${MPIRUN[@]}" -np 3 "$QF" serve --port "$port" --store data.h5 --registry "reg-$tag.db" \
    --results-dir "results-$tag" > "$1" 2>&1 &
  pid=$!
  wait_serve "$url" "$pid" "$1"
}
exited_within() {  # exited_within PID LOG SECONDS: waits for PID, failing if it outlives SECONDS
  local i
  for i in $(seq 1 $(( $3 * 10 ))); do
    kill -0 "$1" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2> /dev/null; then
    cat "$2" >&2
    ps -ef | grep -E "[q]uantfarm serve|[m]pirun" >&2 || true
    fail "$tag: serve still running $3 s after shutdown"
  fi
  rc=0
  wait "$1" || rc=$?
}
body() {  # body NAME: long.json named NAME
  /usr/bin/python3 -c "import json; c = json.load(open('long.json')); c['name'] = '$1'; print(json.dumps(c))"
}

for btl in self,vader,tcp self,tcp; do
  tag=${btl//,/-}
  MPIRUN=(timeout 300 mpirun --allow-run-as-root --oversubscribe --enable-recovery
          --mca btl "$btl" --mca btl_tcp_if_include lo)
  # --- a dead worker under load ---
  port=$(free_port)
  url="http://127.0.0.1:$port"
  start_cluster "serve-$tag.out"
  [ "$(post "$url" /search/ga "$(body w)" p.json)" = 202 ] || { cat p.json; fail "POST w"; }
  wrk -t1 -c8 -d8s --timeout 2s -s codes.lua "$url/api/screener/status" > "wrk-$tag.txt" 2>&1 &
  wrk_pid=$!
  wrk -t1 -c8 -d8s --timeout 2s -s post_codes.lua "$url/api/screener/screen" > "wrk-post-$tag.txt" 2>&1 &
  wrk_post_pid=$!
  # The kill lands mid-search, wherever the load puts step 5 of 80.
  for _ in $(seq 1 1200); do
    grep -q "search 'w': step 5/" "serve-$tag.out" && break
    sleep 0.05
  done
  [ "$(status_of "$url" w)" = running ] || fail "$tag: the search ended before the kill"
  victim=$(rank_pid "$port" 1) || fail "$tag: no process of rank 1"
  kill -9 "$victim"
  killed=$(now_ms)
  detected=""
  healthy=""
  for _ in $(seq 1 200); do
    if [ -z "$detected" ] && grep -q "rank 1 lost" "serve-$tag.out"; then detected=$(( $(now_ms) - killed )); fi
    if [ -n "$detected" ] && [ -z "$healthy" ] &&
       curl -s "$url/status" | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)
names = [w['name'] for w in s['workers']]
assert 'rank 1' not in names and 'rank 1' in s['lost_workers'], names
assert all(v['replicas'] >= 1 for v in s['services'].values()), s['services']" 2> /dev/null &&
       curl -s "$url/health" | grep -q '"status":"healthy"'; then
      healthy=$(( $(now_ms) - killed ))
    fi
    [ -n "$healthy" ] && break
    sleep 0.05
  done
  [ -n "$detected" ] || { cat "serve-$tag.out" >&2; fail "$tag: the lost worker was not detected"; }
  [ "$detected" -le 2000 ] || fail "$tag: loss detected after $detected ms (> 2000)"
  [ -n "$healthy" ] && [ "$healthy" -le 5000 ] ||
    { cat "serve-$tag.out" >&2; fail "$tag: not healthy again within 5 s (${healthy:-never})"; }
  wait "$wrk_pid" || true
  wait "$wrk_post_pid" || true
  for w in "wrk-$tag.txt" "wrk-post-$tag.txt"; do
    grep -q "^status 200 " "$w" || { cat "$w"; fail "$tag: $w: no 200"; }
    # 200, or 503 with Retry-After for a request the lost worker held (GETs retried).
    if grep "^status " "$w" | grep -vq "^status \(200\|503+Retry-After\) "; then
      cat "$w"; fail "$tag: $w: answers other than 200 and 503 with Retry-After under the fault"
    fi
    if grep -q "timeout [1-9]" "$w"; then cat "$w"; fail "$tag: $w: requests hung"; fi
  done
  requeued=$(grep -o "rank 1 lost .* \([0-9]*\) search task(s) requeued" "serve-$tag.out" | grep -o '[0-9]* search' | grep -o '[0-9]*')
  [ "${requeued:-0}" -ge 1 ] || { cat "serve-$tag.out" >&2; fail "$tag: no search task of the lost worker was requeued"; }
  wait_finished "$url" w "serve-$tag.out" finished
  same_search reference.h5 "results-$tag/w.h5"
  "$QF" ctl --url "$url" shutdown > /dev/null
  exited_within "$pid" "serve-$tag.out" 20
  [ "$rc" -eq 0 ] || { cat "serve-$tag.out" >&2; fail "$tag: serve exited $rc after a lost worker"; }
  echo "$tag: worker killed under load: detected in $detected ms, healthy again in $healthy ms," \
    "$requeued task(s) requeued; GET: $(grep '^status' "wrk-$tag.txt" | tr '\n' ' ')POST: $(grep '^status' "wrk-post-$tag.txt" | tr '\n' ' ')search bit-identical, exit 0"

  # --- a dead head ---
  port=$(free_port)
  url="http://127.0.0.1:$port"
  start_cluster "head-$tag.out"
  [ "$(post "$url" /search/ga "$(body h)" p.json)" = 202 ] || { cat p.json; fail "POST h"; }
  for _ in $(seq 1 200); do
    grep -q "search 'h': step 3/" "head-$tag.out" && break
    sleep 0.05
  done
  head=$(rank_pid "$port" 0) || fail "$tag: no process of rank 0"
  kill -9 "$head"
  killed=$(now_ms)
  for _ in $(seq 1 100); do
    [ "$(ranks_alive "$port")" -eq 0 ] && break
    sleep 0.1
  done
  gone=$(( $(now_ms) - killed ))
  [ "$(ranks_alive "$port")" -eq 0 ] || fail "$tag: $(ranks_alive "$port") process(es) left 10 s after the head died"
  [ "$gone" -le 5000 ] || fail "$tag: the other ranks took $gone ms to exit (> 5000)"
  wait "$pid" || true
  /usr/bin/python3 -c "import sqlite3; r = sqlite3.connect('reg-$tag.db').execute('PRAGMA integrity_check').fetchone()[0]; assert r == 'ok', r" ||
    fail "$tag: the registry is damaged"
  start_cluster "restart-$tag.out"
  [ "$(status_of "$url" h)" = interrupted ] || { cat "restart-$tag.out"; fail "$tag: h is not interrupted after the restart"; }
  expect_contains "restart-$tag.out" "experiment 'h' was running when the last head stopped"
  [ "$(post "$url" /search/ga '{"name": "h", "resume": true}' p.json)" = 202 ] || { cat p.json; fail "$tag: resume h"; }
  wait_finished "$url" h "restart-$tag.out" finished
  same_search reference.h5 "results-$tag/h.h5"
  "$QF" ctl --url "$url" shutdown > /dev/null
  exited_within "$pid" "restart-$tag.out" 20
  [ "$rc" -eq 0 ] || { cat "restart-$tag.out" >&2; fail "$tag: restarted serve exited $rc"; }
  echo "$tag: head killed: the other ranks gone in $gone ms, registry intact, resumed over REST bit-identically"
done
echo "PASS"
