#!/usr/bin/env python3
"""Load balancing figure: one rust-rpc channel with round_robin over three servers against the
same channel over one server (pick_first, one connection), unary SayHello.

Every server is pinned to core 0 and the load to core 1 (taskset), so the servers share one
core either way and the figure shows what round_robin costs or gains the client, not more
server cores. The two setups alternate for --rounds rounds, each a --seconds load after a
1 s warm-up, and one line per run is printed (rpc-bench's line), then the medians.

Usage: scripts/bench-lb.py [--rounds 3] [--seconds 5] [--concurrency 32] [--bin PATH]
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "rpc-bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, port):
    process = subprocess.Popen(["taskset", "-c", "0", str(binary), "server", "--impl", "rust-rpc", "--port",
                                str(port)], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "listening" not in line:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process


def run_load(binary, extra, options):
    command = ["taskset", "-c", "1", str(binary), "load", "--impl", "rust-rpc", "--connections", "1",
               "--concurrency", str(options.concurrency), "--seconds", str(options.seconds), *extra]
    out = subprocess.run(command, capture_output=True, text=True, timeout=options.seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"load failed: {out.stderr}")
    line = out.stdout.strip().splitlines()[-1]
    return line, float(re.search(r"rps=(\d+)", line).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--bin", default=str(BIN))
    options = parser.parse_args()
    ports = [free_port() for _ in range(3)]
    servers = [start_server(options.bin, port) for port in ports]
    try:
        results = {"one server, pick_first": [], "three servers, round_robin": []}
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
        setups = {
            "one server, pick_first": ["--port", str(ports[0])],
            "three servers, round_robin": ["--target", target, "--lb", "round_robin"],
        }
        for _ in range(options.rounds):
            for name, extra in setups.items():
                line, rps = run_load(options.bin, extra, options)
                results[name].append(rps)
                print(f"{name}: {line}", flush=True)
        for name, values in results.items():
            print(f"median {name}: {statistics.median(values):.0f} calls/s", flush=True)
    finally:
        for server in servers:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
