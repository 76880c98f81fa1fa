#!/usr/bin/env bash
# Parallel efficiency of the task farm at scale, simulated with SimGrid SMPI: the shipped
# mpi/task_farm.cc (head) and mpi/task_server.cc (workers) compiled against SMPI
# (tests/smpi/), on generated task times. Efficiency = total work / workers / makespan.
#
#   bench/scale_simulation.sh --ranks 1024 --population 16384 --sigma 0.5
#   bench/scale_simulation.sh --all            # the grid, as a markdown table
#
# One point: --ranks N (default 64), --population P (1024), --sigma S (0: constant;
# lognormal with that sigma, mean kept), --stragglers F (0; a fraction F of the tasks
# takes 10x as long), --generations G (1), --depth D (2), --mean-ms M (50), --seed N,
# --eval execute|sleep (execute: the task keeps its simulated core busy), --cores C
# (cores per simulated node, 32), --nodes K (default: enough nodes of C cores for N ranks).
# Platform: nodes of C cores, 10 Gb/s, 5 us between nodes (2.5 us per node link), a
# loopback of 40 GB/s, 0.5 us inside a node; one rank per core, rank 0 (the head) on node 0.
# SMPI settings: no benchmarking of the code between MPI calls, 1 us per MPI_Iprobe and
# per MPI_Test, small sends eager (see /work/shared/ENVIRONMENT.md), and
# smpi/grow-injected-times:no: by default SMPI lengthens the injected probe time with
# every failed probe, which made the head's probes cost several us each (4096 ranks x
# 16384 constant: efficiency 0.76 instead of 0.79). Globals are privatized (smpirun's
# default, not -no-privatize): mpi/task_server.cc keeps one HeadLink (its Outbox) per
# process in a function-local static, which ranks sharing globals would share (it
# crashed in MPI_Test on another rank's request).
# The last line is `efficiency 0.NN`. The driver is built into $QF_SMPI_BUILD
# (default build-smpi/) when missing or older than its sources; QF_SMPI_DRIVER=path
# uses a given one. --all: 64, 256, 1024, 4096 ranks x population 1024, 16384, 65536 x
# constant, lognormal 0.5, 1% 10x stragglers (--max-seconds S: a point still running
# after S s of wall time is stopped and reported as such, default 600).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ranks=64 population=1024 sigma=0 stragglers=0 generations=1 depth=2 mean_ms=50 seed=42
eval_mode=execute cores=32 nodes="" all=0 max_seconds=600
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks="$2"; shift 2 ;;
    --population) population="$2"; shift 2 ;;
    --sigma) sigma="$2"; shift 2 ;;
    --stragglers) stragglers="$2"; shift 2 ;;
    --generations) generations="$2"; shift 2 ;;
    --depth) depth="$2"; shift 2 ;;
    --mean-ms) mean_ms="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --eval) eval_mode="$2"; shift 2 ;;
    --cores) cores="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --max-seconds) max_seconds="$2"; shift 2 ;;
    --all) all=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "scale_simulation: unknown flag $1" >&2; exit 2 ;;
  esac
done

command -v smpirun > /dev/null || { echo "scale_simulation: smpirun not found (apt-get install libsimgrid-dev)" >&2; exit 2; }

# The driver: tests/smpi/scale_driver.cc with the real mpi/ sources, against SMPI.
sources=(tests/smpi/scale_driver.cc tests/smpi/smpi_runtime.cc mpi/task_farm.cc
         mpi/messaging.cc mpi/task_server.cc mpi/process_identity.cc logging/log.cc)
build_driver() {
  local out="$1" newest=0 s
  for s in "${sources[@]}" tests/smpi/smpi_shim.h mpi/*.h; do
    [ "$root/$s" -nt "$out" ] && newest=1
  done
  [ -x "$out" ] && [ $newest -eq 0 ] && return 0
  echo "scale_simulation: building $out" >&2
  mkdir -p "$(dirname "$out")"
  (cd "$root" && smpicxx -std=c++20 -O2 -DSMPI_NO_OVERRIDE_MALLOC \
     -include tests/smpi/smpi_shim.h $(pkg-config --cflags spdlog) -I. \
     -o "$out" "${sources[@]}" $(pkg-config --libs spdlog)) 2>&1 | grep -v '^ *|' >&2 || true
  [ -x "$out" ] || { echo "scale_simulation: build failed" >&2; exit 1; }
}
driver="${QF_SMPI_DRIVER:-}"
if [ -z "$driver" ]; then
  driver="${QF_SMPI_BUILD:-$root/build-smpi}/scale_driver"
  build_driver "$driver"
fi

driver="$(realpath "$driver")"
work_dir="$(mktemp -d /tmp/qf-scale.XXXXXX)"
trap 'rm -rf "$work_dir"' EXIT

# Writes the platform and hostfile for $1 ranks into $work_dir.
make_platform() {
  local n="$1" k="${nodes:-$(( (n + cores - 1) / cores ))}"
  cat > "$work_dir/platform.xml" << EOF
<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <cluster id="qf" prefix="node-" suffix="" radical="0-$((k - 1))" speed="1Gf" core="$cores"
           bw="10Gbps" lat="2.5us" loopback_bw="40GBps" loopback_lat="0.5us"/>
</platform>
EOF
  awk -v n="$n" -v c="$cores" -v k="$k" 'BEGIN { for (i = 0; i < n; i++) print "node-" int(i / c) % k }' \
    > "$work_dir/hosts"
}

# Runs one point: prints the driver's lines and the wall time, last `efficiency 0.NN`.
run_point() {
  local n="$1" pop="$2" sig="$3" str="$4" limit="${5:-0}" start end rc=0
  make_platform "$n"
  echo "scale_simulation: $n ranks, population $pop, sigma $sig, stragglers $str," \
       "generations $generations, depth $depth: simulating" >&2
  start=$(date +%s.%N)
  (cd "$work_dir" && PMI_RANK=0 timeout "$limit" smpirun -np "$n" -platform platform.xml -hostfile hosts \
     --cfg=smpi/simulate-computation:no --cfg=smpi/iprobe:1e-6 --cfg=smpi/test:1e-6 \
     --cfg=smpi/async-small-thresh:65536 --cfg=smpi/grow-injected-times:no \
     --log=root.thresh:warning --log=smpi_config.thresh:error \
     "$driver" --population "$pop" --sigma "$sig" --stragglers "$str" \
     --generations "$generations" --depth "$depth" --mean-ms "$mean_ms" --seed "$seed" \
     --eval "$eval_mode") > "$work_dir/out" 2> "$work_dir/err" || rc=$?
  end=$(date +%s.%N)
  if [ $rc -eq 124 ]; then
    echo "scale_simulation: stopped after $limit s" >&2
    return 124
  fi
  if [ $rc -ne 0 ] || ! grep -q '^efficiency ' "$work_dir/out"; then
    cat "$work_dir/out" "$work_dir/err" >&2
    echo "scale_simulation: the simulation failed (exit $rc)" >&2
    return 1
  fi
  grep -v '^efficiency ' "$work_dir/out"
  printf 'wall %.1f s (simulation of %d ranks)\n' "$(echo "$end - $start" | bc)" "$n"
  grep '^efficiency ' "$work_dir/out"
}

if [ $all -eq 0 ]; then
  run_point "$ranks" "$population" "$sigma" "$stragglers"
  exit 0
fi

# The grid; a point still running after --max-seconds is stopped.
declare -A cell wall
dists=("constant:0:0" "lognormal 0.5:0.5:0" "1% 10x stragglers:0:0.01")
for n in 64 256 1024 4096; do
  for pop in 1024 16384 65536; do
    for d in "${dists[@]}"; do
      IFS=: read -r name sig str <<< "$d"
      key="$n/$pop/$name"
      if ! out="$(run_point "$n" "$pop" "$sig" "$str" "$max_seconds")"; then
        cell[$key]="stopped (> $max_seconds s)"
        wall[$key]="> $max_seconds"
        continue
      fi
      echo "$out" | sed 's/^/  /' >&2
      eff=$(echo "$out" | awk '/^efficiency_exact/ { print $2 }')
      pol=$(echo "$out" | awk '/^policy makespan/ { print $NF }')
      w=$(echo "$out" | awk '/^wall/ { print $2 }')
      cell[$key]="$(printf '%.2f (%.2f)' "$eff" "$pol")"
      wall[$key]="$w"
    done
  done
done
echo
echo "Efficiency (in brackets: the farm's policy with free messages and an instant head)," \
     "depth $depth, $generations generation(s), mean task $mean_ms ms:"
echo
echo "| ranks | population | constant | lognormal 0.5 | 1% 10x stragglers |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for n in 64 256 1024 4096; do
  for pop in 1024 16384 65536; do
    printf '| %s | %s | %s | %s | %s |\n' "$n" "$pop" "${cell[$n/$pop/constant]}" \
      "${cell[$n/$pop/lognormal 0.5]}" "${cell[$n/$pop/1% 10x stragglers]}"
  done
done
echo
echo "Wall time of each simulation (s):"
echo
echo "| ranks | population | constant | lognormal 0.5 | 1% 10x stragglers |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for n in 64 256 1024 4096; do
  for pop in 1024 16384 65536; do
    printf '| %s | %s | %s | %s | %s |\n' "$n" "$pop" "${wall[$n/$pop/constant]}" \
      "${wall[$n/$pop/lognormal 0.5]}" "${wall[$n/$pop/1% 10x stragglers]}"
  done
done
