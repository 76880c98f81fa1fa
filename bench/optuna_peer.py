#!/usr/bin/python3
"""Optuna's TPE sampler on quantfarm's fitness function, for bench/search_efficiency.sh.

Every parameter set is scored by ONE long-running `quantfarm evaluate --config CONFIG`
process (a JSON request line on its stdin, a result line on its stdout), so the peer
optimises exactly the function `quantfarm search` optimises, bit for bit. The space is
the strategy's, read from `quantfarm strategies --json`: integers through suggest_int
with their step, floats through suggest_float with their step (Optuna's grid-aligned
floats, e.g. 2.4000000000000004, are snapped by `evaluate` to the grid's 2.4).

The budget is counted as quantfarm counts its own: distinct evaluations (backtests). A
proposal that `evaluate` refuses as inconsistent (e.g. exit >= entry) is reported to
Optuna as pruned (TPE ranks pruned trials without values below every completed one)
and costs no evaluation; a proposal that snaps to a set already evaluated is told the
same value again and costs none either. Stops after --trials distinct evaluations (or
--max-proposals proposals). Prints one JSON object: the fitness of each distinct
evaluation in order, the best, and the proposal counts.

Usage: optuna_peer.py --qf BINARY --config search.json --seed S [--trials 100]
"""
import argparse
import json
import subprocess
import sys
import time

import optuna


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qf", required=True, help="the quantfarm binary")
    ap.add_argument("--config", required=True, help="search config (its first strategy)")
    ap.add_argument("--seed", type=int, required=True, help="TPESampler seed")
    ap.add_argument("--trials", type=int, default=100, help="distinct evaluations")
    ap.add_argument("--max-proposals", type=int, default=0,
                    help="give up after this many proposals (default 20 x --trials)")
    ap.add_argument("--startup", type=int, default=10, help="TPE n_startup_trials (Optuna's 10)")
    a = ap.parse_args()
    if a.trials < 1:
        sys.exit("--trials must be >= 1")
    max_proposals = a.max_proposals or 20 * a.trials

    config = json.load(open(a.config))
    strategy = config["strategy"] if isinstance(config["strategy"], str) else config["strategy"][0]
    spaces = json.loads(subprocess.run([a.qf, "strategies", "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    space = next(s["params"] for s in spaces if s["name"] == strategy)
    bounds = config.get("bounds", {})

    evaluator = subprocess.Popen([a.qf, "evaluate", "--config", a.config, "--threads", "1"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 bufsize=1)

    def evaluate(params):
        evaluator.stdin.write(json.dumps({"params": params}) + "\n")
        evaluator.stdin.flush()
        line = evaluator.stdout.readline()
        if not line:
            raise RuntimeError("quantfarm evaluate exited (rc %s)" % evaluator.wait())
        return json.loads(line)

    seen = {}          # snapped params (JSON text) -> fitness
    order = []         # fitness of each distinct evaluation, in evaluation order
    best = {"fitness": None, "params": None}
    counts = {"proposals": 0, "inconsistent": 0, "duplicates": 0}

    def objective(trial):
        counts["proposals"] += 1
        params = {}
        for p in space:
            lo, hi = bounds.get(p["name"], [p["min"], p["max"]])
            if p["type"] == "int":
                params[p["name"]] = trial.suggest_int(p["name"], int(lo), int(hi),
                                                      step=int(p["step"]))
            else:
                params[p["name"]] = trial.suggest_float(p["name"], lo, hi, step=p["step"])
        r = evaluate(params)
        if "error" in r:
            if r["error"].startswith("inconsistent parameters"):
                counts["inconsistent"] += 1
                raise optuna.TrialPruned(r["error"])
            raise RuntimeError("quantfarm evaluate: %s (request %s)" % (r["error"], params))
        key = json.dumps(r["params"], sort_keys=True)
        if key in seen:
            counts["duplicates"] += 1
            return seen[key]
        seen[key] = r["fitness"]
        order.append(r["fitness"])
        if best["fitness"] is None or r["fitness"] > best["fitness"]:
            best.update(fitness=r["fitness"], params=r["params"], feasible=r["feasible"])
        return r["fitness"]

    def stop(study, _trial):
        if len(order) >= a.trials or counts["proposals"] >= max_proposals:
            study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=a.seed, n_startup_trials=a.startup)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    t0 = time.perf_counter()
    study.optimize(objective, callbacks=[stop])
    seconds = time.perf_counter() - t0
    evaluator.stdin.close()
    if evaluator.wait() != 0:
        sys.exit("quantfarm evaluate failed")
    json.dump({"peer": "optuna %s TPESampler(seed=%d, n_startup_trials=%d)"
                       % (optuna.__version__, a.seed, a.startup),
               "strategy": strategy, "evaluations": len(order), "fitness": order,
               "best": best, "seconds": seconds, **counts}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
