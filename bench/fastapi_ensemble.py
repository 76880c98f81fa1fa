#!/usr/bin/python3
"""Ensemble predictions as a FastAPI user writes them: the peer of `quantfarm serve`.

Serves the routes of bench/ensemble_vs_fastapi.sh with the JSON of quantfarm's:
  GET  /health                     {"services": {"ensemble": "healthy"}, "status": "healthy"}
  POST /ensemble/{name}/predict    {"symbol": "AAA"} -> {"signal", "confidence",
                                   "num_models", "voting_method", "threshold", "score",
                                   "members": [{"id", "strategy", "position", "strength",
                                   "weight", "vote"}], "version", "as_of", "ensemble",
                                   "symbol"} (services/ensemble_service.cc Predict)

Every series of the store is read once with h5py at start into numpy arrays (again when
the store file changes, checked per request with os.stat, as quantfarm does), and the
ensembles once from the registry (sqlite3, read-only). Per request, as quantfarm does:
`SELECT version FROM ensembles WHERE name = ?`, the members reloaded when it changed;
then each member's target positions over the whole series and its strength at the last
bar (backtest/strategies/README.md) with numpy, and the vote (backtest/ensemble_vote.cc
Decide). Indicators are vectorised: rolling means and population standard deviations
from running sums (numpy cumsum of the centred closes), EMA and Wilder's RSI smoothing with scipy.signal.lfilter;
the stateful reversion rules (rsi_mean_reversion, bollinger_reversion,
zscore_reversion) jump from entry to exit with precomputed next-event indices (a Python
loop over trades, not bars). Seeds supported: sma_crossover, ema_crossover,
rsi_mean_reversion, bollinger_reversion, momentum_roc, zscore_reversion; an ensemble
with another seed is answered with 400.

Efficient FastAPI: async endpoints (no thread pool), the body parsed once with
json.loads, responses serialised with json.dumps into a plain Response, access log off.

Usage: fastapi_ensemble.py --store quantfarm.h5 --registry registry.db [--port 8001]
                           [--workers 1]
(--workers also from $QF_PEER_WORKERS). One uvicorn worker process by default; with
--workers N uvicorn forks N processes sharing the socket.
"""
import argparse
import datetime
import json
import math
import os
import re
import socket
import sqlite3
import sys

import h5py
import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from scipy.signal import lfilter

NAN = float("nan")
MAX_SYMBOL = 32
SYMBOL_RE = re.compile(r"[A-Za-z0-9._-]{1,32}\Z")
CROSSOVER_SCALE = 1.0  # backtest/strategies/signal_strength.h
MOMENTUM_SCALE = 4.0


class BadRequest(Exception):
    pass


class NotFound(Exception):
    pass


# ---------------------------------------------------------------- indicators (numpy)
# Full-length float64 arrays, NaN during warm-up, index t from bars 0..t only
# (backtest/indicators.h).

def rolling_sums(x, n):
    """Sums of y = x - c and of y*y over each window of n (index n-1 on), from running
    sums of the data centred on its mean c (so that the sums of squares stay small):
    agrees with a two-pass sum per window to ~1e-11 relative on price-like series."""
    c = x.mean()
    y = x - c
    c1, c2 = np.cumsum(y), np.cumsum(y * y)
    s1, s2 = c1[n - 1:].copy(), c2[n - 1:].copy()
    s1[1:] -= c1[:-n]
    s2[1:] -= c2[:-n]
    return c, s1, s2


def sma(x, n):
    out = np.full(x.size, NAN)
    if x.size >= n:
        c, s1, _ = rolling_sums(x, n)
        out[n - 1:] = s1 / n + c
    return out


def rolling_mean_std(x, n):  # the SMA and the population (ddof=0) standard deviation
    mean, sd = np.full(x.size, NAN), np.full(x.size, NAN)
    if x.size >= n:
        c, s1, s2 = rolling_sums(x, n)
        m = s1 / n
        mean[n - 1:] = m + c
        sd[n - 1:] = np.sqrt(np.maximum(s2 / n - m * m, 0.0))
    return mean, sd


def ema(x, n):  # seeded at n-1 with the mean of the first n values
    out = np.full(x.size, NAN)
    if x.size >= n:
        a = 2.0 / (n + 1.0)
        seed = x[:n].mean()
        out[n - 1] = seed
        out[n:] = lfilter([a], [1.0, a - 1.0], x[n:], zi=[(1.0 - a) * seed])[0]
    return out


def rsi(close, n):  # Wilder: simple mean of changes 1..n, then (avg*(n-1) + x)/n
    out = np.full(close.size, NAN)
    if close.size <= n:
        return out
    d = np.diff(close)
    gain = np.where(d > 0.0, d, 0.0)
    loss = np.where(d < 0.0, -d, 0.0)
    g0, l0 = gain[:n].sum() / n, loss[:n].sum() / n
    b, a = [1.0 / n], [1.0, -(n - 1.0) / n]
    g = np.empty(close.size - n)
    lo = np.empty(close.size - n)
    g[0], lo[0] = g0, l0
    g[1:] = lfilter(b, a, gain[n:], zi=[g0 * (n - 1.0) / n])[0]
    lo[1:] = lfilter(b, a, loss[n:], zi=[l0 * (n - 1.0) / n])[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 100.0 - 100.0 / (1.0 + g / lo)
    out[n:] = np.where(lo == 0.0, np.where(g == 0.0, 50.0, 100.0), r)
    return out


def roc(close, n):
    out = np.full(close.size, NAN)
    if close.size > n:
        out[n:] = close[n:] / close[:-n] - 1.0
    return out


def zscore(x, n):
    mean, sd = rolling_mean_std(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - mean) / sd
    return np.where(sd == 0.0, 0.0, z)  # NaN stays NaN in the warm-up


def crossover(a, b):  # +1 when a > b, -1 when a < b, else 0 (NaN: 0)
    return (a > b).astype(np.int8) - (a < b).astype(np.int8)


def threshold_rule(x, up):
    return (x > up).astype(np.int8) - (x < -up).astype(np.int8)


def next_index(mask):
    """next_index(m)[t] = the first i >= t with m[i], else m.size (one past: size + 1)."""
    n = mask.size
    idx = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1].tolist() + [n]


def reversion(x, long_entry, short_entry, long_exit, short_exit):
    """backtest/strategies/signal_rules.h Reversion: flat -> long when x < long_entry,
    short when x > short_entry; a long exits when x >= long_exit, a short when
    x <= short_exit (NaN compares false). Loops over trades: from an entry bar straight
    to its exit bar."""
    go_long = x < long_entry
    go_short = x > short_entry
    entry = next_index(go_long | go_short)
    exit_long = next_index(x >= long_exit)
    exit_short = next_index(x <= short_exit)
    n = x.size
    pos = np.zeros(n, np.int8)
    t = 0
    while t < n:
        j = entry[t]
        if j >= n:
            break
        if go_long[j]:
            k = exit_long[j + 1]
            pos[j:k] = 1
        else:
            k = exit_short[j + 1]
            pos[j:k] = -1
        t = k + 1  # flat at the exit bar; entries are looked for from the next one
    return pos


def unit(excess, scale):
    """signal_strength.h Unit(excess / scale) in IEEE arithmetic: clamped to [0, 1]; NaN
    and 0/0 give 0, a positive excess over a zero scale 1."""
    excess, scale = float(excess), float(scale)
    if scale == 0.0:
        v = math.inf if excess > 0.0 else (-math.inf if excess < 0.0 else NAN)
    else:
        v = excess / scale  # NaN in, NaN out
    return (v if v < 1.0 else 1.0) if v > 0.0 else 0.0


# ---------------------------------------------------------------- the seeds
# Each: (defaults, warmup(p), vote(close, p) -> (position at the last bar, strength)).

def vote_ma_crossover(average):
    def vote(c, p):
        fast, slow = average(c, int(p["fast"])), average(c, int(p["slow"]))
        pos = crossover(fast, slow)
        side = int(pos[-1])
        sd = c[-int(p["slow"]):].std()  # only the last bar's window is read
        return pos, side, (side * (fast[-1] - slow[-1]), CROSSOVER_SCALE * sd)
    return vote


def vote_rsi(c, p):
    x = rsi(c, int(p["period"]))
    lower, upper = p["lower"], p["upper"]
    pos = reversion(x, lower, upper, 50.0, 50.0)
    side = int(pos[-1])
    excess = (lower - x[-1], lower - 0.0) if side > 0 else (x[-1] - upper, 100.0 - upper)
    return pos, side, excess


def vote_bollinger(c, p):
    n, k = int(p["period"]), p["k"]
    mid, sd = rolling_mean_std(c, n)
    lower, upper = mid - k * sd, mid + k * sd
    pos = reversion(c, lower, upper, mid, mid)
    side = int(pos[-1])
    excess = (lower[-1] - c[-1]) if side > 0 else (c[-1] - upper[-1])
    return pos, side, (excess, k * sd[-1])


def vote_momentum(c, p):
    n, thr = int(p["period"]), p["threshold"]
    r = roc(c, n)
    pos = threshold_rule(r, thr)
    side = int(pos[-1])
    sd = c[-(n + 1):].std()  # only the last bar's window is read
    return pos, side, ((side * r[-1] - thr) * c[-1 - n], MOMENTUM_SCALE * sd)


def vote_zscore(c, p):
    entry, exit_ = p["entry"], p["exit"]
    z = zscore(c, int(p["period"]))
    pos = reversion(z, -entry, entry, -exit_, exit_)
    side = int(pos[-1])
    excess = (-entry - z[-1]) if side > 0 else (z[-1] - entry)
    return pos, side, (excess, entry)


SEEDS = {
    "sma_crossover": ({"fast": 12, "slow": 26}, lambda p: int(p["slow"]) - 1,
                      vote_ma_crossover(sma)),
    "ema_crossover": ({"fast": 12, "slow": 26}, lambda p: int(p["slow"]) - 1,
                      vote_ma_crossover(ema)),
    "rsi_mean_reversion": ({"period": 14, "lower": 30.0, "upper": 70.0},
                           lambda p: int(p["period"]), vote_rsi),
    "bollinger_reversion": ({"period": 20, "k": 2.0}, lambda p: int(p["period"]) - 1,
                            vote_bollinger),
    "momentum_roc": ({"period": 20, "threshold": 0.0}, lambda p: int(p["period"]),
                     vote_momentum),
    "zscore_reversion": ({"period": 20, "entry": 2.0, "exit": 0.5},
                         lambda p: int(p["period"]) - 1, vote_zscore),
}


def decide(voting, votes, threshold):
    """backtest/ensemble_vote.cc Decide: votes [(position, strength, weight)] ->
    (signal, confidence, score), summed in the given order."""
    total = 0.0
    for _, _, w in votes:
        total += w
    if not total > 0:
        return 0, 0.0, 0.0
    if voting == "soft":
        s = 0.0
        for pos, strength, w in votes:
            s += w * pos * strength
        score = s / total
        signal = 1 if score > threshold else (-1 if score < -threshold else 0)
        return signal, abs(score), score
    share = [0.0, 0.0, 0.0]  # SELL, HOLD, BUY
    for pos, _, w in votes:
        share[pos + 1] += w
    best, tie = 1, False
    for p in (0, 2):
        if share[p] > share[best]:
            best, tie = p, False
        elif share[p] == share[best]:
            tie = True
    confidence = share[best] / total
    signal = 0 if tie else best - 1
    return signal, confidence, signal * confidence


SIGNAL = {1: "BUY", -1: "SELL", 0: "HOLD"}


# ---------------------------------------------------------------- store and registry

def iso_datetime(t):  # backtest/calendar.cc FormatIsoDateTime
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(t))
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Every series of the HDF5 store: {(symbol, timeframe): {"time", "close", ...}},
    reloaded when the file changes."""

    def __init__(self, path):
        self.path, self.stamp, self.series = path, None, {}

    def refresh(self):
        """False when the store does not exist."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.stamp, self.series = None, {}
            return False
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self.stamp:
            self.series = self.load()
            self.stamp = stamp
        return True

    def get(self, symbol, timeframe):
        if not self.refresh():
            raise NotFound(f"symbol '{symbol}' not in store '{self.path}' (the store does "
                           f"not exist)")
        s = self.series.get((symbol, timeframe))
        if s is None:
            others = ", ".join(tf for (sym, tf) in self.series if sym == symbol)
            raise NotFound(f"symbol '{symbol}' not in store '{self.path}'" +
                           (f" at timeframe {timeframe} (stored: {others})" if others else ""))
        return s

    def load(self):
        out = {}
        with h5py.File(self.path, "r") as f:
            for symbol in f.keys():
                g = f[symbol]
                if symbol == "fundamentals" or not isinstance(g, h5py.Group):
                    continue
                for tf in g.keys():
                    s = g[tf]
                    if not isinstance(s, h5py.Group) or "close" not in s:
                        continue
                    cols = {c: np.ascontiguousarray(s[c][()], dtype=np.float64)
                            for c in ("open", "high", "low", "close", "volume") if c in s}
                    cols["time"] = s["time"][()].astype(np.int64)
                    out[symbol, tf] = cols
        return out


class Ensembles:
    """The registry's ensembles by name, each at one version (EnsembleService::Current)."""

    def __init__(self, path):
        self.path, self.db, self.cache = path, None, {}

    def connect(self):
        if self.db is None:  # per process: uvicorn workers open their own after fork
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                      isolation_level=None, check_same_thread=False)
        return self.db

    def load_all(self):
        try:
            names = [r[0] for r in self.connect().execute("SELECT name FROM ensembles")]
        except sqlite3.Error:
            return
        for name in names:
            self.read(name)

    def read(self, name):
        db = self.connect()
        db.execute("BEGIN")  # one snapshot: version and members together
        try:
            row = db.execute("SELECT voting, threshold, timeframe, version FROM ensembles "
                             "WHERE name = ?", (name,)).fetchone()
            members = db.execute("SELECT id, strategy, params, weight FROM ensemble_members "
                                 "WHERE ensemble = ? ORDER BY id", (name,)).fetchall()
        finally:
            db.execute("COMMIT")
        if row is None:
            self.cache.pop(name, None)
            return None
        voting, threshold, timeframe, version = row
        e = {"voting": voting, "threshold": threshold, "timeframe": timeframe,
             "version": version, "members": [], "error": None, "need": 1}
        for mid, strategy, params, weight in members:
            if strategy not in SEEDS:
                e["error"] = (f"member {mid}: strategy '{strategy}' is not supported by this "
                              f"peer (supported: {', '.join(SEEDS)})")
                break
            defaults, warmup, vote = SEEDS[strategy]
            p = dict(defaults)
            p.update({k: float(v) for k, v in json.loads(params).items()})
            e["members"].append((mid, strategy, p, float(weight), warmup(p), vote))
            e["need"] = max(e["need"], warmup(p) + 1)
        self.cache[name] = e
        return e

    def current(self, name):
        row = self.connect().execute("SELECT version FROM ensembles WHERE name = ?",
                                     (name,)).fetchone()
        e = self.cache.get(name)
        if row is None or e is None or e["version"] != row[0]:
            e = self.read(name)
        if e is None:
            raise NotFound(f"no ensemble named '{name}'")
        if e["error"]:
            raise BadRequest(e["error"])
        return e


def predict(e, name, series, symbol):
    c = series["close"]
    if c.size < e["need"]:
        raise BadRequest(f"symbol '{symbol}' has {c.size} bars at {e['timeframe']}; the "
                         f"ensemble needs at least {e['need']}")
    last = c.size - 1
    votes, members = [], []
    for mid, strategy, p, weight, warmup, vote in e["members"]:
        _, side, (excess, scale) = vote(c, p)
        strength = 0.0 if (last < warmup or side == 0) else unit(excess, scale)
        votes.append((side, strength, weight))
        members.append({"id": mid, "strategy": strategy, "position": side,
                        "strength": strength, "weight": weight, "vote": SIGNAL[side]})
    signal, confidence, score = decide(e["voting"], votes, e["threshold"])
    return {"signal": SIGNAL[signal], "confidence": confidence,
            "num_models": len(members), "voting_method": e["voting"],
            "threshold": e["threshold"], "score": score, "members": members,
            "version": e["version"], "as_of": iso_datetime(series["time"][-1]),
            "ensemble": name, "symbol": symbol}


# ---------------------------------------------------------------- HTTP

def json_response(payload, status=200):
    return Response(content=json.dumps(payload, separators=(",", ":"), allow_nan=False),
                    status_code=status, media_type="application/json")


def error(status, kind, detail):
    return json_response({"error": kind, "detail": detail}, status)


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array"}.get(type(v), "object")


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


STORE = os.environ.get("QF_PEER_STORE", "quantfarm.h5")
REGISTRY = os.environ.get("QF_PEER_REGISTRY", "quantfarm.db")
store = Store(STORE)
ensembles = Ensembles(REGISTRY)
if __name__ != "__main__":  # uvicorn imports this module again as the app
    store.refresh()  # every series, once at start
    ensembles.load_all()

app = FastAPI(title="ensemble predictions (peer of quantfarm serve)")


@app.get("/health")
async def health():
    return json_response({"services": {"ensemble": "healthy"}, "status": "healthy"})


@app.post("/ensemble/{name}/predict")
async def predict_route(name: str, request: Request):
    raw = await request.body()
    if not raw.strip():
        return error(400, "bad_request", "request body is empty (expected a JSON object)")
    try:
        body = json.loads(raw, parse_constant=reject_constant)
    except ValueError as e:
        return error(400, "bad_request", f"malformed JSON: {e}")
    try:
        if not isinstance(body, dict):
            raise BadRequest(f"request body must be a JSON object, got {type_name(body)}")
        for key in body:
            if key not in ("symbol", "bars"):
                raise BadRequest(f"unknown field '{key}' (allowed: symbol, bars)")
        if ("symbol" in body) == ("bars" in body):
            raise BadRequest("give exactly one of 'symbol' (vote on its stored bars) and "
                             "'bars'")
        e = ensembles.current(name)
        if "bars" in body:
            raise BadRequest("field 'bars' is not supported by this peer; send 'symbol'")
        symbol = body["symbol"]
        if not isinstance(symbol, str):
            raise BadRequest(f"field 'symbol' must be a string, got {type_name(symbol)}")
        if not SYMBOL_RE.match(symbol) or symbol in (".", "..", "fundamentals"):
            raise BadRequest(f"invalid symbol '{symbol}': expected 1 to {MAX_SYMBOL} "
                             f"characters from A-Z a-z 0-9 . _ -")
        return json_response(predict(e, name, store.get(symbol, e["timeframe"]), symbol))
    except BadRequest as e:
        return error(400, "bad_request", str(e))
    except NotFound as e:
        return error(404, "not_found", str(e))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=STORE)
    ap.add_argument("--registry", default=REGISTRY)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("QF_PEER_WORKERS", "1")))
    a = ap.parse_args()
    os.environ["QF_PEER_STORE"] = a.store  # read again by worker processes on import
    os.environ["QF_PEER_REGISTRY"] = a.registry
    here = os.path.dirname(os.path.abspath(__file__))
    if a.workers > 1:
        # As in bench/fastapi_router.py: uvicorn's shared socket is bound with proto 0,
        # so asyncio never sets TCP_NODELAY on its workers' connections (uvicorn issue
        # #3149); rebuild the socket object from its fd, which reads the real protocol.
        bind = uvicorn.config.Config.bind_socket

        def bind_socket(config):
            return socket.socket(fileno=bind(config).detach())

        uvicorn.config.Config.bind_socket = bind_socket
    uvicorn.run("fastapi_ensemble:app", app_dir=here, host=a.host, port=a.port,
                workers=a.workers, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
