#!/usr/bin/env bash
# Dead-worker recovery under `mpirun --enable-recovery`: a worker rank SIGKILLed in the
# middle of an evolve run is detected by its missing heartbeats, its tasks go to the
# others and a replacement is spawned with MPI_Comm_spawn; the job exits 0 with results
# bit-identical to an undisturbed run, and detection plus recovery (the kill to the
# replacement being ready) takes at most 5 s. Killing every worker leaves the head
# evaluating alone (with respawns disabled) or replaced (with them): never a hang.
# Usage: evolve_recovery_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
# tcp next to vader: a spawned process is in another job, which vader cannot reach.
MPIRUN=(timeout 180 mpirun --allow-run-as-root --oversubscribe --enable-recovery
        --mca btl self,vader,tcp --mca btl_tcp_if_include lo)

"$QF" data synth --store data.h5 --symbols 1 --bars 400000 --seed 9 > /dev/null
cat > evolve.json <<'JSON'
{"strategy": ["zscore_reversion", "ema_crossover"], "symbols": ["AAA"], "store": "data.h5",
 "population": 192, "generations": 30, "islands": 4, "migration_interval": 3,
 "split": {"in_sample": 0.7}, "seed": 9}
JSON
rank_pid() {  # rank_pid OUT RANK: the pid of world rank RANK of the run writing OUT
  local p
  for p in $(pgrep -f -- "--out $1"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
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

"$QF" evolve --config evolve.json --out reference.h5 --quiet > /dev/null

# One worker killed: requeued, replaced, same results.
run_and_kill one 1 1
expect_contains one.out "[recovery] worker rank 1 lost (silent for"
expect_contains one.out "[recovery] spawned a replacement worker"
same_results reference.h5 one.h5 30 || fail "results after a lost worker differ"
[ "$RECOVERED_MS" -le 5000 ] || fail "detection plus recovery took $RECOVERED_MS ms (> 5000)"
echo "one worker killed: replacement ready ${RECOVERED_MS} ms after the kill (head:" \
  "$(grep -o '[0-9.]* s after the lost' one.out | head -1) worker's last message)"

# Every worker killed, no respawns: the head finishes alone.
run_and_kill alone "1 2" 0 --max-respawns 0
expect_contains alone.out "[recovery] no worker left: the head evaluates the remaining tasks itself"
[ "$(grep -c 'no worker left' alone.out)" -eq 1 ] || fail "the head's notice repeats"
same_results reference.h5 alone.h5 30 || fail "results of the head alone differ"
echo "every worker killed, no respawns: the head finished alone, results identical"

# Every worker killed, respawns allowed: both replaced.
run_and_kill both "1 2" 0 --worker-timeout 1
[ "$(grep -c 'spawned a replacement worker in' both.out)" -eq 2 ] ||
  { cat both.out >&2; fail "expected two replacements"; }
same_results reference.h5 both.h5 30 || fail "results after replacing every worker differ"
echo "every worker killed, respawns on: two replacements, results identical"

# Bad values are refused before anything runs.
expect_failure bad.err "$QF" evolve --config evolve.json --out bad.h5 --worker-timeout -1
expect_contains bad.err "--worker-timeout must be in 0..86400 seconds"
expect_failure bad.err "$QF" evolve --config evolve.json --out bad.h5 --max-respawns -2
expect_contains bad.err "--max-respawns must be in 0..10000"
[ ! -e bad.h5 ] || fail "a refused run wrote its results file"
echo "PASS"
