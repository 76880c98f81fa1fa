#!/usr/bin/python3
"""Local replay of the market-data sources for the connector tests (no internet).

Usage: replay_server.py --port-file F --log L [--port 0] [--tls-cert PEM --tls-key PEM]
(with a certificate it serves https:// instead of http://)
Writes the port it listens on to F, one JSON line per request to L ({"path", "query",
"headers"}), and answers in the providers' documented formats:
  GET /api/v3/klines?symbol=&interval=&limit=   Binance klines (arrays of strings/numbers)
  GET /api/v3/trades?symbol=&limit=             Binance trades
  GET /v8/finance/chart/<symbol>                Yahoo chart (a null bar included)
  GET /query?function=TIME_SERIES_DAILY|TIME_SERIES_INTRADAY&symbol=&apikey=
The symbol chooses a failure mode: RATELIMIT -> 429 Retry-After: 30; RETRYONCE -> 429
Retry-After: 1 the first time, then data; FAIL500 -> 500; BROKEN -> malformed JSON;
SLOW -> data after 5 s; ENDLESS -> a body without Content-Length that stops after
128 KiB and never ends; NOTE -> Alpha Vantage "Note" (rate limit inside a 200).
Bars are deterministic: bar i of a series opens at 2024-01-01 + i * interval.
Never echoes a request header or the apikey.
"""
import argparse
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

T0 = 1704067200  # 2024-01-01T00:00:00Z
SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "60m": 3600, "1d": 86400,
           "1min": 60, "5min": 300, "60min": 3600}
seen_retry = set()
log_lock = threading.Lock()


def bar(i, step):
    base = 100.0 + i
    return T0 + i * step, base, base + 2, base - 1, base + 1, 1000 + i


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        with log_lock, open(self.server.log_path, "a") as f:
            f.write(json.dumps({"path": url.path, "query": q,
                                "headers": dict(self.headers.items())}) + "\n")
        symbol = q.get("symbol", url.path.rsplit("/", 1)[-1])
        if "RATELIMIT" in symbol:
            return self.send(429, '{"code": -1003, "msg": "Too many requests"}',
                             [("Retry-After", "30")])
        if "RETRYONCE" in symbol and symbol not in seen_retry:
            seen_retry.add(symbol)
            return self.send(429, '{"code": -1003, "msg": "Too many requests"}',
                             [("Retry-After", "1")])
        if "FAIL500" in symbol:
            return self.send(500, '{"msg": "internal error"}')
        if "BROKEN" in symbol:
            return self.send(200, '[[1704067200000, "1.0", "2.0"')
        if "SLOW" in symbol:
            time.sleep(5)
        if "ENDLESS" in symbol:  # a body ended by EOF that does not end: 128 KiB, then silence
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"[" + b" " * (128 << 10))
            self.wfile.flush()
            time.sleep(30)
            return
        limit = int(q.get("limit", "5"))
        if url.path == "/api/v3/klines":
            step = SECONDS.get(q.get("interval"), 60)
            rows = []
            for i in range(limit):
                t, o, h, lo, c, v = bar(i, step)
                rows.append([t * 1000, f"{o:.2f}", f"{h:.2f}", f"{lo:.2f}", f"{c:.2f}",
                             f"{v:.5f}", (t + step) * 1000 - 1, "0", 10, "0", "0", "0"])
            return self.send(200, json.dumps(rows))
        if url.path == "/api/v3/trades":
            rows = [{"id": 1000 + i, "price": f"{42000 + i:.2f}", "qty": "0.5",
                     "quoteQty": "21000", "time": T0 * 1000 + i * 250,
                     "isBuyerMaker": i % 2 == 0, "isBestMatch": True}
                    for i in range(limit)]
            return self.send(200, json.dumps(rows))
        if url.path.startswith("/v8/finance/chart/"):
            step = SECONDS.get(q.get("interval"), 86400)
            bars = [bar(i, step) for i in range(5)]
            quote = {k: [b[j + 1] for b in bars] for j, k in
                     enumerate(["open", "high", "low", "close", "volume"])}
            for k in quote:
                quote[k][2] = None  # a missing bar
            doc = {"chart": {"result": [{"meta": {"symbol": symbol},
                                         "timestamp": [b[0] for b in bars],
                                         "indicators": {"quote": [quote]}}],
                             "error": None}}
            return self.send(200, json.dumps(doc))
        if url.path == "/query":
            if "NOTE" in symbol:
                return self.send(200, json.dumps({"Note": "Thank you for using Alpha "
                                                  "Vantage! Our standard API rate limit "
                                                  "is 25 requests per day."}))
            if not q.get("apikey"):
                return self.send(200, json.dumps({"Error Message": "the parameter apikey "
                                                  "is invalid or missing."}))
            intraday = q.get("function") == "TIME_SERIES_INTRADAY"
            step = SECONDS.get(q.get("interval"), 86400) if intraday else 86400
            series = {}
            for i in range(5):
                t, o, h, lo, c, v = bar(i, step)
                key = time.strftime("%Y-%m-%d %H:%M:%S" if intraday else "%Y-%m-%d",
                                    time.gmtime(t))
                series[key] = {"1. open": f"{o:.4f}", "2. high": f"{h:.4f}",
                               "3. low": f"{lo:.4f}", "4. close": f"{c:.4f}",
                               "5. volume": str(v)}
            name = (f"Time Series ({q.get('interval')})" if intraday
                    else "Time Series (Daily)")
            return self.send(200, json.dumps({"Meta Data": {"2. Symbol": symbol},
                                              name: series}))
        return self.send(404, '{"error": "not found"}')


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    a = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        import ssl
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.tls_cert, a.tls_key)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.log_path = a.log
    open(a.log, "a").close()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
