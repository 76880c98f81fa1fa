#!/usr/bin/env bash
# Calibrates bench/scale_simulation.sh: the same driver (tests/smpi/scale_driver.cc with
# the real mpi/ sources) built twice, with mpicxx against Open MPI (and the real
# mpi/mpi_runtime.cc, Boost.MPI) and with smpicxx against SMPI, run at 2, 3 and 4 ranks
# on this machine and in a simulation of it (1 node, 2 cores); prints both efficiencies
# side by side, as a markdown table.
#
#   bench/scale_calibration.sh                 # ranks 2 3 4, the default points
#   RANKS="2 4" REPEAT=3 bench/scale_calibration.sh
#
# The workers sleep for the task time in both (real: std::this_thread::sleep_for; SMPI:
# a simulated sleep, --eval sleep): sleeping leaves the 2 shared cores to the others
# (the head, other jobs of the machine), and 3 workers on 2 cores neither contend in
# the real run nor in the simulation. A real efficiency is the median of REPEAT runs
# (default 3), with the best of them (noise from other load only lowers a real
# efficiency); the load average is printed before and after. The makespan is measured from the first task sent to the last result
# (MPI_Wtime around TaskFarm::Run), so start-up is excluded in both.
# POINTS: "population:sigma:stragglers:mean_ms" words (default below).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${QF_SMPI_BUILD:-$root/build-smpi}"
ranks_list="${RANKS:-2 3 4}"
repeat="${REPEAT:-3}"
points="${POINTS:-64:0:0:50 64:0.5:0:50 200:0.5:0.01:10 400:0:0:2}"

command -v mpicxx > /dev/null || { echo "scale_calibration: mpicxx not found" >&2; exit 2; }
sources=(tests/smpi/scale_driver.cc mpi/task_farm.cc mpi/messaging.cc mpi/task_server.cc
         mpi/process_identity.cc logging/log.cc)
real_driver="$build/scale_driver_ompi"
stale=0
for s in "${sources[@]}" mpi/mpi_runtime.cc mpi/*.h; do
  [ "$root/$s" -nt "$real_driver" ] && stale=1
done
if [ ! -x "$real_driver" ] || [ $stale -eq 1 ]; then
  echo "scale_calibration: building $real_driver (mpicxx)" >&2
  mkdir -p "$build"
  (cd "$root" && mpicxx -std=c++20 -O2 -DOMPI_SKIP_MPICXX=1 $(pkg-config --cflags spdlog) -I. \
     -o "$real_driver" "${sources[@]}" mpi/mpi_runtime.cc \
     -lboost_mpi -lboost_serialization $(pkg-config --libs spdlog))
fi
# The SMPI build (scale_simulation.sh builds it when stale).

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { sort -g | tail -1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo
echo "| ranks | population | task times | real Open MPI, median (best; runs) | SMPI | SMPI - median | SMPI - best |"
echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"
for n in $ranks_list; do
  for p in $points; do
    IFS=: read -r pop sig str mean <<< "$p"
    args=(--population "$pop" --sigma "$sig" --stragglers "$str" --mean-ms "$mean")
    real=()
    for ((r = 0; r < repeat; r++)); do
      e=$(mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$n" "$real_driver" \
            "${args[@]}" --quiet | awk '/^efficiency_exact/ { print $2 }')
      [ -n "$e" ] || { echo "scale_calibration: real run failed" >&2; exit 1; }
      real+=("$e")
    done
    real_median=$(printf '%s\n' "${real[@]}" | median)
    real_best=$(printf '%s\n' "${real[@]}" | best)
    sim=$("$root/bench/scale_simulation.sh" --ranks "$n" --nodes 1 --cores 2 --eval sleep \
            "${args[@]}" 2> /dev/null | awk '/^efficiency_exact/ { print $2 }')
    [ -n "$sim" ] || { echo "scale_calibration: simulation failed" >&2; exit 1; }
    desc="mean $mean ms"
    [ "$sig" != 0 ] && desc="$desc, lognormal $sig"
    [ "$str" != 0 ] && desc="$desc, $(echo "$str * 100" | bc -l | sed 's/\.0*$//')% 10x stragglers"
    [ "$sig" = 0 ] && [ "$str" = 0 ] && desc="$desc, constant"
    printf '| %s | %s | %s | %.3f (%.3f; %s) | %.3f | %+.1f | %+.1f |\n' "$n" "$pop" "$desc" \
      "$real_median" "$real_best" "${real[*]}" "$sim" \
      "$(echo "($sim - $real_median) * 100" | bc -l)" "$(echo "($sim - $real_best) * 100" | bc -l)"
  done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
