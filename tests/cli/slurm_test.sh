#!/usr/bin/env bash
# slurm/evolve.sbatch on a real single-node Slurm (tests/slurm/slurm_harness.sh starts
# a throwaway one and stops it afterwards; the Debian packages slurm-wlm and munge must
# be installed: without them this test fails, it does not skip).
#  (a) A small job runs to completion: the log shows every generation, the results file
#      says finished and equals a direct local run bit for bit. A job whose run fails
#      (a bad config) fails with exit code 1.
#  (b) A longer job is requeued with `scontrol requeue` (Slurm sends SIGTERM to all of
#      its processes) once its checkpoint holds generation >= 2; it starts again,
#      resumes from the checkpoint; then it gets SIGUSR1 on its batch shell (what
#      --signal=B:USR1@60 sends before the time limit, here through scancel), writes
#      the checkpoint and requeues itself; it resumes again and finishes with results
#      bit-identical to an uninterrupted local run.
# Usage: slurm_test.sh /path/to/quantfarm
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$(dirname "$0")/cli_test_lib.sh" "$1"
source "$REPO/tests/slurm/slurm_harness.sh"
SBATCH_SCRIPT="$REPO/slurm/evolve.sbatch"
test_start=$(date +%s)

# Bad parameters are refused with a clear message before anything runs.
expect_failure err.log env -u SLURM_JOB_ID QF_CONFIG=missing.json bash "$SBATCH_SCRIPT"
expect_contains err.log "config 'missing.json' not found"
echo '{}' > empty.json
expect_failure err.log env -u SLURM_JOB_ID -u SLURM_NTASKS bash "$SBATCH_SCRIPT" empty.json
expect_contains err.log "not inside a Slurm allocation"

slurm_start

"$QF" data synth --store data.h5 --symbols 2 --bars 400000 --seed 9 > /dev/null
cat > small.json <<'JSON'
{"strategy": ["zscore_reversion", "ema_crossover"], "symbols": ["AAA", "BBB"],
 "store": "data.h5", "population": 48, "generations": 4, "islands": 2,
 "migration_interval": 2, "seed": 5}
JSON
cat > long.json <<'JSON'
{"strategy": ["zscore_reversion", "ema_crossover"], "symbols": ["AAA"], "store": "data.h5",
 "population": 200, "generations": 40, "islands": 4, "migration_interval": 3,
 "mutation_rate": 0.5, "mutation_sigma": 0.3, "split": {"in_sample": 0.7}, "seed": 9}
JSON

# What the jobs see: the binary under test; tcp next to vader, on loopback, so that a
# respawned worker (another MPI job) could be reached; one registry (and result cache)
# per run, so that no run reuses another's evaluations.
export QF_BIN="$QF"
export QF_MPIRUN_ARGS="--bind-to none --mca btl self,vader,tcp --mca btl_tcp_if_include lo"
registry() { QUANTFARM_REGISTRY="$WORK/$1.db" "${@:2}"; }
# 4 task slots on this 2-core node (the head sleeps): head, 2 workers, 1 spare.
SBATCH=(sbatch --parsable --chdir="$WORK" --ntasks=4 --overcommit --time=10)

show_job() {  # for failure messages
  echo "--- scontrol show job $1:" >&2
  scontrol show job "$1" >&2 || true
  [ -f "$2" ] && { echo "--- $2:" >&2; cat "$2" >&2; }
  return 0
}
# wait_until SECONDS JOB LOG WHAT CMD...: poll CMD every 0.5 s, bounded.
wait_until() {
  local limit=$1 job=$2 joblog=$3 what=$4 i
  shift 4
  for i in $(seq 1 $((limit * 2))); do
    "$@" && return 0
    sleep 0.5
  done
  show_job "$job" "$joblog"
  fail "job $job: not $what within $limit s"
}
job_is() { [ "$(slurm_job_state "$1")" = "$2" ]; }
job_done() {  # true once the job reached a final state; fails at once unless COMPLETED
  local state
  state=$(slurm_job_state "$1")
  case "$state" in
    COMPLETED) return 0 ;;
    FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
      show_job "$1" "$2"; fail "job $1 ended $state" ;;
  esac
  return 1
}
restarted() {  # restarted JOB N: the Nth start is under way (or done)
  [ "$(slurm_job_field "$1" Restarts)" = "$2" ] || return 1
  job_is "$1" RUNNING || job_is "$1" COMPLETED
}
checkpoint_at_least() { [ "$(checkpoint_generation "$1")" -ge "$2" ]; }
log_count() { grep -c -- "$2" "$1" 2> /dev/null || true; }
log_has_n() { [ "$(log_count "$1" "$2")" -ge "$3" ]; }

# (a) A small job to completion; next to it, a job whose run fails (mpirun exits 0
# under --enable-recovery all the same): the job must fail.
registry ref-small "$QF" evolve --config small.json --out ref-small.h5 --quiet > /dev/null
sed 's/"seed": 5/"seed": 5, "no_such_key": 1/' small.json > bad.json
small=$(registry small "${SBATCH[@]}" --output="$WORK/small.log" "$SBATCH_SCRIPT" small.json small.h5)
bad=$(registry bad "${SBATCH[@]}" --output="$WORK/bad.log" "$SBATCH_SCRIPT" bad.json bad.h5)
echo "(a) submitted jobs $small and $bad"
wait_until 90 "$small" small.log "completed" job_done "$small" small.log
[ "$(slurm_job_field "$small" ExitCode)" = "0:0" ] ||
  { show_job "$small" small.log; fail "job $small: exit code $(slurm_job_field "$small" ExitCode)"; }
expect_contains small.log "mpirun --allow-run-as-root --enable-recovery -np 3"
expect_contains small.log "2 worker ranks"
[ "$(grep -c '^gen ' small.log)" -eq 4 ] || { cat small.log >&2; fail "(a) the log lacks generations"; }
expect_contains small.log "gen 4/4"
expect_contains small.log "mpirun exited with code 0; results small.h5: finished"
same_results ref-small.h5 small.h5 || fail "(a) the Slurm job's results differ from a local run"
echo "(a) job $small completed; results identical to a local run"
# A search config (a "search" key) runs `quantfarm search` the same way.
cat > asha.json <<'JSON'
{"search": "asha", "strategy": "zscore_reversion", "symbols": ["AAA"], "store": "data.h5",
 "num_samples": 24, "batch_size": 4, "seed": 3}
JSON
registry ref-asha "$QF" search --config asha.json --out ref-asha.h5 --quiet > /dev/null
asha=$(registry asha "${SBATCH[@]}" --output="$WORK/asha.log" "$SBATCH_SCRIPT" asha.json asha.h5)
wait_until 90 "$asha" asha.log "completed" job_done "$asha" asha.log
expect_contains asha.log "quantfarm search --config asha.json"
expect_contains asha.log "results asha.h5: finished"
/usr/bin/python3 - <<'PY' || fail "(a) the Slurm search's results differ from a local run"
import h5py
a, b = h5py.File("ref-asha.h5", "r"), h5py.File("asha.h5", "r")
for c in a["trials"]:
    assert a["trials"][c][:].tobytes() == b["trials"][c][:].tobytes(), c
assert a.attrs["top"] == b.attrs["top"]
PY
echo "(a) search job $asha completed; results identical to a local run"
job_ended() { case "$(slurm_job_state "$1")" in COMPLETED | FAILED) return 0 ;; esac; return 1; }
wait_until 60 "$bad" bad.log "ended" job_ended "$bad"
{ [ "$(slurm_job_state "$bad")" = FAILED ] && [ "$(slurm_job_field "$bad" ExitCode)" = "1:0" ]; } ||
  { show_job "$bad" bad.log; fail "job $bad with a bad config did not fail with exit code 1"; }
expect_contains bad.log "quantfarm: error:"
expect_contains bad.log "error: the run failed"
echo "(a) job $bad with a bad config failed with exit code 1"

# (b) Requeue mid-run, then the time-limit signal; resume each time.
registry ref-long "$QF" evolve --config long.json --out ref-long.h5 --quiet > /dev/null
long=$(registry long "${SBATCH[@]}" --output="$WORK/long.log" "$SBATCH_SCRIPT" long.json long.h5)
echo "(b) submitted job $long"
wait_until 60 "$long" long.log "at generation 2" checkpoint_at_least long.h5 2
scontrol requeue "$long"
echo "(b) requeued job $long at checkpoint generation $(checkpoint_generation long.h5)"
wait_until 90 "$long" long.log "restarted" restarted "$long" 1
wait_until 30 "$long" long.log "resumed" log_has_n long.log "resuming from long.h5" 1
resumed_at=$(sed -n 's/^resuming from long.h5: \([0-9]*\) of.*/\1/p' long.log | tail -n 1)
[ "${resumed_at:-0}" -ge 2 ] || { cat long.log >&2; fail "(b) resumed from generation '$resumed_at'"; }
wait_until 60 "$long" long.log "past generation $((resumed_at + 3))" \
  checkpoint_at_least long.h5 $((resumed_at + 3))
[ "$(log_count long.log 'results long.h5: finished')" -eq 0 ] ||
  fail "(b) the job finished before the time-limit signal could be sent; make it longer"
scancel --signal=USR1 --batch "$long"
echo "(b) sent SIGUSR1 to the batch shell of job $long at generation $(checkpoint_generation long.h5)"
wait_until 90 "$long" long.log "requeued by itself" restarted "$long" 2
wait_until 120 "$long" long.log "completed" job_done "$long" long.log
[ "$(slurm_job_field "$long" ExitCode)" = "0:0" ] ||
  { show_job "$long" long.log; fail "job $long: exit code $(slurm_job_field "$long" ExitCode)"; }
expect_contains long.log "DUE TO JOB REQUEUE"
expect_contains long.log "got SIGTERM"
expect_contains long.log "got SIGUSR1"
expect_contains long.log "checkpoint written to long.h5"
expect_contains long.log "requeueing job $long"
expect_contains long.log "job $long start 2"
[ "$(log_count long.log 'resuming from long.h5')" -eq 2 ] ||
  { cat long.log >&2; fail "(b) expected two resumes"; }
expect_contains long.log "results long.h5: finished"
same_results ref-long.h5 long.h5 || fail "(b) the requeued job's results differ from an uninterrupted run"
echo "(b) job $long requeued twice (scontrol requeue, SIGUSR1), resumed, identical results"
echo "slurm tests passed in $(( $(date +%s) - test_start )) s"
