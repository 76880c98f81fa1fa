#!/usr/bin/python3
"""Sends random, truncated and malformed HTTP requests to a server on loopback.

Usage: http_fuzz.py PORT [--seed S] [--count N] [--seconds T]

Bounded: at most N connections and T seconds. Every answer that does come back must
start with an HTTP/1.1 status line; a connection the server closes or resets is fine.
Exits 0 unless an answer was malformed or no connection could be made at all.
Stdlib only, deterministic for a seed (up to timing).
"""
import argparse
import random
import socket
import sys
import time

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
