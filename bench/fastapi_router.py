#!/usr/bin/python3
"""The seed's HTTP router as a FastAPI user writes it: the peer of `quantfarm serve`.

Serves the routes of bench/serve_vs_fastapi.sh with the JSON of quantfarm's:
  GET  /health               {"services": {"screener": "healthy"}, "status": "healthy"}
  GET  /api/screener/status  the snapshot (services/screener.cc Screener::Status)
  POST /api/screener/screen  range filters, sector, sort, limit over the universe
                             (services/screener.cc Screener::Screen)

The universe (every symbol of the store with bars at the timeframe: last close, change
of the last close in percent, last volume, mean volume of the last 20 bars, joined with
the stored fundamentals) is read once with h5py at start, and again when the store file
changes (checked per request with os.stat, as quantfarm does); each screen is computed
per request in Python. Efficient FastAPI: async endpoints (no thread pool), the body
parsed once with json.loads and checked by hand with quantfarm's rules (400 and
quantfarm's error texts for wrong types, unknown fields and out-of-range values, other
texts for malformed JSON; a saved custom_filter is not supported: 404), responses serialised with json.dumps into
a plain Response (no jsonable_encoder pass), access log off.

Usage: fastapi_router.py --store quantfarm.h5 [--port 8001] [--workers 1] [--timeframe 1d]
(--workers also from $QF_PEER_WORKERS). One uvicorn worker process by default, like the
seed's router; with --workers N uvicorn forks N processes sharing the socket.
"""
import argparse
import datetime
import json
import math
import os
import socket
import sys

import h5py
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_SECTORS = 100
MAX_STRING_FIELD = 256
AVERAGE_VOLUME_BARS = 20
RANGE_FILTERS = ("price", "volume", "avg_volume", "change_pct", "market_cap", "pe",
                 "dividend_yield")
NUMERIC_FIELDS = frozenset(RANGE_FILTERS)
SCREEN_FIELDS = ("symbol", "name", "sector", "price", "change_pct", "volume",
                 "avg_volume", "market_cap", "pe", "dividend_yield")
NAN = float("nan")


def iso_time(t):
    """backtest/calendar.cc FormatIsoTime: a date at midnight UTC, else date and time."""
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=int(t))
    if t % 86400 == 0:
        return d.strftime("%Y-%m-%d")
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def ascii_lower(s):
    return s.encode().lower().decode()  # bytes.lower() touches ASCII letters only


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def number(x):
    return None if math.isnan(x) else x


def load_universe(path, timeframe):
    """services/market_universe.cc LoadMarketUniverse."""
    with h5py.File(path, "r") as f:
        fundamentals, source = {}, ""
        if "fundamentals" in f:
            g = f["fundamentals"]
            source = text(g.attrs.get("source", b""))
            columns = [g[c][()] for c in ("symbol", "name", "sector", "market_cap", "pe",
                                          "dividend_yield")]
            for sym, name, sector, cap, pe, dy in zip(*columns):
                fundamentals[text(sym)] = (text(name), text(sector), float(cap), float(pe),
                                           float(dy))
        rows, as_of, with_fundamentals = [], 0, 0
        for symbol in sorted(k for k in f.keys() if k != "fundamentals"):
            if not isinstance(f[symbol], h5py.Group) or timeframe not in f[symbol]:
                continue
            series = f[symbol][timeframe]
            n = series["close"].shape[0]
            k = min(n, AVERAGE_VOLUME_BARS)
            close = series["close"][max(0, n - 2):]
            volume = series["volume"][n - k:]
            last_time = int(series["time"][n - 1])
            total = 0.0
            for v in volume:  # in bar order, as the C++ loop adds them
                total += float(v)
            row = {
                "symbol": symbol, "name": "", "sector": "",
                "price": float(close[-1]),
                "volume": float(volume[-1]),
                "avg_volume": total / k,
                "market_cap": NAN, "pe": NAN, "dividend_yield": NAN,
                "change_pct": (float(close[-1]) / float(close[-2]) - 1.0) * 100.0
                              if n >= 2 else NAN,
                "last_time": last_time,
            }
            if symbol in fundamentals:
                (row["name"], row["sector"], row["market_cap"], row["pe"],
                 row["dividend_yield"]) = fundamentals[symbol]
                with_fundamentals += 1
            row["_lower"] = {"symbol": ascii_lower(symbol), "name": ascii_lower(row["name"]),
                             "sector": ascii_lower(row["sector"])}
            row["_json"] = {
                "symbol": symbol, "name": row["name"] or None, "sector": row["sector"] or None,
                "price": number(row["price"]), "volume": number(row["volume"]),
                "avg_volume": number(row["avg_volume"]),
                "market_cap": number(row["market_cap"]), "pe": number(row["pe"]),
                "dividend_yield": number(row["dividend_yield"]),
                "change_pct": number(row["change_pct"]), "last_time": iso_time(last_time),
            }
            as_of = max(as_of, last_time)
            rows.append(row)
    return {"rows": rows, "as_of": as_of, "with_fundamentals": with_fundamentals,
            "fundamentals_source": source}


class BadRequest(Exception):
    pass


class NotFound(Exception):
    pass


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def obj(value, path, allowed):
    """services/request_json.cc JsonObjectReader: an object with only `allowed` keys."""
    if not isinstance(value, dict):
        where = f"field '{path}'" if path else "request body"
        raise BadRequest(f"{where} must be {'an' if path else 'a JSON'} object, "
                         f"got {type_name(value)}")
    for key in value:
        if key not in allowed:
            raise BadRequest(f"unknown field '{path + '.' if path else ''}{key}' "
                             f"(allowed: {', '.join(allowed)})")
    return value


def opt_number(o, key, path):
    if key not in o:
        return None
    v = o[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise BadRequest(f"field '{path}.{key}' must be a number, got {type_name(v)}")
    if not math.isfinite(v):
        raise BadRequest(f"field '{path}.{key}' must be finite")
    return float(v)


def opt_string(o, key, path, max_length):
    v = o[key]
    if not isinstance(v, str):
        raise BadRequest(f"field '{path}' must be a string, got {type_name(v)}")
    if not v:
        raise BadRequest(f"field '{path}' must not be empty")
    if len(v.encode()) > max_length:
        raise BadRequest(f"field '{path}' is longer than {max_length} bytes")
    return v


def parse_screen(body):
    top = obj(body, "", ("filters", "custom_filter", "limit", "sort"))
    criteria = []  # (field, op, numbers or lower-case texts, value as echoed)
    if "filters" in top:
        filters = obj(top["filters"], "filters", RANGE_FILTERS + ("sector",))
        for name in RANGE_FILTERS:
            if name not in filters:
                continue
            path = "filters." + name
            rng = obj(filters[name], path, ("min", "max"))
            lo, hi = opt_number(rng, "min", path), opt_number(rng, "max", path)
            if lo is not None and hi is not None and lo > hi:
                raise BadRequest(f"field '{path}' has min > max")
            if lo is not None:
                criteria.append((name, "ge", lo, lo))
            if hi is not None:
                criteria.append((name, "le", hi, hi))
        if "sector" in filters:
            s = filters["sector"]
            items = [s] if isinstance(s, str) else s
            if not isinstance(items, list) or not items or len(items) > MAX_SECTORS:
                raise BadRequest(f"field 'filters.sector' must be a string or an array of 1 "
                                 f"to {MAX_SECTORS} strings, got {type_name(s)}")
            for i, item in enumerate(items):
                if not isinstance(item, str) or not item or \
                        len(item.encode()) > MAX_STRING_FIELD:
                    raise BadRequest(f"field 'filters.sector[{i}]' must be a non-empty "
                                     f"string, got {type_name(item)}")
            criteria.append(("sector", "in", frozenset(ascii_lower(x) for x in items), items))
    if "custom_filter" in top:
        name = opt_string(top, "custom_filter", "custom_filter", 64)
        raise NotFound(f"custom filter '{name}' not found")  # no registry in the peer
    limit = DEFAULT_LIMIT
    if "limit" in top:
        v = top["limit"]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise BadRequest(f"field 'limit' must be an integer, got {type_name(v)}")
        if not math.isfinite(v) or v != math.floor(v):
            raise BadRequest(f"field 'limit' must be an integer, got {json.dumps(v)}")
        if not 1 <= v <= MAX_LIMIT:
            raise BadRequest(f"field 'limit' must be in 1..{MAX_LIMIT}, got {json.dumps(v)}")
        limit = int(v)
    field, descending = "symbol", False
    if "sort" in top:
        sort = obj(top["sort"], "sort", ("field", "order"))
        if "field" not in sort:
            raise BadRequest("missing field 'sort.field'")
        field = opt_string(sort, "field", "sort.field", 64)
        if field not in SCREEN_FIELDS:
            raise BadRequest(f"field 'sort.field' must be one of {', '.join(SCREEN_FIELDS)}; "
                             f"got '{field}'")
        order = opt_string(sort, "order", "sort.order", 8) if "order" in sort else "asc"
        if order not in ("asc", "desc"):
            raise BadRequest(f"field 'sort.order' must be \"asc\" or \"desc\", got \"{order}\"")
        descending = order == "desc"
    return criteria, limit, field, descending


def matches(row, criteria):
    """services/screen_criteria.cc Matches: a missing value matches nothing."""
    for field, op, arg, _ in criteria:
        if field in NUMERIC_FIELDS:
            v = row[field]
            if v != v:  # NaN
                return False
            if op == "ge":
                if not v >= arg:
                    return False
            elif not v <= arg:
                return False
        else:
            raw = row[field]
            if not raw or row["_lower"][field] not in arg:
                return False
    return True


def screen(universe, criteria, limit, field, descending):
    matched = [r for r in universe["rows"] if matches(r, criteria)]  # in symbol order
    # Stable sorts on rows already in symbol order: ties stay by symbol; missing last.
    if field in NUMERIC_FIELDS:
        present = [r for r in matched if r[field] == r[field]]
        missing = [r for r in matched if r[field] != r[field]]
    else:
        present = [r for r in matched if r[field]]
        missing = [r for r in matched if not r[field]]
    present.sort(key=lambda r: r[field], reverse=descending)
    ordered = present + missing
    results = [r["_json"] for r in ordered[:limit]]
    return {
        "results": results,
        "count": len(results),
        "total_matched": len(matched),
        "universe": len(universe["rows"]),
        "as_of": iso_time(universe["as_of"]) if universe["as_of"] > 0 else None,
        "sort": {"field": field, "order": "desc" if descending else "asc"},
        "criteria": [{"field": f, "operator": op, "value": value}
                     for f, op, _, value in criteria],
    }


class Snapshot:
    """The universe of the store, reloaded when the file changes (Screener::Universe)."""

    def __init__(self, store, timeframe):
        self.store, self.timeframe = store, timeframe
        self.stamp, self.universe, self.loaded_at, self.loads = None, None, None, 0

    def get(self):
        try:
            st = os.stat(self.store)
        except FileNotFoundError:
            self.universe, self.stamp = None, None
            raise NotFound(f"store '{self.store}' does not exist (create it with 'quantfarm "
                           f"data synth' or 'quantfarm data import')")
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self.universe is None or stamp != self.stamp:
            self.universe = load_universe(self.store, self.timeframe)
            self.stamp = stamp
            self.loaded_at = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
            self.loads += 1
        return self.universe


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def json_response(payload, status=200):
    return Response(content=json.dumps(payload, separators=(",", ":"), allow_nan=False),
                    status_code=status, media_type="application/json")


def error(status, kind, detail):
    return json_response({"error": kind, "detail": detail}, status)


STORE = os.environ.get("QF_PEER_STORE", "quantfarm.h5")
TIMEFRAME = os.environ.get("QF_PEER_TIMEFRAME", "1d")
snapshot = Snapshot(STORE, TIMEFRAME)
if __name__ != "__main__":  # uvicorn imports this module again as the app
    try:
        snapshot.get()  # load once at start
    except NotFound:
        pass

app = FastAPI(title="screener router (peer of quantfarm serve)")


@app.get("/health")
async def health():
    return json_response({"services": {"screener": "healthy"}, "status": "healthy"})


@app.get("/api/screener/status")
async def status():
    j = {"service": "screener", "store": STORE, "timeframe": TIMEFRAME}
    try:
        u = snapshot.get()
        j.update({"status": "ok", "symbols": len(u["rows"]),
                  "with_fundamentals": u["with_fundamentals"],
                  "fundamentals_source": u["fundamentals_source"],
                  "as_of": iso_time(u["as_of"]) if u["as_of"] > 0 else None})
    except NotFound as e:
        j.update({"status": "no_data", "detail": str(e)})
    j["snapshot_loaded_at"] = snapshot.loaded_at
    j["snapshot_loads"] = snapshot.loads
    return json_response(j)


@app.post("/api/screener/screen")
async def screen_route(request: Request):
    raw = await request.body()
    if not raw.strip():
        return error(400, "bad_request", "request body is empty (expected a JSON object)")
    try:
        body = json.loads(raw, parse_constant=reject_constant)
    except ValueError as e:
        return error(400, "bad_request", f"malformed JSON: {e}")
    try:
        criteria, limit, field, descending = parse_screen(body)
        return json_response(screen(snapshot.get(), criteria, limit, field, descending))
    except BadRequest as e:
        return error(400, "bad_request", str(e))
    except NotFound as e:
        return error(404, "not_found", str(e))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=STORE)
    ap.add_argument("--timeframe", default=TIMEFRAME)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("QF_PEER_WORKERS", "1")))
    a = ap.parse_args()
    os.environ["QF_PEER_STORE"] = a.store  # read again by worker processes on import
    os.environ["QF_PEER_TIMEFRAME"] = a.timeframe
    here = os.path.dirname(os.path.abspath(__file__))
    if a.workers > 1:
        # uvicorn binds the socket it shares with its worker processes with proto 0, so
        # asyncio never sets TCP_NODELAY on their connections and every keep-alive
        # response waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; seen
        # here: 44 ms median at 4 connections; the one-process path is not affected).
        # Rebuild the socket object from its fd, which reads the real protocol.
        bind = uvicorn.config.Config.bind_socket

        def bind_socket(config):
            return socket.socket(fileno=bind(config).detach())

        uvicorn.config.Config.bind_socket = bind_socket
    # uvicorn's defaults otherwise (loop and http "auto": uvloop and httptools when
    # installed, else asyncio and h11); the access log off.
    uvicorn.run("fastapi_router:app", app_dir=here, host=a.host, port=a.port,
                workers=a.workers, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
