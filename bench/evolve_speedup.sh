#!/usr/bin/env bash
# Speedup report of `quantfarm evolve` with worker ranks and threads, timed as the user
# waits for it: the wall time of the whole command (process start-up, MPI launch, data
# loading, writing the results), measured here with a monotonic clock; the results
# file's "seconds" attribute (the GA loop only) is shown beside it for information.
# Two workloads, each its own synthetic store and config (QUANTFARM_NO_CACHE=1):
#   ema    ema_crossover on AAA, BARS 1d bars, population POP, GENERATIONS, 4 islands
#          (the workload of evolve_workload.sh, shared with evolve_vs_deap.sh);
#   mixed  bollinger_reversion + ema_crossover + atr_volatility_breakout on 4 islands,
#          AAA with MIXED_BARS 1m bars, population POP, MIXED_GENERATIONS;
# both in-sample Sharpe (split 0.7), seed 42. Layouts, with C = nproc:
#   local-t1, local-tC    no mpirun, --threads 1 / --threads C;
#   w1-t1, wC-t1, w1-tC   mpirun -np 2 / C+1 / 2 (a sleeping head + 1 or C worker ranks)
#                         with --threads 1 / 1 / C.
# REPEAT interleaved repeats (repeat, workload, binary, layout; the order of the two
# binaries alternates between repeats); the report gives the median (min-max) of each.
# Targets (new binary, whole-process medians, every workload):
#   local-tC / w1-tC >= 0.95, local-t1 / wC-t1 >= 0.95*C, w1-t1 / wC-t1 >= 0.95*C
# (1.9 on 2 cores); the same ratios of the old binary are shown, not judged.
# Prints "targets: MET" or "targets: SHORT" (exit 0 either way). Exit 1 if a command
# fails or if any run's /generations datasets differ from the others' (bit for bit, over
# every layout and both binaries).
# Usage: bench/evolve_speedup.sh [path/to/quantfarm]     (default build/app/quantfarm)
# Environment: BARS (default 1000000), POP (512), GENERATIONS (3), MIXED_BARS (400000),
#   MIXED_GENERATIONS (4), REPEAT (3), WORKLOADS ("ema mixed"), OLD_QF (a second binary
#   run side by side, e.g. the previous build; none by default), MPI_FLAGS (default
#   "--allow-run-as-root --oversubscribe --enable-recovery --bind-to none": the head
#   sleeps, so its extra rank costs nothing; without --bind-to none Open MPI binds each of
#   at most 2 ranks to one core, and a rank with C threads would get only one),
#   NEW_ARGS (extra `evolve` flags for the new binary only, e.g. "--shared-series").
for w in ${WORKLOADS:-ema mixed}; do
  case $w in
    ema | mixed) ;;
    *) echo "unknown workload '$w' in WORKLOADS (ema, mixed)" >&2; exit 1 ;;
  esac
done
source "$(dirname "$0")/evolve_workload.sh" "${1:-}" 3
repeat=${REPEAT:-3}
mixed_bars=${MIXED_BARS:-400000}
mixed_gens=${MIXED_GENERATIONS:-4}
workloads=${WORKLOADS:-ema mixed}
old_qf=${OLD_QF:-}
mpi_flags=${MPI_FLAGS:---allow-run-as-root --oversubscribe --enable-recovery --bind-to none}

if [[ -n $old_qf && ! -x $old_qf ]]; then
  echo "OLD_QF=$old_qf is not an executable" >&2
  exit 1
fi
if [[ " $workloads " == *" mixed "* ]]; then
  "$qf" data synth --symbols 1 --bars "$mixed_bars" --timeframe 1m --seed 7 \
    --store "$work/mixed.h5" >/dev/null
  # The ema workload's GA, fitness and engine settings, other strategies and data.
  "$py" - "$work" "$mixed_gens" <<'PY'
import json, sys
work, gens = sys.argv[1], int(sys.argv[2])
c = json.load(open(f"{work}/evolve.json"))
c.update(strategy=["bollinger_reversion", "ema_crossover", "atr_volatility_breakout"],
         store=f"{work}/mixed.h5", timeframe="1m", generations=gens)
json.dump(c, open(f"{work}/mixed.json", "w"))
PY
fi

"$py" - "$work" "$qf" "$old_qf" "$repeat" "$cores" "$bars" "$pop" "$gens" "$mixed_bars" \
  "$mixed_gens" "$workloads" "$mpi_flags" <<'PY'
import os, shlex, statistics, subprocess, sys, time
import h5py

work, qf, old_qf = sys.argv[1:4]
repeat, cores, bars, pop, gens, mbars, mgens = map(int, sys.argv[4:11])
workloads, mpi = sys.argv[11].split(), shlex.split(sys.argv[12])
C = cores
binaries = [("new", qf)] + ([("old", old_qf)] if old_qf else [])
describe = {
    "ema": (f"{work}/evolve.json", f"ema_crossover on AAA, {bars} bars 1d, population {pop}, "
            f"{gens} generations, 4 islands"),
    "mixed": (f"{work}/mixed.json", f"bollinger_reversion + ema_crossover + "
              f"atr_volatility_breakout on AAA, {mbars} bars 1m, population {pop}, "
              f"{mgens} generations, 4 islands"),
}

def plural(n, word):
    return f"{n} {word}{'s' if n != 1 else ''}"

# name -> (mpirun -np, 0 = local mode; --threads); on one core the names coincide.
layouts = {}
for name, np_, threads in [("local-t1", 0, 1), (f"local-t{C}", 0, C), ("w1-t1", 2, 1),
                           (f"w{C}-t1", C + 1, 1), (f"w1-t{C}", 2, C)]:
    layouts.setdefault(name, (np_, threads))

def label(name):
    np_, threads = layouts[name]
    if not np_:
        return f"local, {plural(threads, 'thread')}"
    return f"mpirun -np {np_}: {plural(np_ - 1, 'worker')} x {plural(threads, 'thread')}"

def generations(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype.str, obj.shape, obj[()].tobytes())
        f["generations"].visititems(visit)
    return out

def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])

times = {}       # (workload, binary, layout) -> [(whole-process s, "seconds" attribute)]
evaluated = {}   # workload -> the "evaluated" attribute of its first run
reference = {}   # workload -> (path, /generations of its first run)
mismatches = {w: [] for w in workloads}
runs = {w: 0 for w in workloads}
total = repeat * len(workloads) * len(binaries) * len(layouts)
done = 0
print(f"load average before: {loadavg()}")
sys.stdout.flush()
for i in range(1, repeat + 1):
    for w in workloads:
        config = describe[w][0]
        for b, binary in (binaries if i % 2 else binaries[::-1]):
            env = dict(os.environ, QUANTFARM_NO_CACHE="1",
                       QUANTFARM_REGISTRY=f"{work}/registry-{b}.db")
            for name, (np_, threads) in layouts.items():
                tag = f"{w}.{b}.{name}.{i}"
                out = f"{work}/{tag}.h5"
                cmd = [binary, "evolve", "--config", config, "--out", out,
                       "--threads", str(threads), "--quiet"]
                if b == "new":
                    cmd += os.environ.get("NEW_ARGS", "").split()
                if np_:
                    cmd = ["mpirun", *mpi, "-np", str(np_)] + cmd
                cmd = ["timeout", "1800"] + cmd
                with open(f"{work}/{tag}.log", "w") as log:
                    t0 = time.perf_counter()
                    rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                                        env=env).returncode
                    wall = time.perf_counter() - t0
                if rc != 0:
                    print(f"FAILED (exit {rc}): {tag}: {shlex.join(cmd)}", file=sys.stderr)
                    sys.stderr.write(open(f"{work}/{tag}.log").read())
                    sys.exit(1)
                with h5py.File(out, "r") as f:
                    seconds = float(f.attrs.get("seconds", float("nan")))
                    evaluated.setdefault(w, int(f.attrs.get("evaluated", -1)))
                times.setdefault((w, b, name), []).append((wall, seconds))
                gen = generations(out)
                runs[w] += 1
                if w not in reference:
                    reference[w] = (out, gen)
                elif gen.keys() != reference[w][1].keys():
                    mismatches[w].append(f"{tag}: datasets differ: "
                                         f"{sorted(set(gen) ^ set(reference[w][1]))}")
                else:
                    mismatches[w] += [f"{tag}: /generations/{d} differs"
                                      for d, v in reference[w][1].items() if gen[d] != v]
                os.remove(out)
                done += 1
                print(f"[{done}/{total}] {tag}: {wall:.2f} s (seconds attribute "
                      f"{seconds:.2f})", file=sys.stderr, flush=True)
print(f"load average after:  {loadavg()}")

def med(w, b, name, k):
    return statistics.median(t[k] for t in times[(w, b, name)])

target_c = round(0.95 * C, 2)
ratios = [  # (text, numerator layout, denominator layout, target or None)
    (f"1 worker x {plural(C, 'thread')} / local {plural(C, 'thread')}",
     f"local-t{C}", f"w1-t{C}", 0.95),
    (f"{plural(C, 'worker')} x 1 thread / local 1 thread", "local-t1", f"w{C}-t1", target_c),
    (f"{plural(C, 'worker')} x 1 thread / 1 worker x 1 thread", "w1-t1", f"w{C}-t1",
     target_c),
    (f"local {plural(C, 'thread')} / local 1 thread", "local-t1", f"local-t{C}", None),
]
met = True
for w in workloads:
    print()
    print(f"{w}: {describe[w][1]}; {evaluated[w]} evaluations; {plural(C, 'core')}; "
          f"median (min-max) of {repeat} interleaved runs")
    head = f"{'layout':9s} {'configuration':36s}"
    for b, _ in binaries:
        head += f" {b + ': whole s (min-max)':>25s} {'seconds':>8s}"
    print(head)
    for name in layouts:
        row = f"{name:9s} {label(name):36s}"
        for b, _ in binaries:
            walls = [t[0] for t in times[(w, b, name)]]
            span = f"{med(w, b, name, 0):.2f} ({min(walls):.2f}-{max(walls):.2f})"
            row += f" {span:>25s} {med(w, b, name, 1):8.2f}"
        print(row)
    extra = "       old" if len(binaries) > 1 else ""
    print(f"{'speedup (whole-process medians)':46s} {'new':>7s} {'(attr)':>7s} "
          f"{'target':>14s}{extra}")
    for text, num, den, target in ratios:
        r = {b: med(w, b, num, 0) / med(w, b, den, 0) for b, _ in binaries}
        attr = med(w, "new", num, 1) / med(w, "new", den, 1)
        if target is None:
            judged = "(info)"
        else:
            ok = r["new"] >= target
            met = met and ok
            judged = f">= {target:.2f} {'MET' if ok else 'SHORT'}"
        line = f"{text:46s} {r['new']:6.2f}x {attr:6.2f}x {judged:>14s}"
        if "old" in r:
            line += f" {r['old']:8.2f}x"
        print(line)
    if mismatches[w]:
        print(f"bit-identical /generations across {runs[w]} runs: NO "
              f"(reference {os.path.basename(reference[w][0])})")
        for m in mismatches[w][:20]:
            print("  " + m)
    else:
        print(f"bit-identical /generations across {runs[w]} runs "
              f"({len(reference[w][1])} datasets each): yes")
print()
print("targets: " + ("MET" if met else "SHORT"))
sys.exit(1 if any(mismatches.values()) else 0)
PY
