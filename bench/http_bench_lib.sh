# Shared pieces of the HTTP side-by-side benchmarks (bench/serve_vs_fastapi.sh,
# bench/ensemble_vs_fastapi.sh): sourced by bash, defines functions only.
#
# The sourcing script sets, before calling them:
#   bench_name   prefix of error messages ("serve_vs_fastapi")
#   python       the Python interpreter (/usr/bin/python3)
#   work         its temporary directory
#   quiet_busy, quiet_wait   wait_quiet: < quiet_busy % busy, waiting quiet_wait s at most
#   foreign_max  run_measured: redo a run during which other processes used more than
#                this % of the machine (twice at most)
#   qf_pid, qf_url, peer_pids   the servers stop_servers stops (may be empty)
# and gets the globals worst_busy, waited (wait_quiet), worst_foreign, redone
# (run_measured).

die() { echo "$bench_name: $*" >&2; exit 1; }

# stop_servers: quantfarm through /api/cluster/shutdown (killed after 15 s), the peers
# with SIGTERM (SIGKILL after 10 s).
stop_servers() {
  if [ -n "$qf_pid" ] && kill -0 "$qf_pid" 2> /dev/null; then
    curl -s -m 5 -X POST "$qf_url/api/cluster/shutdown" > /dev/null 2>&1 || true
    for _ in $(seq 1 150); do kill -0 "$qf_pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$qf_pid" 2> /dev/null && kill "$qf_pid" 2> /dev/null
    wait "$qf_pid" 2> /dev/null || true
  fi
  qf_pid=""
  for pid in "${peer_pids[@]}"; do
    kill "$pid" 2> /dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && kill -9 "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null || true
  done
  peer_pids=()
}

free_port() {
  "$python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

wait_up() {  # wait_up URL PID LOG: /health answers within 30 s, or fail
  for _ in $(seq 1 300); do
    curl -sf -m 2 "$1/health" > /dev/null 2>&1 && return 0
    kill -0 "$2" 2> /dev/null || { cat "$3" >&2; die "server exited at start-up ($3)"; }
    sleep 0.1
  done
  cat "$3" >&2
  die "no answer from $1/health after 30 s"
}

busy_percent() {  # busy share of all cores over 0.5 s, in percent
  local a b
  read -r -a a < /proc/stat; sleep 0.5; read -r -a b < /proc/stat
  local idle=$(( b[4] + b[5] - a[4] - a[5] )) total=0 k
  for k in 1 2 3 4 5 6 7 8; do total=$(( total + b[k] - a[k] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

worst_busy=0
waited=0
wait_quiet() {  # until the cores are < quiet_busy % busy, quiet_wait s at most
  local start=$SECONDS busy
  while :; do
    busy=$(busy_percent)
    if [ "$busy" -lt "$quiet_busy" ] || [ $((SECONDS - start)) -ge "$quiet_wait" ]; then break; fi
    sleep 1
  done
  waited=$((waited + SECONDS - start))
  [ "$busy" -gt "$worst_busy" ] && worst_busy=$busy
  return 0
}

# write_cpu_py: $work/cpu.py PID prints "total_jiffies foreign_jiffies" at one instant:
# the CPU used by processes that are not PID's (other jobs on a shared machine), that
# is all user + system time minus that of PID, its descendants and their reaped
# children.
write_cpu_py() {
  cat > "$work/cpu.py" << 'PY'
import os, sys
me = int(sys.argv[1])
cpu = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
total, busy = sum(cpu), cpu[0] + cpu[1] + cpu[2]  # user nice system (not irq, softirq)
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))  # ppid, u+s+cu+cs
def ours(pid):
    while pid > 1:
        if pid == me:
            return True
        pid = procs.get(pid, (0, 0))[0]
    return False
print(total, busy - sum(t for pid, (_, t) in procs.items() if ours(pid)))
PY
}

worst_foreign=0
redone=0
# run_measured COMMAND...: a timed run (COMMAND, e.g. the script's run_wrk with its
# arguments) after wait_quiet; redone (twice at most) when other processes used more
# than $foreign_max % of the machine during it. Needs write_cpu_py first.
run_measured() {
  local attempt a b share
  for attempt in 1 2 3; do
    wait_quiet
    a=($("$python" "$work/cpu.py" $$))
    "$@"
    b=($("$python" "$work/cpu.py" $$))
    share=$(( (b[0] > a[0]) ? 100 * (b[1] - a[1]) / (b[0] - a[0]) : 0 ))
    [ "$share" -lt 0 ] && share=0
    if [ "$share" -le "$foreign_max" ] || [ "$attempt" -eq 3 ]; then break; fi
    redone=$((redone + 1))
  done
  [ "$share" -gt "$worst_foreign" ] && worst_foreign=$share
  return 0
}

print_quiet_summary() {  # the load and foreign-CPU line printed after the timed runs
  echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg); other processes' CPU during a" \
    "kept run: at most ${worst_foreign}% of the machine (runs redone above ${foreign_max}%:" \
    "${redone}); busy before a run: at most ${worst_busy}% (waited ${waited} s for < ${quiet_busy}%)"
}

peer_versions() {  # sets fastapi_v, uvicorn_v and impl ("uvloop + httptools", ...)
  fastapi_v=$("$python" -c "import fastapi; print(fastapi.__version__)")
  uvicorn_v=$("$python" -c "import uvicorn; print(uvicorn.__version__)")
  impl=$("$python" -c "
import importlib.util as u
print(('uvloop' if u.find_spec('uvloop') else 'asyncio') + ' + ' + ('httptools' if u.find_spec('httptools') else 'h11'))")
}
