#!/usr/bin/python3
"""A local stand-in for Binance's market streams, for tests/serve/tick_streams_test.cc.

Listens on 127.0.0.1 on a free port and prints the port (one line) to stdout; exits
when stdin closes or on SIGTERM. Needs the `websockets` module (Debian's
python3-websockets, 10.4).

Paths, as Binance's (https://developers.binance.com/docs/binance-spot-api-docs/
web-socket-streams):
  /ws/<symbol>@trade, /ws/<symbol>@kline_1m       one raw stream
  /stream?streams=<symbol>@trade/<symbol>@trade   a combined stream: each message is
                                                  {"stream": "<name>", "data": <event>}
Each connection replays the script below from where the previous connection of the
same path stopped, then stays open and silent until the client closes it.

Modes, as leading path segments (so that a test can put them in the base URL,
"ws://127.0.0.1:PORT/drop=3/malformed=2") or as environment variables applying to
every path (REPLAY_DROP, REPLAY_MALFORMED):
  drop=N       the first connection of the path is cut (TCP abort, no close frame)
               after N messages
  malformed=K  one malformed message is sent once, before the K-th message (0-based)
  delay=MS     pause between messages (default 2 ms)
  endless=1    (trade streams) after the script, one more trade per message forever,
               each a second after the previous one, so a 1-minute bar closes every
               60 messages; the cursor goes on across connections as for the script
Environment: REPLAY_CONNECTIONS_LOG=FILE appends "open <path>" per connection;
REPLAY_TLS_CERT and REPLAY_TLS_KEY (PEM files) serve wss:// instead of ws://.
"""

import asyncio
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse

import websockets

MINUTE0 = 1704067200000  # 2024-01-01T00:00:00Z, in ms

# (trade id, trade time, price, quantity). Minute 0: O 100 H 105.5 L 99 C 101 V 5;
# minute 1: O 102 H 103 L 102 C 103 V 2; the trade of minute 3 closes minute 1 and
# leaves minute 3 open (never written by the client).
TRADES = [
    (1, MINUTE0 + 1_000, "100.00", "1.0"),
    (2, MINUTE0 + 20_000, "105.50", "2.0"),
    (3, MINUTE0 + 40_000, "99.00", "0.5"),
    (4, MINUTE0 + 59_999, "101.00", "1.5"),
    (5, MINUTE0 + 60_000, "102.00", "1.0"),
    (6, MINUTE0 + 90_000, "103.00", "1.0"),
    (7, MINUTE0 + 180_000, "104.00", "3.0"),
]

# (start minute, o, h, l, c, v, closed). Closed: minute 0 (O 10 H 12 L 9 C 11 V 100)
# and minute 1 (O 11 H 11.5 L 10.5 C 10.75 V 50); minute 1's closed kline comes twice
# (the client keeps one), minute 2 is still open at the end.
KLINES = [
    (0, "10.0", "11.0", "9.5", "10.5", "40", False),
    (0, "10.0", "12.0", "9.0", "11.0", "100", True),
    (1, "11.0", "11.5", "10.5", "11.0", "20", False),
    (1, "11.0", "11.5", "10.5", "10.75", "50", True),
    (1, "11.0", "11.5", "10.5", "10.75", "50", True),
    (2, "10.75", "10.8", "10.7", "10.8", "5", False),
]


def now_ms():
    return int(time.time() * 1000)


def trade_event(symbol, row):
    trade_id, trade_time, price, quantity = row
    return {"e": "trade", "E": now_ms(), "s": symbol, "t": trade_id, "p": price,
            "q": quantity, "T": trade_time, "m": True, "M": True}


def kline_event(symbol, row):
    minute, o, h, l, c, v, closed = row
    start = MINUTE0 + minute * 60_000
    return {"e": "kline", "E": now_ms(), "s": symbol,
            "k": {"t": start, "T": start + 59_999, "s": symbol, "i": "1m", "f": 100,
                  "L": 200, "o": o, "c": c, "h": h, "l": l, "v": v, "n": 10, "x": closed,
                  "q": "1.0", "V": "1", "Q": "1", "B": "0"}}


def endless_trade(names, combined, k):
    """Trade k after the script, of every stream of the path in turn."""
    name = names[k % len(names)]
    symbol = name.partition("@")[0].upper()
    event = trade_event(symbol, (len(TRADES) + 1 + k, MINUTE0 + 180_000 + (k + 1) * 1000,
                                 f"{104 + k % 10:.2f}", "1.0"))
    return {"stream": name, "data": event} if combined else event


def script(names, combined):
    """The messages of one path: every stream's events, interleaved row by row."""
    per_stream = []
    for name in names:
        symbol, _, kind = name.partition("@")
        symbol = symbol.upper()
        if kind == "trade":
            events = [trade_event(symbol, row) for row in TRADES]
        elif kind == "kline_1m":
            events = [kline_event(symbol, row) for row in KLINES]
        else:
            raise ValueError(f"unknown stream {name}")
        if combined:
            events = [{"stream": name, "data": e} for e in events]
        per_stream.append(events)
    out = []
    for i in range(max(len(s) for s in per_stream)):
        for events in per_stream:
            if i < len(events):
                out.append(events[i])
    return out


class EndlessScript(list):
    """The script, then endless_trade forever (len() is unbounded)."""
    def __init__(self, messages, names, combined):
        super().__init__(messages)
        self.names, self.combined = names, combined

    def __len__(self):
        return sys.maxsize

    def __getitem__(self, i):
        n = super().__len__()
        return super().__getitem__(i) if i < n else endless_trade(self.names,
                                                                  self.combined, i - n)


class Replay:
    def __init__(self):
        self.cursor = {}        # path -> messages sent so far over all connections
        self.connections = {}   # path -> connections opened
        self.malformed_sent = set()

    async def handle(self, ws, path=None):
        path = ws.path
        parsed = urllib.parse.urlsplit(path)
        segments = [s for s in parsed.path.split("/") if s]
        modes = {"drop": int(os.environ.get("REPLAY_DROP", "-1")),
                 "malformed": int(os.environ.get("REPLAY_MALFORMED", "-1")),
                 "delay": 2}
        while segments and "=" in segments[0]:
            key, _, value = segments.pop(0).partition("=")
            modes[key] = int(value)
        if len(segments) == 2 and segments[0] == "ws":
            names, combined = [segments[1]], False
        elif segments == ["stream"]:
            query = urllib.parse.parse_qs(parsed.query)
            names, combined = query.get("streams", [""])[0].split("/"), True
        else:
            await ws.close(code=1008, reason="unknown path")
            return
        try:
            messages = script(names, combined)
        except ValueError as e:
            await ws.close(code=1008, reason=str(e))
            return
        self.connections[path] = self.connections.get(path, 0) + 1
        first = self.connections[path] == 1
        if os.environ.get("REPLAY_CONNECTIONS_LOG"):
            with open(os.environ["REPLAY_CONNECTIONS_LOG"], "a") as f:
                f.write(f"open {path}\n")
        if modes.get("endless") and all(n.endswith("@trade") for n in names):
            messages = EndlessScript(messages, names, combined)
        try:
            await self.replay(ws, path, messages, combined, modes, first)
        except websockets.ConnectionClosed:
            pass  # the client left (a stopped stream)

    async def replay(self, ws, path, messages, combined, modes, first):
        sent_here = 0
        while self.cursor.get(path, 0) < len(messages):
            index = self.cursor.get(path, 0)
            if first and modes["drop"] >= 0 and sent_here >= modes["drop"]:
                ws.transport.abort()
                return
            if index == modes["malformed"] and path not in self.malformed_sent:
                self.malformed_sent.add(path)
                await ws.send('{"e": "trade", "s": "BTCUSDT", "p": ')  # cut short
            message = dict(messages[index])
            # A fresh event time, for the client's lag.
            (message["data"] if combined else message)["E"] = now_ms()
            await ws.send(json.dumps(message))
            self.cursor[path] = index + 1
            sent_here += 1
            await asyncio.sleep(modes["delay"] / 1000)
        await ws.wait_closed()


async def main():
    replay = Replay()
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: done.done() or done.set_result(None))
    loop.add_reader(sys.stdin.fileno(),
                    lambda: (sys.stdin.buffer.read1(4096) or done.done() or
                             done.set_result(None)))
    tls = None
    if os.environ.get("REPLAY_TLS_CERT"):
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(os.environ["REPLAY_TLS_CERT"], os.environ["REPLAY_TLS_KEY"])
    async with websockets.serve(replay.handle, "127.0.0.1", 0, ssl=tls) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await done


if __name__ == "__main__":
    asyncio.run(main())
