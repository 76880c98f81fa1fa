# A throwaway single-node Slurm for tests; sourced (bash). Needs root and Debian's
# slurm-wlm and munge (scripts/install-deps.sh installs them).
#
#   source tests/slurm/slurm_harness.sh
#   slurm_start            # config in a temp dir, munged if needed, slurmctld, slurmd;
#                          # returns once sinfo shows the node idle (bounded)
#   sbatch ... / squeue ... / scontrol ...   # SLURM_CONF points at the throwaway config
#   slurm_job_state ID     # RUNNING, PENDING, COMPLETED, ... ("" once purged)
#   slurm_stop             # also runs on exit (chained with the caller's EXIT trap)
#
# Nothing under /etc/slurm is read or written: SLURM_CONF names a slurm.conf in
# $SLURM_TEST_DIR, which holds the state, spool, logs and pid files too, and the two
# daemons listen on free ports picked at start, so a Slurm that is already running on
# this machine is not disturbed. slurm_stop cancels the jobs, stops exactly the
# processes the harness started (by pid; a job process that outlived its slurmstepd is
# found by the unique SLURM_CONF in its environment) and removes the temp dir; munged
# is stopped only if the harness started it. Running it twice in a row works.
#
# Tunables (environment): SLURM_TEST_CPUS (default: nproc), SLURM_TEST_KILLWAIT (5 s
# between SIGTERM and SIGKILL), SLURM_TEST_CRED_EXPIRE (10 s; a requeued job may start
# again only after cred_expire + 1 seconds, 120 s by Slurm's default).

_slurm_fail() {
  if declare -F fail > /dev/null; then fail "$@"; fi
  echo "FAIL: $*" >&2
  exit 1
}

_slurm_log() { echo "slurm-harness: $*" >&2; }

# A TCP port nobody listens on, from a random start in [20000, 40000).
_slurm_free_port() {
  local port=$((20000 + (RANDOM * 32768 + RANDOM) % 20000)) used
  used=$(ss -Htan 2> /dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  while grep -qx "$port" <<< "$used" || [ "$port" = "${1:-}" ]; do
    port=$((port + 1))
  done
  echo "$port"
}

_slurm_tail_logs() {
  local f
  for f in "$SLURM_TEST_DIR"/slurmctld.log "$SLURM_TEST_DIR"/slurmd.log \
           "$SLURM_TEST_DIR"/munged.log; do
    [ -s "$f" ] || continue
    echo "--- tail of $f:" >&2
    tail -n 25 "$f" >&2
  done
}

_slurm_check_installed() {
  local missing=() b
  for b in slurmctld slurmd sbatch squeue scontrol sinfo scancel munged munge unmunge; do
    command -v "$b" > /dev/null || [ -x "/usr/sbin/$b" ] || missing+=("$b")
  done
  [ ${#missing[@]} -eq 0 ] ||
    _slurm_fail "Slurm is not installed (missing: ${missing[*]}); run scripts/install-deps.sh" \
      "(Debian packages slurm-wlm munge)"
  [ "$(id -u)" -eq 0 ] || _slurm_fail "the Slurm harness needs root (SlurmUser=root)"
  id munge > /dev/null 2>&1 || _slurm_fail "no 'munge' user: reinstall the munge package"
  [ -r /etc/munge/munge.key ] || _slurm_fail "no /etc/munge/munge.key: reinstall munge"
}

_slurm_munge_ok() { munge -n 2> /dev/null | unmunge > /dev/null 2>&1; }

# munged as the munge user (see ENVIRONMENT.md), only when none answers yet.
_slurm_start_munge() {
  SLURM_TEST_MUNGED_PID=""
  if _slurm_munge_ok; then return 0; fi
  install -d -o munge -g munge -m 0755 /run/munge
  chown munge:munge /var/log/munge /var/lib/munge /etc/munge
  # setpriv execs munged in place, so $! is munged's own pid (su would fork).
  setpriv --reuid=munge --regid=munge --init-groups \
    /usr/sbin/munged --foreground --force > "$SLURM_TEST_DIR/munged.log" 2>&1 &
  SLURM_TEST_MUNGED_PID=$!
  local _
  for _ in $(seq 1 100); do
    _slurm_munge_ok && return 0
    kill -0 "$SLURM_TEST_MUNGED_PID" 2> /dev/null || break
    sleep 0.1
  done
  _slurm_tail_logs
  _slurm_fail "munged did not start (munge -n | unmunge fails)"
}

_slurm_write_conf() {
  local host cpus ctld_port slurmd_port
  host=$(hostname -s)
  cpus=${SLURM_TEST_CPUS:-$(nproc)}
  ctld_port=$(_slurm_free_port)
  slurmd_port=$(_slurm_free_port "$ctld_port")
  mkdir -p "$SLURM_TEST_DIR/state" "$SLURM_TEST_DIR/spool"
  : > "$SLURM_TEST_DIR/plugstack.conf"
  cat > "$SLURM_CONF" <<EOF
# Throwaway single-node Slurm of tests/slurm/slurm_harness.sh; removed after the test.
ClusterName=qftest$$
SlurmctldHost=$host(127.0.0.1)
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=qftest Nodes=$host Default=YES MaxTime=INFINITE State=UP
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=${SLURM_TEST_CRED_EXPIRE:-10}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# Start pending (e.g. requeued) jobs within a second or two, not at the next 30-60 s pass.
SchedulerParameters=sched_interval=1,bf_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
PlugStackConfig=$SLURM_TEST_DIR/plugstack.conf
KillWait=${SLURM_TEST_KILLWAIT:-5}
MinJobAge=600
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$SLURM_TEST_DIR/state
SlurmdSpoolDir=$SLURM_TEST_DIR/spool
SlurmctldPidFile=$SLURM_TEST_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_TEST_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_TEST_DIR/slurmctld.log
SlurmdLogFile=$SLURM_TEST_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
EOF
}

slurm_start() {
  _slurm_check_installed
  SLURM_TEST_DIR=$(mktemp -d /tmp/qf-slurm.XXXXXX)
  chmod 0755 "$SLURM_TEST_DIR"
  export SLURM_CONF="$SLURM_TEST_DIR/slurm.conf"
  SLURM_TEST_CTLD_PID="" SLURM_TEST_SLURMD_PID="" SLURM_TEST_MUNGED_PID=""
  SLURM_TEST_NODE=$(hostname -s)
  # Chain with the caller's EXIT trap (e.g. cli_test_lib.sh removes its work dir).
  local prev=()
  eval "prev=($(trap -p EXIT))"
  _SLURM_PREV_EXIT_TRAP=${prev[2]:-}
  trap 'slurm_stop; eval "$_SLURM_PREV_EXIT_TRAP"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  _slurm_write_conf
  _slurm_start_munge
  # Foreground daemons (-D) in the background: $! is the daemon, a child of this shell.
  /usr/sbin/slurmctld -D -i -f "$SLURM_CONF" > "$SLURM_TEST_DIR/slurmctld.out" 2>&1 &
  SLURM_TEST_CTLD_PID=$!
  /usr/sbin/slurmd -D -f "$SLURM_CONF" -N "$SLURM_TEST_NODE" \
    > "$SLURM_TEST_DIR/slurmd.out" 2>&1 &
  SLURM_TEST_SLURMD_PID=$!

  local state="" i
  for i in $(seq 1 120); do  # 30 s
    state=$(sinfo -h -n "$SLURM_TEST_NODE" -o %T 2> /dev/null || true)
    [ "$state" = "idle" ] && break
    kill -0 "$SLURM_TEST_CTLD_PID" 2> /dev/null || { _slurm_tail_logs; _slurm_fail "slurmctld exited"; }
    kill -0 "$SLURM_TEST_SLURMD_PID" 2> /dev/null || { _slurm_tail_logs; _slurm_fail "slurmd exited"; }
    sleep 0.25
  done
  if [ "$state" != "idle" ]; then
    _slurm_tail_logs
    _slurm_fail "node $SLURM_TEST_NODE not idle within 30 s (sinfo says '${state:-nothing}')"
  fi
  _slurm_log "up in ${i}x0.25 s: $SLURM_CONF (slurmctld $SLURM_TEST_CTLD_PID," \
    "slurmd $SLURM_TEST_SLURMD_PID, munged ${SLURM_TEST_MUNGED_PID:-already running})"
}

# The state of a job (PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, ...).
slurm_job_state() {
  scontrol show job "$1" 2> /dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

# A field of `scontrol show job` (e.g. Restarts, ExitCode, Reason).
slurm_job_field() {
  scontrol show job "$1" 2> /dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# Pids of the slurmstepd and job processes of this harness's Slurm: their environment
# holds our (unique) SLURM_CONF, and a job process also has SLURM_JOB_ID.
_slurm_our_pids() {
  local env_file pid env comm
  for env_file in /proc/[0-9]*/environ; do
    pid=${env_file#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    env=$(tr '\0' '\n' 2> /dev/null < "$env_file") || continue
    grep -qxF "SLURM_CONF=$SLURM_CONF" <<< "$env" || continue
    comm=$(cat "/proc/$pid/comm" 2> /dev/null) || continue
    if [ "$comm" = slurmstepd ] || grep -q '^SLURM_JOB_ID=' <<< "$env"; then
      echo "$pid"
    fi
  done
  return 0
}

_slurm_stop_pid() {  # _slurm_stop_pid PID: TERM, up to 5 s, then KILL
  local pid=$1 _
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2> /dev/null || { wait "$pid" 2> /dev/null; return 0; }
  kill -TERM "$pid" 2> /dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2> /dev/null && kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null || true
}

slurm_stop() {
  [ -n "${SLURM_TEST_DIR:-}" ] || return 0
  local jobs _ pid
  # Jobs first, while slurmd is there to kill their steps.
  if [ -n "${SLURM_TEST_CTLD_PID:-}" ] && kill -0 "$SLURM_TEST_CTLD_PID" 2> /dev/null; then
    jobs=$(squeue -h -o %i 2> /dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2> /dev/null || true
      for _ in $(seq 1 $(( (${SLURM_TEST_KILLWAIT:-5} + 5) * 4 ))); do
        [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
        sleep 0.25
      done
    fi
  fi
  _slurm_stop_pid "${SLURM_TEST_SLURMD_PID:-}"
  _slurm_stop_pid "${SLURM_TEST_CTLD_PID:-}"
  # Anything of ours that survived (a slurmstepd or job process): by pid, then KILL.
  for pid in $(_slurm_our_pids); do
    _slurm_log "killing leftover process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null))"
    kill -KILL "$pid" 2> /dev/null || true
  done
  _slurm_stop_pid "${SLURM_TEST_MUNGED_PID:-}"
  rm -rf "$SLURM_TEST_DIR"
  SLURM_TEST_DIR="" SLURM_TEST_CTLD_PID="" SLURM_TEST_SLURMD_PID="" SLURM_TEST_MUNGED_PID=""
}
