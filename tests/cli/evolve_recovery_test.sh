#!/usr/bin/env bash
# Dead-worker recovery under `mpirun --enable-recovery`: a worker rank SIGKILLed in the
# middle of an evolve run is detected by its missing heartbeats, its tasks go to the
# others and a replacement is spawned with MPI_Comm_spawn; the job exits 0 with results
# bit-identical to an undisturbed run, and detection plus recovery (the kill to the
# replacement being ready) takes at most 5 s. Killing every worker leaves the head
# evaluating alone (with respawns disabled) or replaced (with them): never a hang.
# Killing the head makes every worker leave within 5 s, and mpirun with them.
# The same over TCP alone: evolve_recovery_tcp_test.sh.
# Usage: evolve_recovery_test.sh /path/to/quantfarm
TESTS="$(cd "$(dirname "$0")" && pwd)"
source "$TESTS/cli_test_lib.sh" "$1"
source "$TESTS/recovery_test_lib.sh"
# tcp next to vader: a spawned process is in another job, which vader cannot reach.
MPIRUN=(timeout 180 mpirun --allow-run-as-root --oversubscribe --enable-recovery
        --mca btl self,vader,tcp --mca btl_tcp_if_include lo)

make_recovery_data
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

# The head killed: the workers find it gone (its process exited), say so and leave.
"${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out headless.h5 > headless.out 2>&1 &
RUN_PID=$!
kill_head_and_time headless "gen  5/"
[ "$GONE_MS" -le 5000 ] || fail "the workers outlived the head by $GONE_MS ms (> 5000)"
[ "$MPIRUN_GONE_MS" -le 5000 ] || fail "mpirun outlived the head by $MPIRUN_GONE_MS ms"
[ "$(grep -c 'the head is gone' headless.out)" -eq 2 ] ||
  { cat headless.out >&2; fail "expected one line from each worker"; }
echo "head killed: the workers left ${GONE_MS} ms later, mpirun ${MPIRUN_GONE_MS} ms later"

# Bad values are refused before anything runs.
expect_failure bad.err "$QF" evolve --config evolve.json --out bad.h5 --worker-timeout -1
expect_contains bad.err "--worker-timeout must be in 0..86400 seconds"
expect_failure bad.err "$QF" evolve --config evolve.json --out bad.h5 --max-respawns -2
expect_contains bad.err "--max-respawns must be in 0..10000"
[ ! -e bad.h5 ] || fail "a refused run wrote its results file"
echo "PASS"
