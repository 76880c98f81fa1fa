#!/usr/bin/env bash
# smpi.scale_points: a few points of bench/scale_simulation.sh (the shipped task farm
# simulated with SMPI), each within TOLERANCE (0.01) of the efficiency measured when
# the test was written (bench/README.md, "Scale simulation (SMPI)"), all in under 60 s.
# A simulation is reproducible: the farm's clock is the simulated one (FarmClock,
# tests/smpi/smpi_shim.h), so the host's speed and load change nothing (measured: the
# same four digits on a quiet host and with two CPU hogs running); the tolerance is for
# other SimGrid or compiler versions.
# Usage: scale_points_test.sh SCALE_DRIVER (the smpicxx build, tests/smpi/CMakeLists.txt)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export QF_SMPI_DRIVER="${1:?usage: scale_points_test.sh SCALE_DRIVER}"
tolerance="${TOLERANCE:-0.01}"
# "ranks population sigma stragglers expected"
points=(
  "64 1024 0 0 0.9558"
  "64 1024 0.5 0 0.8707"
  "64 1024 0 0.01 0.7362"
  "256 1024 0 0 0.8023"
  "256 16384 0 0 0.9882"
  "1024 16384 0.5 0 0.7796"
)
start=$(date +%s.%N)
failed=0
for p in "${points[@]}"; do
  read -r n pop sig str expected <<< "$p"
  out="$(bash "$root/bench/scale_simulation.sh" --ranks "$n" --population "$pop" \
           --sigma "$sig" --stragglers "$str" 2>&1)" || { echo "$out"; exit 1; }
  got=$(echo "$out" | awk '/^efficiency_exact/ { print $2 }')
  wall=$(echo "$out" | awk '/^wall/ { print $2 }')
  ok=$(echo "d = $got - $expected; if (d < 0) d = -d; d <= $tolerance" | bc -l)
  printf '%5s ranks, population %6s, sigma %s, stragglers %s: efficiency %s (expected %s +- %s) in %s s %s\n' \
    "$n" "$pop" "$sig" "$str" "$got" "$expected" "$tolerance" "$wall" \
    "$([ "$ok" = 1 ] && echo ok || echo FAILED)"
  [ "$ok" = 1 ] || failed=1
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'all points in %.1f s (limit 60 s)\n' "$elapsed"
if (( $(echo "$elapsed >= 60" | bc -l) )); then
  echo "smpi.scale_points: took $elapsed s, over a minute"
  failed=1
fi
exit $failed
