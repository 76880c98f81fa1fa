#!/usr/bin/env bash
# Speedup report of `quantfarm evolve`: the same evaluation-dominated GA (ema_crossover,
# in-sample Sharpe, population POP over BARS bars) on 1, 2, ... worker ranks up to the
# machine's cores (mpirun -np workers+1: a sleeping head + single-threaded workers),
# plus local mode with 1 thread and with every core. Prints the wall seconds of each
# (the results file's "seconds" attribute: no process start-up, no data loading), the
# speedup and parallel efficiency against one worker rank and against local 1-thread,
# checks the target (2 workers >= 1.9x one worker on a 2-core machine, >= 2x with 3 or
# more cores), and checks that every run's /generations datasets are bit-identical
# (exit 1 if not).
# Usage: bench/evolve_speedup.sh [path/to/quantfarm]
# Environment: BARS (default 1000000), POP (512), GENERATIONS (3), REPEAT (1: best of).
source "$(dirname "$0")/evolve_workload.sh" "${1:-}" 3

run() {  # run NAME CMD...: bounded, output kept for the report on failure
  local name=$1
  shift
  if ! timeout 1800 "$@" > "$work/$name.log" 2>&1; then
    echo "FAILED: $name: $*" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$repeat"); do
  run "local-t1.$i" "$qf" evolve --config "$work/evolve.json" --out "$work/local-t1.$i.h5" \
    --threads 1 --quiet
  for w in $(seq 1 "$cores"); do
    run "mpi-w$w.$i" mpirun --allow-run-as-root --oversubscribe --enable-recovery -np $((w + 1)) \
      "$qf" evolve --config "$work/evolve.json" --out "$work/mpi-w$w.$i.h5" --threads 1 --quiet
  done
  run "local-t$cores.$i" "$qf" evolve --config "$work/evolve.json" \
    --out "$work/local-t$cores.$i.h5" --threads "$cores" --quiet
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

"$py" - "$work" "$repeat" "$cores" "$bars" "$pop" "$gens" <<'PY'
import sys
import h5py
work, repeat, cores, bars, pop, gens = sys.argv[1], *map(int, sys.argv[2:])

def attrs(path):
    with h5py.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}

def generations(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype.str, obj.shape, obj[()].tobytes())
        f["generations"].visititems(visit)
    return out

configs = [("local-t1", "local, 1 thread", 1)]
configs += [(f"mpi-w{w}", f"mpirun -np {w + 1}: {w} worker{'s' if w > 1 else ''} x 1 thread", w)
            for w in range(1, cores + 1)]
configs.append((f"local-t{cores}", f"local, {cores} threads", cores))
rows = []
for key, label, units in configs:
    runs = []
    for i in range(1, repeat + 1):
        path = f"{work}/{key}.{i}.h5"
        a = attrs(path)
        runs.append((float(a["seconds"]), int(a["evaluated"]), path))
    seconds, evaluated, path = min(runs)
    rows.append({"key": key, "label": label, "units": units, "seconds": seconds,
                 "evaluated": evaluated, "paths": [r[2] for r in runs]})

by = {r["key"]: r for r in rows}
w1 = by["mpi-w1"]["seconds"]
t1 = by["local-t1"]["seconds"]
print(f"ema_crossover evolve speedup: population {pop}, {gens} generations, {bars} bars; "
      f"{cores} cores (best of {repeat})")
print(f"{'configuration':36s} {'seconds':>8s} {'evals':>6s} {'evals/s':>8s} "
      f"{'vs 1 worker':>12s} {'eff':>5s} {'vs local 1t':>12s} {'eff':>5s}")
for r in rows:
    s1, s2 = w1 / r["seconds"], t1 / r["seconds"]
    print(f"{r['label']:36s} {r['seconds']:8.2f} {r['evaluated']:6d} "
          f"{r['evaluated'] / r['seconds']:8.1f} {s1:11.2f}x {s1 / r['units']:5.2f} "
          f"{s2:11.2f}x {s2 / r['units']:5.2f}")

# Determinism: every run's /generations must be identical to the bit.
reference = generations(rows[0]["paths"][0])
mismatches = []
count = 0
for r in rows:
    for path in r["paths"]:
        other = generations(path)
        count += 1
        if other.keys() != reference.keys():
            mismatches.append(f"{path}: datasets differ: {sorted(set(other) ^ set(reference))}")
            continue
        for name, value in reference.items():
            if other[name] != value:
                mismatches.append(f"{path}: /generations/{name} differs")
print(f"bit-identical /generations across {count} runs ({len(reference)} datasets each): "
      + ("yes" if not mismatches else "NO"))
for m in mismatches[:20]:
    print("  " + m)
if mismatches:
    sys.exit(1)

target = 2.0 if cores >= 3 else 1.9
ok = not mismatches
if cores >= 2:
    s = w1 / by["mpi-w2"]["seconds"]
    met = s >= target
    ok = ok and met
    print(f"2 workers / 1 worker: {s:.2f}x  (target >= {target}x on {cores} cores: "
          f"{'MET' if met else 'SHORT'}); 2 workers / local 1 thread: "
          f"{t1 / by['mpi-w2']['seconds']:.2f}x")
else:
    print("one core: no 2-worker target to check")
print("targets: " + ("MET" if ok else "SHORT"))
PY
