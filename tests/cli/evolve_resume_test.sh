#!/usr/bin/env bash
# Exact resume: a run killed with SIGKILL in the middle, or stopped with SIGUSR1 (what
# Slurm sends before a time limit) through mpirun, and then resumed with --resume gives
# a final population, fitness and best result bit-identical to an uninterrupted run,
# and evaluates nothing twice. SIGUSR1 makes the job exit 0 within 5 seconds. Resuming
# with another config is refused and leaves the checkpoint untouched.
# Usage: evolve_resume_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --enable-recovery --mca btl self,vader)

"$QF" data synth --store data.h5 --symbols 1 --bars 400000 --seed 9 > /dev/null
cat > evolve.json <<'JSON'
{"strategy": ["zscore_reversion", "ema_crossover"], "symbols": ["AAA"], "store": "data.h5",
 "population": 96, "generations": 12, "islands": 4, "migration_interval": 3,
 "split": {"in_sample": 0.7}, "seed": 9}
JSON
wait_for_generation() {  # wait_for_generation FILE N PID: bounded to 120 s
  for _ in $(seq 1 1200); do
    [ "$(checkpoint_generation "$1")" -ge "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || fail "the run ended before generation $2"
    sleep 0.1
  done
  fail "no checkpoint of generation $2 within 120 s"
}

"$QF" evolve --config evolve.json --out full.h5 --quiet > /dev/null

# SIGKILL in the middle, then resume (locally).
"$QF" evolve --config evolve.json --out killed.h5 --quiet > /dev/null &
pid=$!
wait_for_generation killed.h5 4 "$pid"
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
"$QF" evolve --config evolve.json --out killed.h5 --resume > resumed.out
expect_contains resumed.out "resuming from killed.h5"
same_results full.h5 killed.h5 12 || fail "resume after SIGKILL differs from the uninterrupted run"

# SIGUSR1 to mpirun: checkpoint and exit 0 within 5 s; resume under mpirun.
"${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out usr1.h5 --quiet > usr1.out &
pid=$!
wait_for_generation usr1.h5 3 "$pid"
start=$(date +%s%N)
kill -USR1 "$pid"
rc=0
wait "$pid" || rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -eq 0 ] || fail "SIGUSR1: exit code $rc"
[ "$elapsed_ms" -le 5000 ] || fail "SIGUSR1: took $elapsed_ms ms to stop"
expect_contains usr1.out "checkpoint written to usr1.h5"
echo "SIGUSR1: checkpointed and exited 0 in $elapsed_ms ms"
"${MPIRUN[@]}" -np 3 "$QF" evolve --config evolve.json --out usr1.h5 --resume --quiet > /dev/null
same_results full.h5 usr1.h5 12 || fail "resume after SIGUSR1 differs from the uninterrupted run"

# Another config: refused, checkpoint untouched.
sed 's/"seed": 9/"seed": 10/' evolve.json > other.json
before=$(sha256sum killed.h5)
expect_failure err.log "$QF" evolve --config other.json --out killed.h5 --resume
expect_contains err.log "was written for a different config"
[ "$(sha256sum killed.h5)" = "$before" ] || fail "a refused resume changed the checkpoint"
echo "evolve resume tests passed"
