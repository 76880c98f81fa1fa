# shellcheck shell=bash
# Helpers of the fault-tolerance CLI tests (evolve_recovery_test.sh,
# evolve_recovery_tcp_test.sh); sourced after cli_test_lib.sh. Every wait is bounded.
# The caller sets MPIRUN (an array: the launcher and its options, without -np).

# make_recovery_data: the series and the 3-rank evolve config of the recovery tests.
make_recovery_data() {
  "$QF" data synth --store data.h5 --symbols 1 --bars 400000 --seed 9 > /dev/null
  cat > evolve.json <<'JSON'
{"strategy": ["zscore_reversion", "ema_crossover"], "symbols": ["AAA"], "store": "data.h5",
 "population": 192, "generations": 30, "islands": 4, "migration_interval": 3,
 "split": {"in_sample": 0.7}, "seed": 9}
JSON
}

# run_pids OUT: the pids of the MPI processes (any rank, spawned ones too) of the run
# writing OUT; mpirun and the shell have no OMPI_COMM_WORLD_RANK.
run_pids() {
  local p env
  for p in $(pgrep -f -- "--out $1" || true); do
    env=$(tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null) || continue
    if grep -q "^OMPI_COMM_WORLD_RANK=" <<< "$env"; then echo "$p"; fi
  done
}

rank_pid() {  # rank_pid OUT RANK: the pid of world rank RANK of the 3-rank run writing OUT
  local p env
  for p in $(pgrep -f -- "--out $1" || true); do
    env=$(tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null) || continue
    # Spawned workers are rank 0 of worlds of size 1.
    if grep -qx "OMPI_COMM_WORLD_RANK=$2" <<< "$env" &&
       grep -qx "OMPI_COMM_WORLD_SIZE=3" <<< "$env"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

wait_for_line() {  # wait_for_line FILE TEXT PID: bounded to 120 s
  for _ in $(seq 1 2400); do
    grep -qF -- "$2" "$1" && return 0
    kill -0 "$3" 2> /dev/null || { cat "$1" >&2; fail "the run ended before '$2'"; }
    sleep 0.05
  done
  fail "no '$2' within 120 s"
}

# run_and_kill NAME RANKS MEASURE [EVOLVE FLAGS]: starts a 3-rank run, SIGKILLs the
# given world ranks after generation 5 and waits for the run to exit 0. With MEASURE=1,
# sets RECOVERED_MS: from the kill to the replacement's "ready" line.
run_and_kill() {
  local name="$1" ranks="$2" measure="$3"
  shift 3
  "${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out "$name.h5" "$@" \
    > "$name.out" 2>&1 &
  local pid=$!
  wait_for_line "$name.out" "gen  5/" "$pid"
  local r victim
  for r in $ranks; do
    victim=$(rank_pid "$name.h5" "$r") || fail "$name: no process of rank $r"
    kill -9 "$victim"
  done
  local killed_at
  killed_at=$(date +%s%N)
  if [ "$measure" = 1 ]; then
    wait_for_line "$name.out" "ready;" "$pid"
    RECOVERED_MS=$(( ($(date +%s%N) - killed_at) / 1000000 ))
  fi
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$name.out" >&2; fail "$name: exit code $rc"; }
}

# kill_head_and_time NAME AFTER_LINE: in the run writing NAME.h5 (launched in the
# background as $RUN_PID, output in NAME.out), waits for AFTER_LINE, SIGKILLs world rank
# 0 and waits (at most 15 s) until every other process of the run and mpirun are gone.
# Sets GONE_MS (the last process of the run) and MPIRUN_GONE_MS.
kill_head_and_time() {
  local name="$1" line="$2" head
  wait_for_line "$name.out" "$line" "$RUN_PID"
  local others
  head=$(rank_pid "$name.h5" 0) || fail "$name: no head process"
  others=$(run_pids "$name.h5" | grep -vx "$head" || true)
  [ -n "$others" ] || fail "$name: no worker process"
  kill -9 "$head"
  local killed_at p alive
  killed_at=$(date +%s%N)
  GONE_MS="" MPIRUN_GONE_MS=""
  for _ in $(seq 1 300); do
    alive=0
    for p in $others; do kill -0 "$p" 2> /dev/null && alive=1; done
    if [ "$alive" = 0 ] && [ -z "$GONE_MS" ]; then
      GONE_MS=$(( ($(date +%s%N) - killed_at) / 1000000 ))
    fi
    if ! kill -0 "$RUN_PID" 2> /dev/null && [ -z "$MPIRUN_GONE_MS" ]; then
      MPIRUN_GONE_MS=$(( ($(date +%s%N) - killed_at) / 1000000 ))
    fi
    [ -n "$GONE_MS" ] && [ -n "$MPIRUN_GONE_MS" ] && break
    sleep 0.05
  done
  if [ -z "$GONE_MS" ] || [ -z "$MPIRUN_GONE_MS" ]; then
    local left=""
    for p in $others; do kill -0 "$p" 2> /dev/null && left="$left $p"; done
    ps -o pid,stat,etime,args -p "$RUN_PID" $left >&2 || true
    for p in $others; do kill -9 "$p" 2> /dev/null || true; done
    cat "$name.out" >&2
    fail "$name: 15 s after the head's death, still running: workers${left:- none}," \
      "mpirun $([ -z "$MPIRUN_GONE_MS" ] && echo yes || echo no)"
  fi
  wait "$RUN_PID" || true
}
