#!/usr/bin/python3
"""The numba peer of `quantfarm sweep --strategy ema_crossover`.

Same data (read from the quantfarm HDF5 store with h5py), same parameter sets, same
semantics: EMA seeded with the SMA of its first `period` closes, target +1/-1/0 from
the sign of fast - slow at each close, fills at the next open, costs per side on
every change, exposure = target * size, and the same metric formulas as
backtest/performance_accumulator.h. This is how a vectorbt/numba user writes a fast
sweep: indicators cached per unique period, one jitted loop per parameter set.

Prints JSON: sets, bars, seconds (excluding JIT compilation), bar_evals_per_second
and the top sets by Sharpe with their metrics, for cross-checking.
"""
import argparse
import json
import math
import time

import h5py
import numba
import numpy as np
from numba import njit, prange


@njit(cache=False)
def ema(x, n):
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] < n:
        return out
    s = 0.0
    for i in range(n):
        s += x[i]
    e = s / n
    out[n - 1] = e
    alpha = 2.0 / (n + 1.0)
    for i in range(n, x.shape[0]):
        e = e + alpha * (x[i] - e)
        out[i] = e
    return out


@njit(cache=False)
def simulate(fast, slow, gap, intraday, cost, size):
    """Accounts one parameter set; returns the raw accumulators."""
    n = gap.shape[0]
    equity = 1.0
    rel = 1.0
    min_rel = 1.0
    uw = 0.0
    max_uw = 0.0
    sm = 0.0
    sq = 0.0
    dn = 0.0
    exposed = 0.0
    trade_rel = 1.0
    trades = 0.0
    closed = 0.0
    wins = 0.0
    gw = 0.0
    gl = 0.0
    e_hold = 0.0
    for t in range(1, n):
        f = fast[t - 1]
        s = slow[t - 1]
        sig = 0.0
        if f > s:
            sig = 1.0
        elif f < s:
            sig = -1.0
        e_new = sig * size
        changed = e_new != e_hold
        exit_cost = abs(e_hold) * cost if changed else 0.0
        entry_cost = abs(e_new) * cost if changed else 0.0
        m_hold = (1.0 + e_hold * gap[t]) * (1.0 - exit_cost)
        m_new = (1.0 - entry_cost) * (1.0 + e_new * intraday[t])
        m = m_hold * m_new
        if m < 0.0:
            m = 0.0
        r = m - 1.0
        equity = equity * m
        rel = rel * m
        if rel > 1.0:
            rel = 1.0
        if rel < min_rel:
            min_rel = rel
        uw = uw + 1.0 if rel < 1.0 else 0.0
        if uw > max_uw:
            max_uw = uw
        sm = sm + r
        sq = sq + r * r
        if r < 0.0:
            dn = dn + r * r
        if e_hold != 0.0 or e_new != 0.0:
            exposed += 1.0
        grown = trade_rel * (m_hold if changed else m)
        if changed and e_hold != 0.0:
            closed += 1.0
            if grown > 1.0:
                wins += 1.0
                gw += grown - 1.0
            elif grown < 1.0:
                gl += 1.0 - grown
        trade_rel = m_new if changed else grown
        if changed and e_new != 0.0:
            trades += 1.0
        e_hold = e_new
    if e_hold != 0.0:
        closed += 1.0
        if trade_rel > 1.0:
            wins += 1.0
            gw += trade_rel - 1.0
        elif trade_rel < 1.0:
            gl += 1.0 - trade_rel
    return np.array([equity, min_rel, max_uw, sm, sq, dn, exposed, trades, closed, wins,
                     gw, gl])


@njit(cache=False)
def sweep_serial(emas, period_index, fasts, slows, gap, intraday, cost, size):
    out = np.empty((fasts.shape[0], 12))
    for k in range(fasts.shape[0]):
        out[k] = simulate(emas[period_index[fasts[k]]], emas[period_index[slows[k]]], gap,
                          intraday, cost, size)
    return out


@njit(parallel=True, cache=False)
def sweep_parallel(emas, period_index, fasts, slows, gap, intraday, cost, size):
    out = np.empty((fasts.shape[0], 12))
    for k in prange(fasts.shape[0]):
        out[k] = simulate(emas[period_index[fasts[k]]], emas[period_index[slows[k]]], gap,
                          intraday, cost, size)
    return out


@njit(cache=False)
def all_emas(close, periods):
    out = np.empty((periods.shape[0], close.shape[0]))
    for i in range(periods.shape[0]):
        out[i] = ema(close, periods[i])
    return out


def metrics(acc, bars, bpy):
    equity, min_rel, max_uw, sm, sq, dn, exposed, trades, closed, wins, gw, gl = acc
    n = float(bars)
    mean = sm / n
    var = (sq - sm * mean) / (n - 1.0) if bars > 1 else 0.0
    sd = math.sqrt(var) if var > 0 else 0.0
    annual = math.sqrt(bpy)
    downside = math.sqrt(dn / n)
    cagr = equity ** (bpy / n) - 1.0 if equity > 0 else -1.0
    maxdd = 1.0 - min_rel
    return {
        "total_return": equity - 1.0,
        "cagr": cagr,
        "volatility": sd * annual,
        "sharpe": mean / sd * annual if sd > 0 else 0.0,
        "sortino": mean / downside * annual if downside > 0 else 0.0,
        "max_drawdown": maxdd,
        "max_drawdown_duration": int(max_uw),
        "trades": int(trades),
        "win_rate": wins / closed if closed > 0 else 0.0,
        "profit_factor": gw / gl if gl > 0 else (1e6 if gw > 0 else 0.0),
        "exposure": exposed / n,
    }


def load_returns(store, symbol, timeframe):
    """Closes and the per-bar returns quantfarm's engine uses (backtest/market.cc)."""
    with h5py.File(store, "r") as f:
        g = f[symbol][timeframe]
        open_ = np.ascontiguousarray(g["open"][:], dtype=np.float64)
        close = np.ascontiguousarray(g["close"][:], dtype=np.float64)
    n = close.shape[0]
    gap = np.zeros(n)
    intraday = np.zeros(n)
    gap[1:] = open_[1:] / close[:-1] - 1.0
    intraday[1:] = close[1:] / open_[1:] - 1.0
    intraday[0] = close[0] / open_[0] - 1.0
    return close, gap, intraday


def axis(spec):
    lo, hi, step = (float(v) for v in spec.split(":"))
    count = int(math.floor((hi - lo) / step + 1e-9)) + 1
    return [int(lo + i * step) for i in range(count)]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--store", required=True)
    ap.add_argument("--symbol", required=True)
    ap.add_argument("--timeframe", default="1d")
    ap.add_argument("--fast", required=True, help="lo:hi:step")
    ap.add_argument("--slow", required=True, help="lo:hi:step")
    ap.add_argument("--cost-bps", type=float, default=2.0, help="per side, all costs")
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--bars-per-year", type=float, default=252.0)
    ap.add_argument("--threads", type=int, default=1,
                    help="1: serial loop; >1: numba prange over parameter sets")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()

    close, gap, intraday = load_returns(args.store, args.symbol, args.timeframe)
    n = close.shape[0]

    pairs = [(a, b) for a in axis(args.fast) for b in axis(args.slow) if a < b]
    fasts = np.array([p[0] for p in pairs], dtype=np.int64)
    slows = np.array([p[1] for p in pairs], dtype=np.int64)
    periods = np.array(sorted(set(fasts) | set(slows)), dtype=np.int64)
    period_index = np.zeros(int(periods.max()) + 1, dtype=np.int64)
    for i, p in enumerate(periods):
        period_index[p] = i
    cost = args.cost_bps * 1e-4
    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
    sweep = sweep_parallel if args.threads > 1 else sweep_serial

    # Compile on a small slice first so that the timing excludes JIT compilation.
    small = min(n, 1000)
    e_small = all_emas(close[:small], np.array([2, 3], dtype=np.int64))
    pi_small = np.array([0, 0, 0, 1], dtype=np.int64)
    sweep(e_small, pi_small, np.array([2]), np.array([3]), gap[:small], intraday[:small],
          cost, args.size)

    start = time.perf_counter()
    emas = all_emas(close, periods)
    acc = sweep(emas, period_index, fasts, slows, gap, intraday, cost, args.size)
    seconds = time.perf_counter() - start

    rows = []
    for k in range(len(pairs)):
        m = metrics(acc[k], n - 1, args.bars_per_year)
        rows.append({"params": {"fast": int(fasts[k]), "slow": int(slows[k])},
                     "metrics": m})
    rows.sort(key=lambda r: -r["metrics"]["sharpe"])
    print(json.dumps({
        "peer": "numba " + numba.__version__,
        "threads": args.threads,
        "sets": len(pairs),
        "bars": n,
        "seconds": seconds,
        "bar_evals_per_second": len(pairs) * n / seconds,
        "top": rows[:args.top],
    }, indent=2))


if __name__ == "__main__":
    main()
