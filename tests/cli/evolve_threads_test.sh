#!/usr/bin/env bash
# Threads of `quantfarm evolve` come from what a process may really use: --threads, else
# OMP_NUM_THREADS, else the CPUs of its affinity mask divided among the worker ranks
# bound to them. A thread count above the cores a rank is bound to is warned about
# (naming the binding and the fix); the head, which does not evaluate, never warns. A bad
# OMP_NUM_THREADS is an error that writes nothing. Results do not depend on threads.
# Usage: evolve_threads_test.sh /path/to/quantfarm
source "$(dirname "$0")/cli_test_lib.sh" "$1"
MPIRUN=(mpirun --allow-run-as-root --enable-recovery)
cores=$(nproc)
[ "$cores" -ge 2 ] || { echo "SKIP: needs 2 cores"; exit 0; }

"$QF" data synth --store data.h5 --symbols 1 --bars 1500 --seed 5 > /dev/null
cat > evolve.json <<'JSON'
{"strategy": ["ema_crossover", "atr_volatility_breakout"], "symbols": ["AAA"],
 "store": "data.h5", "population": 32, "generations": 3, "islands": 2, "seed": 3}
JSON
banner() { grep -m1 '^evolve ' "$1" | sed 's/.*generations, //'; }
expect_banner() {  # expect_banner OUT TEXT
  [ "$(banner "$1")" = "$2" ] || { cat "$1" >&2; fail "banner '$(banner "$1")', wanted '$2'"; }
}
no_warning() { if grep -q "warning" "$1"; then cat "$1" >&2; fail "unexpected warning"; fi; }

# Local mode: the affinity mask, OMP_NUM_THREADS, --threads.
"$QF" evolve --config evolve.json --out all.h5 > all.out 2> all.err
expect_banner all.out "local mode, $cores threads"
no_warning all.err
OMP_NUM_THREADS=1 "$QF" evolve --config evolve.json --out omp1.h5 > omp1.out 2> omp1.err
expect_banner omp1.out "local mode, 1 thread"
OMP_NUM_THREADS=1 "$QF" evolve --config evolve.json --out flag.h5 --threads 2 > flag.out
expect_banner flag.out "local mode, 2 threads"  # the flag wins
taskset -c 0 "$QF" evolve --config evolve.json --out one.h5 > one.out 2> one.err
expect_banner one.out "local mode, 1 thread"
no_warning one.err
taskset -c 0 "$QF" evolve --config evolve.json --out over.h5 --threads 2 > over.out 2> over.err
expect_contains over.err "--threads asks for 2 threads but this process is bound to 1 core (cpu 0)"
same_results all.h5 omp1.h5 3
same_results all.h5 one.h5 3
same_results all.h5 over.h5 3

# A bad OMP_NUM_THREADS: one clear error, no results.
OMP_NUM_THREADS=lots "$QF" evolve --config evolve.json --out bad.h5 > /dev/null 2> bad.err &&
  fail "OMP_NUM_THREADS=lots accepted"
expect_contains bad.err "OMP_NUM_THREADS='lots' is not a thread count in 1..1024"
[ ! -e bad.h5 ] || fail "a results file was written for a bad OMP_NUM_THREADS"

# Open MPI's default binding for 2 ranks pins each to one core: asking the worker for 2
# threads warns on the worker (rank 1) with the fix; the head stays quiet.
"${MPIRUN[@]}" -np 2 "$QF" evolve --config evolve.json --out bound.h5 --threads 2 \
  > bound.out 2> bound.err
expect_contains bound.err "rank 1: --threads asks for 2 threads but this process is bound to 1 core"
expect_contains bound.err "mpirun --bind-to none, or --map-by ppr:1:node:pe=2"
if grep -q "rank 0:" bound.err; then cat bound.err >&2; fail "the head warned"; fi
# Unbound, one worker gets every core; two workers share them; OMP_NUM_THREADS reaches
# the ranks with mpirun -x.
"${MPIRUN[@]}" --bind-to none -np 2 "$QF" evolve --config evolve.json --out w1.h5 \
  > w1.out 2> w1.err
expect_banner w1.out "1 worker rank x $cores threads"
no_warning w1.err
"${MPIRUN[@]}" --oversubscribe --bind-to none -np 3 "$QF" evolve --config evolve.json \
  --out w2.h5 > w2.out 2> w2.err
expect_banner w2.out "2 worker ranks x $((cores / 2)) thread$([ $((cores / 2)) -eq 1 ] || echo s)"
OMP_NUM_THREADS=1 "${MPIRUN[@]}" -x OMP_NUM_THREADS --bind-to none -np 2 "$QF" evolve \
  --config evolve.json --out womp.h5 > womp.out 2> womp.err
expect_banner womp.out "1 worker rank x 1 thread"
for f in bound w1 w2 womp; do same_results all.h5 "$f.h5" 3; done
echo "evolve_threads_test: ok"
