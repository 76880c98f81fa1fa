#!/usr/bin/python3
"""The DEAP peer of `quantfarm evolve` (ema_crossover, in-sample Sharpe).

The same genetic search written the way a DEAP user writes it: creator/toolbox,
tools.selTournament, tools.cxUniform, tools.selBest elites, tools.migRing between
island populations (one list per island), and the fitness evaluated by the jitted
numba backtest of bench/numba_ema_sweep.py (its `ema`, `simulate` and `metrics`,
imported, not copied) through a multiprocessing Pool on all cores
(toolbox.register("map", pool.map)).

Workload, matching the evolve config that bench/evolve_vs_deap.sh writes:
  - data: the quantfarm HDF5 store read with h5py (f[symbol][timeframe]["open"/"close"]);
  - genes: fast int [2, 200], slow int [3, 400], fast < slow; invalid individuals are
    repaired by resampling (initial ones redrawn; children re-mutated from the
    pre-mutation child, up to 20 times, else a copy of its selected parent);
  - fitness: Sharpe on the in-sample segment of quantfarm's split, bars [1, cut) with
    cut = 1 + int((n - 1) * in_sample), next-open fills, 2 bps per side, size 1, long
    and short. The arrays are sliced to bars [0, cut) before the EMAs and the
    accounting: the EMAs are causal, so this equals quantfarm's in_sample segment to
    the bit, and the peer does only the in-sample work (quantfarm accounts every
    segment). min_trades 0 and max_drawdown 1.0 make every individual feasible;
  - no indicator cache: each evaluation computes its own two EMAs, as a DEAP user's
    evaluate(individual) does;
  - generations = number of evaluated populations, as in quantfarm: the initial
    population, then generations - 1 bred ones. Per island and generation: the
    `elitism` best (tools.selBest) survive unchanged, the rest are offspring of
    tournament selection (with replacement), cxUniform (indpb 0.5) with probability
    crossover_rate on consecutive pairs, and integer gaussian mutation of each gene
    with probability mutation_rate (step = round(N(0, sigma * range)), at least one,
    clamped; at a bound it goes the other way). Ring migration of the migration_size
    best copies every migration_interval generations, replacing random individuals
    (DEAP's onemax_island example);
  - only individuals with invalid fitness are evaluated (DEAP convention), all islands'
    in one toolbox.map call per generation. Crossover invalidates both children (even
    when uniform crossover gave back the parents' genomes), mutation invalidates a child
    when it moved a gene (varAnd with mutpb = P(some gene mutates)); there is no memo
    of genomes seen before, so a genome that reappears is evaluated again.

JIT compilation is excluded from the time: every pool worker compiles and runs a tiny
evaluation in its initializer, and the clock starts once all workers are warm. HDF5
loading is excluded too. Prints JSON: peer, processes, seconds, evaluations,
distinct (distinct genomes evaluated), best {fast, slow, fitness}.
"""
import argparse
import json
import multiprocessing
import os
import random
import sys
import time

import deap
import h5py
import numba
import numpy as np
from deap import base, creator, tools

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numba_ema_sweep import ema, load_returns, metrics, simulate  # noqa: E402

FAST = (2, 200)
SLOW = (3, 400)
BOUNDS = (FAST, SLOW)

# Per-process market state, set by load_market() (in the parent and in each worker).
_M = {}


def timeframe_bars_per_year(timeframe):
    """Bars per year as quantfarm annualises: 252 days of 6.5 hours."""
    if timeframe in ("1d", "d", "D"):
        return 252.0
    if timeframe in ("1w", "w"):
        return 52.0
    unit, count = timeframe[-1], int(timeframe[:-1] or 1)
    minutes = {"m": 1, "h": 60}[unit] * count
    return 252.0 * 6.5 * 60.0 / minutes


def load_market(store, symbol, timeframe, in_sample, cost, size):
    close, gap, intraday = load_returns(store, symbol, timeframe)
    n = close.shape[0]
    cut = 1 + int((n - 1) * in_sample)  # quantfarm's in_sample segment is [1, cut)
    _M.update(close=np.ascontiguousarray(close[:cut]), gap=np.ascontiguousarray(gap[:cut]),
              intraday=np.ascontiguousarray(intraday[:cut]), cut=cut, bars=n, cost=cost,
              size=size, bpy=timeframe_bars_per_year(timeframe))


def evaluate(individual):
    """In-sample Sharpe of one (fast, slow); computes both EMAs every time."""
    fast, slow = int(individual[0]), int(individual[1])
    close = _M["close"]
    acc = simulate(ema(close, fast), ema(close, slow), _M["gap"], _M["intraday"],
                   _M["cost"], _M["size"])
    return (metrics(acc, _M["cut"] - 1, _M["bpy"])["sharpe"],)


def warm_up():
    """Compiles the jitted functions on a tiny slice (excluded from the timing)."""
    c = _M["close"][:64]
    simulate(ema(c, 2), ema(c, 3), _M["gap"][:64], _M["intraday"][:64], _M["cost"],
             _M["size"])


def init_worker(*market):
    load_market(*market)
    warm_up()


def worker_pid(_):
    time.sleep(0.05)
    return os.getpid()


def valid(ind):
    return ind[0] < ind[1]


def mut_gaussian_int(individual, bounds, sigma, indpb):
    """Integer gaussian mutation: each gene with probability indpb moves by
    round(N(0, sigma * (up - low))), at least one step, clamped to the bounds; when
    clamping would leave it unchanged it moves the other way."""
    for i, (low, up) in enumerate(bounds):
        if random.random() < indpb:
            delta = round(random.gauss(0.0, sigma * (up - low)))
            if delta == 0:
                delta = 1 if random.random() < 0.5 else -1
            moved = min(up, max(low, individual[i] + delta))
            if moved == individual[i]:
                moved = min(up, max(low, individual[i] - delta))
            individual[i] = moved
    return individual,


def random_genome():
    return [random.randint(*FAST), random.randint(*SLOW)]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True)
    ap.add_argument("--symbol", default="AAA")
    ap.add_argument("--timeframe", default="1d")
    ap.add_argument("--population", type=int, default=512)
    ap.add_argument("--generations", type=int, default=5)
    ap.add_argument("--islands", type=int, default=4)
    ap.add_argument("--migration-interval", type=int, default=5)
    ap.add_argument("--migration-size", type=int, default=2)
    ap.add_argument("--tournament-size", type=int, default=3)
    ap.add_argument("--crossover-rate", type=float, default=0.8)
    ap.add_argument("--mutation-rate", type=float, default=0.2)
    ap.add_argument("--mutation-sigma", type=float, default=0.1)
    ap.add_argument("--elitism", type=int, default=2)
    ap.add_argument("--in-sample", type=float, default=0.7)
    ap.add_argument("--cost-bps", type=float, default=2.0, help="per side, all costs")
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("--check", metavar="FAST:SLOW", nargs="*",
                    help="print the fitness of these genomes (no GA) and exit")
    args = ap.parse_args()

    market = (args.store, args.symbol, args.timeframe, args.in_sample,
              args.cost_bps * 1e-4, args.size)
    if args.check is not None:
        load_market(*market)
        out = []
        for spec in args.check:
            f, s = (int(v) for v in spec.split(":"))
            out.append({"fast": f, "slow": s, "sharpe": evaluate([f, s])[0]})
        print(json.dumps(out, indent=2))
        return

    random.seed(args.seed)
    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
    creator.create("Individual", list, fitness=creator.FitnessMax)
    toolbox = base.Toolbox()
    toolbox.register("individual", tools.initIterate, creator.Individual, random_genome)
    toolbox.register("evaluate", evaluate)
    toolbox.register("mate", tools.cxUniform, indpb=0.5)
    toolbox.register("mutate", mut_gaussian_int, bounds=BOUNDS, sigma=args.mutation_sigma,
                     indpb=args.mutation_rate)
    toolbox.register("select", tools.selTournament, tournsize=args.tournament_size)
    toolbox.register("migrate", tools.migRing, k=args.migration_size,
                     selection=tools.selBest, replacement=random.sample)

    def new_individual():
        ind = toolbox.individual()
        while not valid(ind):  # repair by resampling
            ind = toolbox.individual()
        return ind

    def vary(offspring):
        """varAnd with the repair: crossover on consecutive pairs with probability
        crossover_rate, then mutation of each gene with probability mutation_rate.
        Fitness is invalidated by crossover, and by a mutation that moved a gene
        (as varAnd with mutpb = P(some gene mutates))."""
        parents = [list(ind) for ind in offspring]
        for i in range(1, len(offspring), 2):
            if random.random() < args.crossover_rate:
                toolbox.mate(offspring[i - 1], offspring[i])
                del offspring[i - 1].fitness.values, offspring[i].fitness.values
        for i, child in enumerate(offspring):
            before = list(child)
            toolbox.mutate(child)
            for _ in range(20):  # repair by resampling the mutation
                if valid(child):
                    break
                child[:] = before
                toolbox.mutate(child)
            if not valid(child):
                child[:] = parents[i]  # still invalid: a copy of the parent
                if child.fitness.valid:
                    del child.fitness.values
            if list(child) != before and child.fitness.valid:
                del child.fitness.values
        return offspring

    with h5py.File(args.store, "r") as f:
        bars = int(f[args.symbol][args.timeframe]["close"].shape[0])
    sizes = [args.population // args.islands + (1 if i < args.population % args.islands else 0)
             for i in range(args.islands)]
    processes = max(1, args.processes)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes, initializer=init_worker, initargs=market) as pool:
        toolbox.register("map", pool.map)
        # Wait until every worker has loaded the data and compiled (initializer done).
        seen = set()
        while len(seen) < processes:
            seen.update(pool.map(worker_pid, range(processes), chunksize=1))

        evaluations = 0
        distinct = set()

        def evaluate_invalid(islands):
            nonlocal evaluations
            invalid = [ind for isl in islands for ind in isl if not ind.fitness.valid]
            for ind, fit in zip(invalid, toolbox.map(toolbox.evaluate, invalid)):
                ind.fitness.values = fit
            evaluations += len(invalid)
            distinct.update(tuple(ind) for ind in invalid)

        start = time.perf_counter()
        islands = [[new_individual() for _ in range(size)] for size in sizes]
        evaluate_invalid(islands)
        for gen in range(1, args.generations):
            for i, isl in enumerate(islands):
                elites = list(map(toolbox.clone, tools.selBest(isl, args.elitism)))
                offspring = list(map(toolbox.clone,
                                     toolbox.select(isl, len(isl) - args.elitism)))
                islands[i] = elites + vary(offspring)
            evaluate_invalid(islands)
            if args.migration_interval > 0 and gen % args.migration_interval == 0:
                toolbox.migrate(islands)
        seconds = time.perf_counter() - start

    best = tools.selBest([ind for isl in islands for ind in isl], 1)[0]
    print(json.dumps({
        "peer": f"deap {deap.__version__} + numba {numba.__version__}",
        "processes": processes,
        "seconds": seconds,
        "evaluations": evaluations,
        "distinct": len(distinct),
        "generations": args.generations,
        "population": args.population,
        "bars": bars,
        "best": {"fast": int(best[0]), "slow": int(best[1]),
                 "fitness": best.fitness.values[0]},
    }, indent=2))


if __name__ == "__main__":
    main()
