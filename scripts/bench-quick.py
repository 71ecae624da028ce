#!/usr/bin/env python3
"""The quick check (issue 20, item 5): rust-rpc against tonic in under a minute once built.

Prints same-run ratios for the figures every change to the call path should be checked against:
- unary 1x1 and 50x10 (helloworld SayHello): calls/s, p50 and p99;
- server streaming of 1 KiB messages: messages/s;
measured as scripts/bench-runtime.py measures them (a fresh server pinned to core 0, each
library's own client pinned to core 1, one-worker Tokio runtimes), in short rounds that alternate
the two libraries (rust-rpc first in odd rounds, tonic first in even ones); the median of the
rounds. Then the load-independent figures: instructions per unary call and per streamed 1 KiB
message, client and server, from callgrind (as scripts/bench-instructions.py counts them, with
shorter loads: the difference of a 0.5 s and a 2.5 s load; both libraries at once).

Usage: scripts/bench-quick.py [--rounds N] [--seconds S] [--no-instructions] [--no-build]

The timed figures are noisy on a shared machine (the load average is printed); the instruction
counts are not, but move by up to about 1% between builds of the same code and, with these short
loads, from run to run by under 1% (unary, and the server's streamed message) to about 5% (the
client's streamed message); scripts/bench-instructions.py's longer loads are steadier. Needs valgrind for the instruction counts. The full
comparison is scripts/bench-runtime.py; the full instruction counts scripts/bench-instructions.py.
"""

import argparse
import concurrent.futures
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_script(name):
    """Imports scripts/NAME.py (their names have dashes, so not by `import`)."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runtime = load_script("bench-runtime")
instructions = load_script("bench-instructions")

CASES = [
    # (name, metrics, load arguments)
    ("unary 1x1", ["rps", "p50_us", "p99_us"], dict(connections=1, concurrency=1)),
    ("unary 50x10", ["rps", "p50_us", "p99_us"], dict(connections=50, concurrency=10)),
    ("stream 1KiB", ["rps"], dict(service="bench", scenario="stream", size=1024)),
]
INSTRUCTION_SCENARIOS = ["unary", "stream"]


def timed(options):
    results = {}
    for round_index in range(options.rounds):
        order = runtime.RUST if round_index % 2 == 0 else list(reversed(runtime.RUST))
        for name, _, load in CASES:
            for impl in order:
                results.setdefault((name, impl), []).append(runtime.measure_load(impl, options, **load))
                time.sleep(0.1)
    return results


def counts(impl, short, long, out_dir):
    """{scenario: (client, server) instructions per operation} for `impl`."""
    per_op = {}
    for scenario in INSTRUCTION_SCENARIOS:
        c1, s1, n1 = instructions.measure(impl, scenario, short, out_dir)
        c2, s2, n2 = instructions.measure(impl, scenario, long, out_dir)
        if n2 <= n1:
            raise RuntimeError(f"{impl} {scenario}: the long load made no more operations ({n1}, {n2})")
        per_op[scenario] = ((c2 - c1) / (n2 - n1), (s2 - s1) / (n2 - n1))
    return per_op


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.6, help="measured seconds per load")
    parser.add_argument("--warmup-ms", type=int, default=200)
    parser.add_argument("--short", type=float, default=0.5, help="seconds of callgrind's short load")
    parser.add_argument("--long", type=float, default=2.5, help="seconds of callgrind's long load")
    parser.add_argument("--no-instructions", action="store_true", help="skip the callgrind counts")
    parser.add_argument("--no-build", action="store_true", help="use target/release/rpc-bench as it is")
    options = parser.parse_args()
    if not options.no_build:
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "benches", "--bin", "rpc-bench"],
                       cwd=REPO, check=True)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    results = timed(options)
    timed_seconds = time.monotonic() - started
    per_op = {}
    if not options.no_instructions:
        with tempfile.TemporaryDirectory(prefix="bench-quick-") as out_dir:
            with concurrent.futures.ThreadPoolExecutor(len(runtime.RUST)) as pool:
                futures = {impl: pool.submit(counts, impl, options.short, options.long, out_dir)
                           for impl in runtime.RUST}
                per_op = {impl: future.result() for impl, future in futures.items()}
    load_after = os.getloadavg()[0]
    print(f"{options.rounds} rounds x {options.seconds} s after {options.warmup_ms} ms warm-up, alternating; "
          f"{time.monotonic() - started:.0f} s in all ({timed_seconds:.0f} s timed); "
          f"load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"{'scenario':<13} {'metric':<8} {'rust-rpc':>32} {'tonic':>32} {'ratio':>6}")
    for name, metrics, _ in CASES:
        for metric in metrics:
            ours, theirs = ([r[metric] for r in results[(name, impl)]] for impl in runtime.RUST)
            ratio = statistics.median(ours) / max(statistics.median(theirs), 1e-9)
            print(f"{name:<13} {metric:<8} {runtime.summary(ours):>32} {runtime.summary(theirs):>32} {ratio:>6.2f}")
    if per_op:
        print(f"instructions per operation (callgrind, {options.long:g} s minus {options.short:g} s loads):")
        for scenario in INSTRUCTION_SCENARIOS:
            what = {"unary": "unary call", "stream": "1KiB message"}[scenario]
            for side, index in (("client", 0), ("server", 1)):
                ours, theirs = (per_op[impl][scenario][index] for impl in runtime.RUST)
                print(f"{what:<13} {side:<8} {ours:>32,.0f} {theirs:>32,.0f} {ours / theirs:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
