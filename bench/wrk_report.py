"""Reads `wrk --latency` output for the HTTP side-by-side benchmarks
(bench/serve_vs_fastapi.sh, bench/ensemble_vs_fastapi.sh).

parse(path) -> (requests/s, p99 in ms, total requests, error lines), where the error
lines are wrk's "Non-2xx or 3xx responses" and "Socket errors" lines (none on a clean
run). best(runs) -> (best requests/s, best p99, total requests) over parsed runs, each
figure taken from its own best run.
"""
import re

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    p99 = float(m.group(1)) * UNIT[m.group(2)]
    total = int(re.search(r"(\d+) requests in", text).group(1))
    errors = [l.strip() for l in text.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    return rps, p99, total, errors


def best(runs):
    return (max(x[0] for x in runs), min(x[1] for x in runs), sum(x[2] for x in runs))


def word(ok):
    return "MET" if ok else "SHORT"
