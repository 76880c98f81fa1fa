#!/usr/bin/env bash
# Recovery over TCP alone (`--mca btl self,tcp`, as between nodes and containers), where
# Open MPI reconnects to a dead process's old port when something is sent to it: a
# SIGKILLed worker is detected and replaced and the results are bit-identical to an
# undisturbed run within the same 5 s as with shared memory; both workers killed and
# replaced (a replacement used to bind a dead worker's port and lose its welcome: the
# job hung); the head killed, before and after a replacement started: every other
# process leaves within 5 s and so does mpirun; the head paused for 6 s: nobody leaves.
# Every wait is bounded.
# Usage: evolve_recovery_tcp_test.sh /path/to/quantfarm
TESTS="$(cd "$(dirname "$0")" && pwd)"
source "$TESTS/cli_test_lib.sh" "$1"
source "$TESTS/recovery_test_lib.sh"
MPIRUN=(timeout 120 mpirun --allow-run-as-root --oversubscribe --enable-recovery
        --mca btl self,tcp --mca btl_tcp_if_include lo)

make_recovery_data
"$QF" evolve --config evolve.json --out reference.h5 --quiet > /dev/null

# One worker killed: requeued, replaced, same results.
run_and_kill one 1 1
expect_contains one.out "[recovery] worker rank 1 lost (silent for"
expect_contains one.out "[recovery] spawned a replacement worker"
same_results reference.h5 one.h5 30 || fail "results after a lost worker differ (tcp)"
[ "$RECOVERED_MS" -le 5000 ] || fail "detection plus recovery took $RECOVERED_MS ms (> 5000)"
echo "tcp, one worker killed: replacement ready ${RECOVERED_MS} ms after the kill (head:" \
  "$(grep -o '[0-9.]* s after the lost' one.out | head -1) worker's last message)"

# Both workers killed, both replaced.
run_and_kill both "1 2" 0 --worker-timeout 1
[ "$(grep -c 'ready; ' both.out)" -eq 2 ] || { cat both.out >&2; fail "expected two replacements"; }
same_results reference.h5 both.h5 30 || fail "results after replacing every worker differ (tcp)"
echo "tcp, every worker killed: two replacements, results identical"

# The head killed while the workers evaluate, the workers watching it as from another
# host (by messages that no longer leave, not by its pid).
"${MPIRUN[@]}" -x QUANTFARM_WATCH_BY_MESSAGES=1 -np 3 "$QF" evolve --config evolve.json \
  --out headless.h5 > headless.out 2>&1 &
RUN_PID=$!
kill_head_and_time headless "gen  5/"
[ "$GONE_MS" -le 5000 ] || fail "the workers outlived the head by $GONE_MS ms (> 5000)"
[ "$MPIRUN_GONE_MS" -le 5000 ] || fail "mpirun outlived the head by $MPIRUN_GONE_MS ms"
[ "$(grep -c 'the head is gone (a message to it has not left' headless.out)" -eq 2 ] ||
  { cat headless.out >&2; fail "expected one line from each worker"; }
echo "tcp, head killed, watched by messages: the workers left ${GONE_MS} ms later," \
  "mpirun ${MPIRUN_GONE_MS} ms later"

# A head that stops answering for 6 s (SIGSTOP) is not dead: no worker leaves, none is
# declared lost, and the run ends as an undisturbed one.
"${MPIRUN[@]}" -x QUANTFARM_WATCH_BY_MESSAGES=1 -np 3 "$QF" evolve --config evolve.json \
  --out paused.h5 > paused.out 2>&1 &
RUN_PID=$!
wait_for_line paused.out "gen  5/" "$RUN_PID"
head=$(rank_pid paused.h5 0) || fail "paused: no head process"
kill -STOP "$head"
sleep 6
kill -CONT "$head"
rc=0
wait "$RUN_PID" || rc=$?
[ "$rc" -eq 0 ] || { cat paused.out >&2; fail "paused: exit code $rc"; }
! grep -q "the head is gone\|\[recovery\]" paused.out ||
  { cat paused.out >&2; fail "a head paused for 6 s was taken for dead, or a worker for lost"; }
same_results reference.h5 paused.h5 30 || fail "results after the head's pause differ"
echo "tcp, head paused for 6 s: no worker left or was lost, results identical"

# The head killed once a replacement (another job, linked by an intercommunicator) runs.
"${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out orphans.h5 > orphans.out 2>&1 &
RUN_PID=$!
wait_for_line orphans.out "gen  5/" "$RUN_PID"
kill -9 "$(rank_pid orphans.h5 1)"
kill_head_and_time orphans "ready; "
[ "$GONE_MS" -le 5000 ] || fail "the workers outlived the head by $GONE_MS ms (> 5000)"
[ "$MPIRUN_GONE_MS" -le 5000 ] || fail "mpirun outlived the head by $MPIRUN_GONE_MS ms"
expect_contains orphans.out "spawned worker (pid"
echo "tcp, head killed after a replacement: rank 2 and the replacement left ${GONE_MS} ms" \
  "later, mpirun ${MPIRUN_GONE_MS} ms later"
echo "PASS"
