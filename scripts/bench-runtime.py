#!/usr/bin/env python3
"""Runtime benchmark, first part of issue 5: unary calls, rust-rpc against plain tonic 0.14 built
from the same proto, interleaved A/B in one run. Each implementation's own client drives its
own server (so a figure covers both ends); the server is pinned to core 0 and the load to core 1
with taskset, each on a one-worker Tokio runtime. Reports the median with min and max over the
rounds, and the ratio rust-rpc / tonic.

Usage: scripts/bench-runtime.py [--rounds N] [--seconds S] [--quick] [--memory]
(--quick: one round of 2 s per scenario, under a minute. --memory: server RSS idle and with
1,000 idle connections instead of the call scenarios.)
"""

import argparse
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / "target" / "release" / "rpc-bench"
SCENARIOS = [("1x1", 1, 1), ("1x100", 1, 100), ("50x10", 50, 10)]
IMPLS = ["rust-rpc", "tonic"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(impl, connections, concurrency, seconds):
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", "0", str(BIN), "server", "--impl", impl, "--port", str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        if "listening" not in server.stdout.readline():
            raise RuntimeError(f"{impl} server did not start")
        out = subprocess.run(
            ["taskset", "-c", "1", str(BIN), "load", "--impl", impl, "--port", str(port),
             "--connections", str(connections), "--concurrency", str(concurrency), "--seconds", str(seconds)],
            capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out)}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def memory(impl, connections=1000):
    """Server RSS idle, and per connection with `connections` idle ones (each made one call)."""
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", "0", str(BIN), "server", "--impl", impl, "--port", str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        if "listening" not in server.stdout.readline():
            raise RuntimeError(f"{impl} server did not start")
        time.sleep(0.3)
        idle = rss_kib(server.pid)
        holder = subprocess.Popen(
            ["taskset", "-c", "1", str(BIN), "idle", "--impl", impl, "--port", str(port),
             "--connections", str(connections), "--seconds", "3"], stdout=subprocess.PIPE, text=True)
        if "holding" not in holder.stdout.readline():
            raise RuntimeError(f"{impl} idle client failed")
        time.sleep(1)
        held = rss_kib(server.pid)
        holder.wait(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"idle_kib": idle, "bytes_per_connection": (held - idle) * 1024 / connections}


def summary(values):
    return f"{statistics.median(values):>9.0f} ({min(values):.0f}-{max(values):.0f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory", action="store_true")
    options = parser.parse_args()
    if options.quick:
        options.rounds, options.seconds = 1, 2
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "benches", "--bin", "rpc-bench"],
                   cwd=REPO, check=True)
    if options.memory:
        rows = {impl: [] for impl in IMPLS}
        for _ in range(options.rounds):
            for impl in IMPLS:
                rows[impl].append(memory(impl))
        print(f"{options.rounds} rounds; median (min-max)")
        for metric in ("idle_kib", "bytes_per_connection"):
            ours = [r[metric] for r in rows["rust-rpc"]]
            theirs = [r[metric] for r in rows["tonic"]]
            ratio = statistics.median(ours) / statistics.median(theirs)
            print(f"{metric:<22} {summary(ours):>22} {summary(theirs):>22} {ratio:>6.2f}")
        return 0
    results = {}
    for _ in range(options.rounds):
        for name, connections, concurrency in SCENARIOS:
            for impl in IMPLS:  # interleaved: A, B, A, B, ...
                r = run(impl, connections, concurrency, options.seconds)
                results.setdefault((name, impl), []).append(r)
                time.sleep(0.2)
    print(f"{options.rounds} rounds x {options.seconds} s; median (min-max)")
    print(f"{'scenario':<8} {'metric':<8} {'rust-rpc':>22} {'tonic':>22} {'ratio':>6}")
    for name, _, _ in SCENARIOS:
        for metric in ("rps", "p50_us", "p99_us", "p999_us"):
            ours = [r[metric] for r in results[(name, "rust-rpc")]]
            theirs = [r[metric] for r in results[(name, "tonic")]]
            ratio = statistics.median(ours) / max(statistics.median(theirs), 1e-9)
            print(f"{name:<8} {metric:<8} {summary(ours):>22} {summary(theirs):>22} {ratio:>6.2f}")


if __name__ == "__main__":
    sys.exit(main())
