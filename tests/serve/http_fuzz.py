#!/usr/bin/python3
"""Sends random, truncated and malformed HTTP requests to a server on loopback.

Usage: http_fuzz.py PORT [--seed S] [--count N] [--seconds T]
       http_fuzz.py PORT --api [--seed S] [--count N] [--seconds T] [--connections C]
                    [--timeout T] [--allowed-status 200,400,...] [--summary FILE]
                    [--failures DIR]

Raw mode (the default): bounded, at most N connections and T seconds. Every answer
that does come back must start with an HTTP/1.1 status line; a connection the server
closes or resets is fine. Exits 0 unless an answer was malformed or no connection
could be made at all.

--api mode: N well-framed requests (over C keep-alive connections, one thread each,
for at most T seconds) to the real routes of `quantfarm serve` (screener, algorunner,
tickscrawler; never the /api/cluster routes), with random, truncated and malformed JSON
bodies (overflowing numbers, deep nesting, invalid UTF-8, duplicate keys, ...), random
query strings, wrong methods, chunked bodies and oversized ones. Field names come from
the server itself (GET /api/algorunner/algorithms, POST /api/screener/screen, GET
/api/screener/filters) so that many requests get past the JSON parser into each
route's validation, and some are valid (runs execute, filters are saved). Every
request must get a well-formed HTTP/1.1 answer (Content-Length or chunked; for HEAD,
headers only) with a JSON object body ({"error", "detail"} for >= 400) and a status in
--allowed-status. Failures are grouped by kind and answer and printed with the
smallest request of each group and a curl reproducer; their raw request bytes are
saved in --failures DIR (replay: `nc 127.0.0.1 PORT < FILE`). --summary FILE gets a
JSON summary: counts by route and status, the run ids of accepted runs, the names of
saved filters, accepted crawls and stops, the failures. Exits 1 on any failure.

Stdlib only, deterministic for a seed (up to timing and, in --api mode, the order in
which the connections' requests interleave).
"""
import argparse
import json
import os
import random
import re
import shlex
import socket
import sys
import threading
import time
import urllib.parse

VALID = [
    b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /query?a=1&b=%20x HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]

MALFORMED = [
    b"\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET / HTTP/1.1\r\nNoColonHeader\r\n\r\n",
    b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
    b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET http://x HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\x00\x01 HTTP/1.1\r\n\r\n",
    b"G\xffT / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\nHost: x\n\n",
    b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nX: \xff\xfe\x00\r\n\r\n",
    b"GET /health HTTP/1.1\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n",
    b"GET /" + b"p" * 20000 + b" HTTP/1.1\r\n\r\n",
    b"GET /health HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(3000)) + b"\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS ClientHello start
]


def one_payload(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
    if kind == 1:  # truncated valid request
        request = rng.choice(VALID)
        return request[: rng.randrange(1, len(request))]
    if kind == 2:
        return rng.choice(MALFORMED)
    if kind == 3:  # a valid request with random bytes flipped
        request = bytearray(rng.choice(VALID))
        for _ in range(rng.randrange(1, 4)):
            request[rng.randrange(len(request))] = rng.randrange(256)
        return bytes(request)
    if kind == 4:  # pipelined, the last one possibly cut
        parts = [rng.choice(VALID) for _ in range(rng.randrange(2, 5))]
        data = b"".join(parts)
        return data[: rng.randrange(len(data) // 2, len(data) + 1)]
    return rng.choice(VALID)


def run_raw(args):
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.seconds
    sent = answered = closed = malformed = refused = 0
    for i in range(args.count):
        if time.monotonic() > deadline:
            break
        payload = one_payload(rng)
        wait_answer = rng.random() < 0.2  # most connections are dropped right away
        try:
            s = socket.create_connection(("127.0.0.1", args.port), timeout=2.0)
        except OSError:
            refused += 1
            continue
        try:
            s.settimeout(0.3 if wait_answer else 0.05)
            s.sendall(payload)
            sent += 1
            if rng.random() < 0.5:
                s.shutdown(socket.SHUT_WR)
            if wait_answer:
                data = s.recv(64)
                if data:
                    answered += 1
                    if not data.startswith(b"HTTP/1.1 "):
                        malformed += 1
                        print("malformed answer to %r: %r" % (payload[:80], data),
                              file=sys.stderr)
                else:
                    closed += 1
        except (socket.timeout, OSError):
            closed += 1
        finally:
            s.close()
    print("fuzz: sent=%d answered=%d closed_or_silent=%d refused=%d malformed=%d"
          % (sent, answered, closed, refused, malformed))
    if malformed or sent == 0:
        sys.exit(1)



# ---- --api mode: well-framed requests with bad bodies to quantfarm serve's routes ----

DEFAULT_ALLOWED = "200,201,202,400,401,404,405,409,413,429,431,502,503"

# Fallback vocabulary; replaced by what the server lists (see Vocabulary.discover).
SCREEN_FIELDS = ["symbol", "name", "sector", "price", "change_pct", "volume",
                 "avg_volume", "market_cap", "pe", "dividend_yield"]
RANGE_FILTERS = ["price", "volume", "avg_volume", "change_pct", "market_cap", "pe",
                 "dividend_yield"]
OPERATORS = ["eq", "ne", "gt", "ge", "lt", "le", "in", "between"]
TIMEFRAMES = ["1d", "1d", "1d", "1h", "15m", "1m", "1w", "4h", "2d", "0d", "-1d", "1x",
              "d", "99999999999999999999d", "1D", "", " 1d", "1d\u0000", "9223372036854775807s"]
FILTER_NAMES = ["fz-%d" % i for i in range(8)]
WEIRD_STRINGS = [
    "", " ", "a" * 65, "a" * 300, "x" * 5000, "\u0000", "a\u0000b", "\u00e9", "\U0001F600",
    "\ud800", "../../etc/passwd", "/etc/passwd", "..", ".", "%00", "%zz", "null", "1", "-1",
    "NaN", "AAA", "AAA ", "aaa", "AAA/1d", "fundamentals", "\\..\\x", "\r\nX-Injected: 1",
    "<script>", "'; DROP TABLE algorithm_runs; --", "${HOME}", "~", "*", "?", "#",
]
INTEGERS = [0, 1, -1, 2, 5, 50, 999, 1000, 1001, 2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 63,
            2 ** 64, 2 ** 64 + 1, -2 ** 63, -2 ** 63 - 1, 10 ** 30, -10 ** 30]
FLOATS = [0.5, -0.0, 1.5, 1e308, -1e308, 5e-324, 1e-7, 0.1, 99.99, 1e15]
# Literals Python's json cannot write; some are invalid JSON, some overflow a double.
RAW_LITERALS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "0x10", "01",
                ".5", "+1", "1.", "-", "tru", "nul", "\"\\ud800\"", "\"\\udc00\\ud800\"",
                "\"\\u0000\"", "\"a\x00b\"", "\"\x01\"", "\"\\x41\"", "\"\\uZZZZ\"", "'a'",
                "[1,]", "{\"a\":1,}", "123456789012345678901234567890",
                "-0.0000000000000000000000000000000000001e-400", "1e-99999", "\"\xff\xfe\""]
DATES = ["2020-01-01", "2021-06-30", "2022-12-31", "1970-01-01", "1900-01-01",
         "2100-01-01", "2020-02-30", "2020-13-01", "2020-00-10", "2021-02-29",
         "2020-02-29", "99999-01-01", "0000-00-00", "2020-1-1", "2020-01-01T00:00",
         "2020-01-01T23:59:59Z", "2020-01-01T25:61", "2020-01-01T12:00:00+02:00",
         "2020-01-01 00:00", "20200101", "yesterday", "", "-2020-01-01",
         "9999-12-31T23:59:59Z", "1677-09-21", "2262-04-12"]


class Raw:
    """A literal spliced into a body as is (NaN, 1e999, invalid escapes, ...)."""

    def __init__(self, text):
        self.text = text


class Pairs:
    """An object written from (key, value) pairs: keys may repeat."""

    def __init__(self, pairs):
        self.pairs = pairs


def dump(value, rng):
    """JSON text of `value` (dict, list, str, int, float, bool, None, Raw, Pairs)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(dump(k, rng) + ":" + dump(v, rng) for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        sep = rng.choice([",", ", ", ",\n  "])
        return "{" + sep.join(dump(k, rng) + ":" + dump(v, rng)
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v, rng) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else "0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=rng.random() < 0.5)
    return str(value)


def rand_value(rng, depth=0):
    """A random JSON value of any type."""
    kind = rng.randrange(10 if depth < 3 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice(INTEGERS)
    if kind == 3:
        return rng.choice(FLOATS) * rng.choice([1, -1])
    if kind == 4:
        return rng.choice(WEIRD_STRINGS)
    if kind == 5:
        return Raw(rng.choice(RAW_LITERALS))
    if kind == 6:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(0, 12)))
    if kind == 7:
        return rng.randrange(-100, 100)
    if kind == 8:
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(["a", "", "symbol", "min", "limit", "\u0000"]): rand_value(rng, depth + 1)
            for _ in range(rng.randrange(0, 3))}


def mutate_tree(rng, value, p):
    """Randomly drops, adds, retypes and duplicates fields of a request tree."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            r = rng.random()
            if r < p * 0.3:
                continue  # dropped
            if r < p * 0.7:
                out[k] = rand_value(rng)  # another type or value
            else:
                out[k] = mutate_tree(rng, v, p)
        if rng.random() < p * 0.3:
            out[rng.choice(["extra", "Symbol", "limit ", "", "\u00e9", "filters"])] = \
                rand_value(rng)
        if out and rng.random() < p * 0.15:  # a key given twice
            k = rng.choice(list(out))
            return Pairs(list(out.items()) + [(k, rand_value(rng))])
        return out
    if isinstance(value, list):
        out = [mutate_tree(rng, v, p) for v in value if rng.random() > p * 0.2]
        if rng.random() < p * 0.3:
            out.insert(rng.randrange(len(out) + 1), rand_value(rng))
        return out
    if rng.random() < p * 0.3:
        return rand_value(rng)
    return value


class Vocabulary:
    """Names a request may use: algorithms and their parameters, symbols, sectors."""

    def __init__(self):
        self.algorithms = [{"id": "sma_crossover", "needs_pair": False, "parameters": []}]
        self.symbols = ["AAA", "BBB"]
        self.sectors = ["Technology"]
        self.fields = list(SCREEN_FIELDS)
        self.year = 2020

    def discover(self, port):
        def get(method, target, body=b""):
            conn = Connection(port, 10.0)
            try:
                status, _, data = conn.request(build_request(method, target, body))
                return json.loads(data) if status == 200 else None
            except Exception:  # a server without these routes: keep the fallbacks
                return None
            finally:
                conn.close()
        algos = get("GET", "/api/algorunner/algorithms")
        if algos and algos.get("algorithms"):
            self.algorithms = algos["algorithms"]
        screen = get("POST", "/api/screener/screen", b'{"limit": 1000}')
        if screen and screen.get("results"):
            self.symbols = [r["symbol"] for r in screen["results"]]
            as_of = screen.get("as_of") or ""
            if as_of[:4].isdigit():
                self.year = int(as_of[:4])
        filters = get("GET", "/api/screener/filters")
        if filters:
            self.sectors = filters.get("sectors") or self.sectors
            self.fields = [f["name"] for f in filters.get("fields", [])] or self.fields

    def date(self, rng):
        """Mostly a date around the stored bars (the years up to the last bar)."""
        if rng.random() < 0.85:
            return "%04d-%02d-%02d" % (self.year - rng.randrange(0, 5), rng.randrange(1, 13),
                                       rng.randrange(1, 29))
        return rng.choice(DATES)

    def symbol(self, rng):
        return rng.choice(self.symbols) if rng.random() < 0.9 else rng.choice(WEIRD_STRINGS)


# Generators of a request tree, one per route: each field mostly valid, sometimes not,
# so that a good share of requests reaches the routes' deeper checks (and some run).
def pick(rng, good, bad, p_good=0.85):
    return rng.choice(good) if rng.random() < p_good else rng.choice(bad)


def gen_screen(rng, v, state):
    body = {}
    if rng.random() < 0.6:
        filters = {}
        for name in rng.sample(RANGE_FILTERS, rng.randrange(0, 3)):
            lo = rng.choice([0, 1, 10, 1e3, 1e9, -5, 50.5])
            hi = lo + pick(rng, [0, 1, 100, 1e12], [-1, -1e300])
            filters[name] = rng.choice([{"min": lo}, {"max": hi}, {"min": lo, "max": hi}])
        if rng.random() < 0.3:
            filters["sector"] = pick(rng, [rng.choice(v.sectors), v.sectors[:3]],
                                     [[], ["x"] * 101, [""], [1], "x" * 300])
        body["filters"] = filters
    if rng.random() < 0.2:
        body["custom_filter"] = pick(rng, FILTER_NAMES, ["nope", "", "a" * 70], 0.7)
    if rng.random() < 0.7:
        body["limit"] = pick(rng, [1, 5, 50, 1000, 2.0], [0, -1, 1001, 1.5, "5", 10 ** 20])
    if rng.random() < 0.4:
        body["sort"] = {"field": pick(rng, v.fields, ["nope", ""]),
                        "order": pick(rng, ["asc", "desc"], ["up", ""])}
    return body


def rand_criterion(rng, v):
    op = rng.choice(OPERATORS)
    field = pick(rng, v.fields, ["nope", ""], 0.9)
    text = field in ("symbol", "name", "sector")
    if text and rng.random() < 0.8:
        op = rng.choice(["eq", "ne", "in"])
    if op == "in":
        good = [[rng.choice(v.symbols), rng.choice(v.sectors)]] if text else [[1, 2, 3]]
        value = pick(rng, good, [[], list(range(1000)), 5, [None]])
    elif op == "between":
        value = pick(rng, [[1, 100], [0, 1e308], [-5, 5]], [[100, 1], [1], "1,2"])
    elif text:
        value = pick(rng, [rng.choice(v.symbols), rng.choice(v.sectors)], ["", 5, None])
    else:
        value = pick(rng, [0, 10, 1e6, -1, 0.5], ["10", None, [], {}])
    return {"field": field, "operator": op, "value": value}


def gen_custom_filter(rng, v, state):
    body = {"name": pick(rng, FILTER_NAMES, ["", "a b", "a" * 65, "../x", "\u00e9t\u00e9",
                                             "x;y", "ok.name_-1"])}
    n = pick(rng, [1, 1, 2, 3], [0, 101])
    body["criteria"] = [rand_criterion(rng, v) for _ in range(n)]
    return body


def gen_run(rng, v, state):
    algo = rng.choice(v.algorithms)
    params = {"symbol": v.symbol(rng)}
    if algo.get("needs_pair") or rng.random() < 0.05:
        params["symbol2"] = v.symbol(rng)
    for p in algo.get("parameters", []):
        if rng.random() < 0.5:
            continue
        lo, hi = p.get("min", 0), p.get("max", 1)
        if p.get("type") == "int":
            value = pick(rng, [rng.randint(int(lo), int(hi)), int(lo), int(hi)],
                         [int(lo) - 1, int(hi) + 1, lo + 0.5, str(lo)], 0.9)
        else:
            value = pick(rng, [lo + (hi - lo) * rng.random(), lo, hi],
                         [lo - 1, hi * 2 + 1, "1"], 0.9)
        params[p["name"]] = value
    extra = {"timeframe": lambda: pick(rng, ["1d"], TIMEFRAMES, 0.7),
             "start": lambda: v.date(rng), "end": lambda: v.date(rng),
             "fill": lambda: pick(rng, ["next-open", "close"], ["open", ""]),
             "commission_bps": lambda: pick(rng, [0, 1, 5.5], [-1, 1e6]),
             "slippage_bps": lambda: pick(rng, [0, 1, 2.5], [-1, 1e9]),
             "position_size": lambda: pick(rng, [0.5, 1, 10], [0, 11, -1]),
             "long_only": lambda: pick(rng, [True, False], ["yes", 1]),
             "in_sample": lambda: pick(rng, [0.5, 0.7, 0.01, 0.99], [0, 1, 1.5, -0.1]),
             "folds": lambda: pick(rng, [2, 5, 100], [1, 101, 2.5, 10 ** 6])}
    for key in rng.sample(sorted(extra), rng.randrange(0, 4)):
        params[key] = extra[key]()
    return {"algorithm_id": pick(rng, [algo["id"]], ["nope", "", "SMA_CROSSOVER"], 0.95),
            "parameters": params}


def gen_stop(rng, v, state):
    with state.lock:
        known = list(state.run_ids)
    if known and rng.random() < 0.5:
        return {"run_id": rng.choice(known)}
    return {"run_id": rng.choice(["run-0000000000000000", "", "x" * 65, "nope"])}


def gen_crawl(rng, v, state):
    body = {"source": rng.choice(["csv", "csv", "csv", "yahoo", "ftp", ""])}
    names = lambda: [rng.choice(v.symbols + WEIRD_STRINGS[:8]) for _ in
                     range(rng.choice([1, 2, 3, 0, 101]))]
    files = lambda: [rng.choice(["AAA.csv", "../quantfarm.h5", "/etc/passwd", "sub/../AAA.csv",
                                 "a/b/c.csv", ".csv", "x" * 300 + ".csv", "AAA.csv\u0000.txt",
                                 "./AAA.csv", "..", ".", "", "quantfarm.db", "AAA.csv/.",
                                 "a" * 300 + "/AAA.csv", "crawl/../../x.csv", "~/x.csv",
                                 "AAA", "AAA.CSV", "AAA.csv.csv"])
                     for _ in range(rng.choice([1, 2, 0, 101]))]
    r = rng.random()
    if r < 0.45:
        body["symbols"] = names()
    elif r < 0.9:
        body["files"] = files()
    elif r < 0.95:
        body["symbols"], body["files"] = names(), files()
    if rng.random() < 0.3:
        body["timeframe"] = rng.choice(TIMEFRAMES)
    return body


def rand_query(rng, keys, values):
    """A query string over `keys` plus strays: repeated, empty, encoded, invalid."""
    parts = []
    for key in keys:
        if rng.random() < 0.6:
            parts.append((key, values(key)))
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        parts.append((rng.choice(["x", "", "symbol", "limit", "a b", "\u00e9", "%"]),
                      rng.choice(WEIRD_STRINGS[:20])))
    if parts and rng.random() < 0.1:
        parts.append(rng.choice(parts))  # a key given twice
    rng.shuffle(parts)
    quote = lambda text: urllib.parse.quote(str(text), safe="", errors="surrogatepass")
    text = "&".join(quote(k) + "=" + quote(v) for k, v in parts)
    r = rng.random()
    if r < 0.05:
        text += rng.choice(["&&", "&=", "&novalue", "%zz", "%0", "%00=1", "+", "#frag",
                            "=&=", "a=%F0%9F", "a=%FF%FE"])
    elif r < 0.07:
        text += "&long=" + "v" * rng.choice([1000, 10000, 20000])
    return "?" + text if text or rng.random() < 0.2 else ""


def gen_historical_query(rng, v, state):
    vals = {"symbol": lambda: v.symbol(rng), "start": lambda: v.date(rng),
            "end": lambda: v.date(rng), "interval": lambda: rng.choice(TIMEFRAMES),
            "timeframe": lambda: rng.choice(TIMEFRAMES)}
    return rand_query(rng, ["symbol", "symbol", "start", "end", "interval", "timeframe"],
                      lambda key: vals[key]())


def gen_algorunner_status_query(rng, v, state):
    with state.lock:
        known = list(state.run_ids)
    vals = {"run_id": lambda: rng.choice(known + ["nope", ""]),
            "limit": lambda: rng.choice([1, 20, 1000, 0, 1001, -1, "x", "1e3", "5.5"])}
    return rand_query(rng, ["run_id", "limit"], lambda key: vals[key]())


def gen_no_query(rng, v, state):
    return rand_query(rng, [], None) if rng.random() < 0.3 else ""


ENSEMBLE_NAMES = ["fz1", "fz2", "fz3"]


def rand_member(rng, v):
    algo = rng.choice(v.algorithms)
    params = {}
    for p in algo.get("parameters", []):
        if rng.random() < 0.6:
            continue
        lo, hi = p.get("min", 0), p.get("max", 1)
        if p.get("type") == "int":
            params[p["name"]] = pick(rng, [rng.randint(int(lo), int(hi)), int(lo), int(hi)],
                                     [int(lo) - 1, int(hi) + 1, lo + 0.5, str(lo)], 0.9)
        else:
            params[p["name"]] = pick(rng, [lo + (hi - lo) * rng.random(), lo, hi],
                                     [lo - 1, hi * 2 + 1, "1"], 0.9)
    member = {"strategy": pick(rng, [algo["id"]], ["nope", "", 7], 0.95), "params": params}
    if rng.random() < 0.3:
        member["weight"] = pick(rng, [0, 1, 2.5], [-1, 1e9, "x"])
    return member


def gen_ensemble_deploy(rng, v, state):
    body = {"ensemble_name": pick(rng, ENSEMBLE_NAMES, ["", "deploy", "a b", "x" * 65, 5]),
            "members": [rand_member(rng, v) for _ in range(pick(rng, [1, 2, 3], [0, 65]))]}
    extra = {"voting": lambda: pick(rng, ["hard", "soft"], ["median", 1]),
             "threshold": lambda: pick(rng, [0, 0.3, 1], [-0.1, 1.5, "x"]),
             "weighting": lambda: pick(rng, ["equal", "sharpe"], ["x"]),
             "symbol": lambda: v.symbol(rng),
             "timeframe": lambda: pick(rng, ["1d"], TIMEFRAMES, 0.7),
             "in_sample": lambda: pick(rng, [0.5, 0.7], [0, 1, -1])}
    for key in rng.sample(sorted(extra), rng.randrange(0, 4)):
        body[key] = extra[key]()
    return body


def gen_ensemble_member(rng, v, state):
    if rng.random() < 0.2:
        return {"members": [rand_member(rng, v) for _ in range(pick(rng, [1, 2], [0, 65]))]}
    return rand_member(rng, v)


def gen_predict(rng, v, state):
    r = rng.random()
    if r < 0.6:
        return {"symbol": v.symbol(rng)}
    if r < 0.7:
        return {"features": {"rsi": 30}}
    t, bars = 946857600, []
    for _ in range(pick(rng, [30, 80], [0, 1, 5])):
        t += pick(rng, [86400], [0, -86400])
        c = pick(rng, [100 + rng.random()], [-1, 0, "x"])
        bars.append({"time": pick(rng, [t], ["2001-01-01", "x", None]), "open": c, "high": c,
                     "low": c, "close": c, "volume": pick(rng, [1000], [-1, "v"])})
    return {"bars": bars}


# (method, path, body generator or None, query generator)
API_ROUTES = [
    ("POST", "/api/screener/screen", gen_screen, gen_no_query),
    ("POST", "/api/screener/custom-filter", gen_custom_filter, gen_no_query),
    ("GET", "/api/screener/filters", None, gen_no_query),
    ("GET", "/api/screener/status", None, gen_no_query),
    ("GET", "/api/screener/market-overview", None, gen_no_query),
    ("POST", "/api/algorunner/run", gen_run, gen_no_query),
    ("POST", "/api/algorunner/stop", gen_stop, gen_no_query),
    ("GET", "/api/algorunner/status", None, gen_algorunner_status_query),
    ("GET", "/api/algorunner/algorithms", None, gen_no_query),
    ("GET", "/api/tickscrawler/historical", None, gen_historical_query),
    ("GET", "/api/tickscrawler/status", None, gen_no_query),
    ("GET", "/api/tickscrawler/sources", None, gen_no_query),
    ("POST", "/api/tickscrawler/crawl", gen_crawl, gen_no_query),
    ("POST", "/ensemble/deploy", gen_ensemble_deploy, gen_no_query),
    ("POST", "/ensemble/fz1/predict", gen_predict, gen_no_query),
    ("POST", "/ensemble/fz1/members", gen_ensemble_member, gen_no_query),
    ("DELETE", "/ensemble/fz1/members/2", None, gen_no_query),
    ("GET", "/ensemble", None, gen_no_query),
    ("GET", "/ensemble/fz1/backtest", None, gen_historical_query),
]
# How often each route is picked: the POST routes with bodies the most.
API_WEIGHTS = [18, 12, 2, 2, 2, 18, 6, 4, 1, 14, 1, 1, 12, 10, 10, 5, 2, 1, 2]


def enc(text):
    """UTF-8, lone surrogates written as their (invalid) 3-byte forms."""
    return text.encode("utf-8", "surrogatepass")


def make_body(rng, tree):
    """Bytes of a request body: the tree as JSON, often broken on purpose."""
    r = rng.random()
    if r < 0.30:
        return enc(dump(tree, rng))  # as generated
    if r < 0.55:
        return enc(dump(mutate_tree(rng, tree, 0.4), rng))
    text = enc(dump(tree, rng))
    if r < 0.65:  # truncated
        return text[: rng.randrange(0, max(1, len(text)))]
    if r < 0.71:  # bytes flipped or invalid UTF-8 inserted
        data = bytearray(text)
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(data) + 1)
            data[pos:pos] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
                                        bytes([rng.randrange(256)])])
        return bytes(data)
    if r < 0.75:  # not an object
        return rng.choice([b"[]", b"\"x\"", b"1", b"null", b"true", b"[{}]", b"-0", b"1e999"])
    if r < 0.78:  # empty or blank
        return rng.choice([b"", b" ", b"\r\n\t ", b"\x00"])
    if r < 0.83:  # deep nesting, balanced or not, inside a real field or alone
        depth = rng.choice([100, 1000, 10000, 100000, 400000])
        nest = rng.choice(["[", "{\"a\":"])
        close = "]" if nest == "[" else "}"
        inner = nest * depth + "1" + close * (depth if rng.random() < 0.7 else 0)
        if rng.random() < 0.5 and isinstance(tree, dict) and tree:
            key = rng.choice(list(tree))
            return enc("{" + json.dumps(key) + ":" + inner + "}")
        return enc(inner)
    if r < 0.87:  # extra text around a document
        return rng.choice([b"\xef\xbb\xbf", b"", b"/* c */", b"// c\n"]) + text + \
            rng.choice([b"x", b"{}", b"\x00", b" ", b"]", b"}", b",", b""])
    if r < 0.92:  # a literal JSON cannot hold, in a real field
        if isinstance(tree, dict) and tree:
            tree = dict(tree)
            tree[rng.choice(list(tree))] = Raw(rng.choice(RAW_LITERALS))
        return enc(dump(tree, rng))
    if r < 0.96:  # large: long strings or many items, under the body limit
        big = rng.choice([{"x": "y" * 500000}, {"x": list(range(100000))},
                          {"x": [{"a": i} for i in range(30000)]},
                          {"x": "\\u00e9" * 100000}])
        if isinstance(tree, dict):
            key = rng.choice(list(tree) or ["x"])
            tree = dict(tree)
            tree[key] = list(big.values())[0]
            return enc(dump(tree, rng))
        return enc(dump(big, rng))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))  # noise


def build_request(method, target, body, extra_headers=(), chunked=False,
                  content_length=None):
    """Request bytes; `content_length` announces another length than the body's."""
    headers = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1"]
    headers += list(extra_headers)
    if content_length is not None:
        headers.append("Content-Length: %d" % content_length)
    elif chunked:
        headers.append("Transfer-Encoding: chunked")
        chunks = b""
        pos = 0
        while pos < len(body):
            n = min(len(body) - pos, 1 + (pos * 7919) % 4096)
            chunks += b"%x\r\n" % n + body[pos:pos + n] + b"\r\n"
            pos += n
        body = chunks + b"0\r\n\r\n"
    elif body or method in ("POST", "PUT", "PATCH"):
        headers.append("Content-Length: %d" % len(body))
    return "\r\n".join(headers).encode("latin-1") + b"\r\n\r\n" + body


class NoAnswer(Exception):
    pass


class Malformed(Exception):
    pass


STATUS_LINE = re.compile(rb"^HTTP/1\.1 ([1-5][0-9][0-9]) [^\r\n]*$")


class Connection:
    """A keep-alive connection that reads whole HTTP/1.1 responses, strictly."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.used = False
        self.closed_by_server = False

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def request(self, payload, send_all=True, is_head=False):
        """Sends a request; returns (status, headers, body). Raises NoAnswer if the
        connection ends before an answer starts, Malformed for a bad answer (for a
        HEAD request, `is_head`, also one that carries content)."""
        self.used = True
        try:
            self.sock.sendall(payload)
        except OSError:
            if not send_all:
                pass  # an early answer (413) may still be there to read
            elif not self.buf:
                raise NoAnswer("send failed")
        try:
            while b"\r\n\r\n" not in self.buf:
                if len(self.buf) > 65536:
                    raise Malformed("no end of headers in %d bytes" % len(self.buf))
                self._fill()
        except (EOFError, ConnectionResetError):
            if not self.buf:
                raise NoAnswer("closed before an answer")
            raise Malformed("answer cut in its headers: %r" % self.buf[:200])
        except socket.timeout:
            raise NoAnswer("timed out waiting for an answer" if not self.buf else
                           "timed out in the headers of %r" % self.buf[:200])
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        m = STATUS_LINE.match(lines[0])
        if not m:
            raise Malformed("bad status line %r" % lines[0][:200])
        status = int(m.group(1))
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or b"\n" in line:
                raise Malformed("bad header line %r" % line[:200])
            key = name.decode("latin-1").lower()
            if key in headers and key in ("content-length", "content-type"):
                raise Malformed("header %s given twice" % key)
            headers[key] = value.strip().decode("latin-1")
        if headers.get("connection", "").lower() == "close":
            self.closed_by_server = True
        if is_head:  # no content, whatever Content-Length says (RFC 9110 9.3.2) ...
            if self.closed_by_server and status in (400, 431):
                # ... unless the request could not be parsed (its method may be unknown)
                # and the connection ends with the answer: no next answer to confuse.
                return status, headers, b""
            if not self.buf:
                self.sock.settimeout(0.3)
                try:
                    self._fill()
                except (EOFError, OSError):
                    pass
                self.sock.settimeout(self.timeout)
            if self.buf:
                raise Malformed("the answer to HEAD (status %d) carries content: %r"
                                % (status, self.buf[:120]))
            return status, headers, b""
        try:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = self._read_chunked()
            elif "content-length" in headers:
                length = headers["content-length"]
                if not length.isdigit():
                    raise Malformed("bad Content-Length %r" % length)
                body = self._read_exact(int(length))
            elif status in (204, 304) or status < 200:
                body = b""
            else:
                raise Malformed("an answer with neither Content-Length nor chunked body")
        except (EOFError, ConnectionResetError, socket.timeout):
            raise Malformed("answer body cut short (status %d)" % status)
        return status, headers, body

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return body

    def _read_chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while b"\r\n\r\n" not in b"\r\n" + self.buf:
                    self._fill()
                self.buf = (b"\r\n" + self.buf).split(b"\r\n\r\n", 1)[1]
                return body
            body += self._read_exact(size + 2)[:-2]


class ApiState:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.allowed = {int(s) for s in args.allowed_status.split(",") if s}
        self.run_ids = []
        self.filters = set()
        self.ensembles = set()
        self.crawls_accepted = 0
        self.stops_accepted = 0
        self.counts = {}  # "METHOD path" -> {status: n}
        self.failures = []
        self.errors = []  # the fuzzer's own exceptions
        self.sent = 0
        self.reconnects = 0

    def count(self, route, status):
        with self.lock:
            by_status = self.counts.setdefault(route, {})
            by_status[str(status)] = by_status.get(str(status), 0) + 1

    def fail(self, kind, method, target, payload, detail, response=b""):
        with self.lock:
            n = len(self.failures)
            record = {"kind": kind, "method": method, "target": target[:2000],
                      "head": payload.split(b"\r\n\r\n", 1)[0][:2000].decode("latin-1"),
                      "body": payload.split(b"\r\n\r\n", 1)[-1][:300].decode("latin-1"),
                      "body_bytes": len(payload.split(b"\r\n\r\n", 1)[-1]),
                      "detail": detail, "response": response[:300].decode("latin-1")}
            if self.args.failures:
                os.makedirs(self.args.failures, exist_ok=True)
                path = os.path.join(self.args.failures, "failure-%03d.http" % n)
                with open(path, "wb") as f:
                    f.write(payload)
                record["request_file"] = path
            self.failures.append(record)
            if n < 5:
                print("FUZZ FAILURE %s: %s %s body=%r (%d bytes): %s%s" % (
                    kind, method, target[:200], record["body"][:200], record["body_bytes"],
                    detail, "; answer " + record["response"][:200] if response else ""),
                    file=sys.stderr)


def check_answer(state, method, path, target, payload, status, headers, body):
    route = "%s %s" % (method, path)
    state.count(route, status)
    if status not in state.allowed:
        state.fail("status", method, target, payload, "status %d" % status, body)
        return None
    if not headers.get("content-type", "").startswith("application/json"):
        state.fail("content-type", method, target, payload,
                   "Content-Type %r" % headers.get("content-type"), body)
        return None
    if method == "HEAD":
        return None

    def no_constant(name):
        raise ValueError("JSON constant %s" % name)
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError) as e:
        state.fail("json", method, target, payload, "body is not JSON: %s" % e, body)
        return None
    if not isinstance(doc, dict) or (status >= 400 and not (
            isinstance(doc.get("error"), str) and "detail" in doc)):
        state.fail("json", method, target, payload,
                   "not a JSON object (with error and detail for >= 400)", body)
        return None
    if 200 <= status < 300:
        with state.lock:
            if path == "/api/algorunner/run":
                state.run_ids.append(doc.get("run_id"))
            elif path == "/api/screener/custom-filter":
                state.filters.add(doc.get("name"))
            elif path == "/api/tickscrawler/crawl":
                state.crawls_accepted += 1
            elif path == "/api/algorunner/stop":
                state.stops_accepted += 1
            elif path == "/ensemble/deploy":
                state.ensembles.add(doc.get("name"))
    return doc


def api_worker(state, vocab, index, count, deadline):
    try:
        api_requests(state, vocab, index, count, deadline)
    except Exception as e:  # a bug of the fuzzer itself: fail loudly, not silently
        import traceback
        traceback.print_exc()
        with state.lock:
            state.errors.append("connection %d: %r" % (index, e))


def api_requests(state, vocab, index, count, deadline):
    args = state.args
    rng = random.Random(args.seed * 7919 + index)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
    conn = None
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        method, path, body_gen, query_gen = rng.choices(API_ROUTES, API_WEIGHTS)[0]
        body = make_body(rng, body_gen(rng, vocab, state)) if body_gen else b""
        if rng.random() < 0.06:
            method = rng.choice(methods)  # 405 (or the route's own method)
        if method == "GET" and body and rng.random() < 0.7:
            body = b""
        target = path + query_gen(rng, vocab, state)
        extra = []
        r = rng.random()
        if r < 0.6:
            extra.append("Content-Type: application/json")
        elif r < 0.7:
            extra.append(rng.choice(["Content-Type: text/plain",
                                     "Content-Type: application/json; charset=latin-1",
                                     "Content-Type: \u00e9".encode("utf-8").decode("latin-1")]))
        if rng.random() < 0.03:
            extra.append("Connection: close")
        chunked = rng.random() < 0.05 and bool(body)
        oversized = rng.random() < 0.005
        if oversized:  # announce 2 MiB, send a little: 413 before the body is read
            payload = build_request(method, target, b"{" * 1000, extra,
                                    content_length=2 * 1024 * 1024)
        else:
            payload = build_request(method, target, body, extra, chunked)
        for attempt in range(2):
            if conn is None:
                try:
                    conn = Connection(args.port, args.timeout)
                except OSError as e:
                    state.fail("connect", method, target, payload, str(e))
                    return
                with state.lock:
                    state.reconnects += 1
            reused = conn.used
            try:
                with state.lock:
                    state.sent += 1
                status, headers, answer = conn.request(payload, send_all=not oversized,
                                                       is_head=method == "HEAD")
            except NoAnswer as e:
                conn.close()
                conn = None
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection: retry once
                state.fail("no answer", method, target, payload, str(e))
                break
            except Malformed as e:
                conn.close()
                conn = None
                state.fail("malformed", method, target, payload, str(e))
                break
            except OSError as e:
                conn.close()
                conn = None
                state.fail("socket", method, target, payload, str(e))
                break
            check_answer(state, method, path, target, payload, status, headers, answer)
            if conn.closed_by_server or oversized or "Connection: close" in extra:
                conn.close()
                conn = None
            break
    if conn is not None:
        conn.close()


def failure_classes(failures):
    """Failures grouped by kind and answer (digits folded), smallest request first."""
    classes = {}
    for f in failures:
        try:
            answer = json.loads(f["response"])
            what = "%s: %s" % (answer.get("error"), answer.get("detail"))
        except (ValueError, AttributeError):
            what = f["detail"]
        key = f["kind"] + " | " + re.sub(r"[0-9]+", "N", what)[:60]
        classes.setdefault(key, []).append(f)
    return sorted(classes.items(), key=lambda kv: -len(kv[1]))


def reproducer(port, f):
    """A curl command line that sends the failing request again (when it can)."""
    body = f["body"].encode("latin-1")
    url = "http://127.0.0.1:%d%s" % (port, f["target"])
    printable = all(32 <= b < 127 or b in (9, 10) for b in body)
    if (f["body_bytes"] > 300 or not printable or len(f["target"]) > 1000 or
            "Transfer-Encoding" in f.get("head", "")):
        return "replay the saved bytes: nc 127.0.0.1 %d < %s" % (
            port, f.get("request_file", "(use --failures DIR)"))
    method = "-I" if f["method"] == "HEAD" else "-X " + f["method"]
    data = " --data-binary " + shlex.quote(body.decode()) if body else ""
    return "curl -sv %s %s%s" % (method, shlex.quote(url), data)


def run_api(args):
    start = time.monotonic()
    vocab = Vocabulary()
    vocab.discover(args.port)
    state = ApiState(args)
    deadline = start + args.seconds
    threads = []
    for i in range(args.connections):
        count = args.count // args.connections + (1 if i < args.count % args.connections else 0)
        t = threading.Thread(target=api_worker, args=(state, vocab, i, count, deadline))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    total = sum(sum(c.values()) for c in state.counts.values())
    by_status = {}
    for counts in state.counts.values():
        for s, n in counts.items():
            by_status[s] = by_status.get(s, 0) + n
    print("fuzz --api: %d requests in %.1f s over %d connection(s) (%d opened), "
          "answered %d, by status %s, failures %d; accepted: %d run(s), %d filter name(s), "
          "%d crawl(s), %d stop(s); vocabulary: %d algorithms, %d symbols"
          % (state.sent, elapsed, args.connections, state.reconnects, total,
             json.dumps(dict(sorted(by_status.items()))), len(state.failures),
             len(state.run_ids), len(state.filters), state.crawls_accepted,
             state.stops_accepted, len(vocab.algorithms), len(vocab.symbols)))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump({"requests": state.sent, "answered": total, "seconds": elapsed,
                       "by_status": by_status, "by_route": state.counts,
                       "run_ids": state.run_ids, "filters": sorted(state.filters),
                       "ensembles": sorted(state.ensembles),
                       "crawls_accepted": state.crawls_accepted,
                       "stops_accepted": state.stops_accepted,
                       "failures": state.failures}, f, indent=1)
    for key, group in failure_classes(state.failures):
        smallest = min(group, key=lambda f: (f["body_bytes"], len(f["target"])))
        print("fuzz --api: %d x %s\n    e.g. %s %s body %r\n    reproduce: %s" % (
            len(group), key, smallest["method"], smallest["target"][:200],
            smallest["body"][:200], reproducer(args.port, smallest)), file=sys.stderr)
    if state.errors:
        print("fuzz --api: the fuzzer itself failed: %s" % state.errors, file=sys.stderr)
    if state.failures or state.errors or total == 0:
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--api", action="store_true",
                        help="well-framed requests to quantfarm serve's service routes")
    parser.add_argument("--connections", type=int, default=4, help="--api: parallel clients")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="--api: seconds to wait for one answer")
    parser.add_argument("--allowed-status", default=DEFAULT_ALLOWED,
                        help="--api: comma-separated statuses an answer may have")
    parser.add_argument("--summary", help="--api: write a JSON summary here")
    parser.add_argument("--failures", help="--api: save failing requests' bytes here")
    args = parser.parse_args()
    if args.api:
        run_api(args)
    else:
        run_raw(args)


if __name__ == "__main__":
    main()
