#!/usr/bin/env python3
"""How evenly a server serves its connections at saturation (issue 20, item 1), rust-rpc against
tonic in the same run.

h2load (Debian's nghttp2-client) drives each server with -c C -m M on one thread, POSTing the
pre-encoded SayHello frame of scripts/bench-runtime.py, for S seconds after a warm-up; the server
is pinned to core 0 and h2load to core 1, a fresh server per measurement, the two libraries
alternating. From h2load's own report: calls/s, and the spread of the per-connection rates
(`req/s` min, max, mean and standard deviation over the connections: with a fair server every
connection completes about as many calls). From its --log-file (one line per request): the
latency percentiles p50, p99 and p99.9. From /proc: how often the kernel took the core away from
the server while it had work (`preempted_per_s`, its threads' nonvoluntary context switches per
second), which on a shared machine is the first suspect for a long tail. Medians over the rounds;
ratio = rust-rpc / tonic.

Usage: scripts/bench-fairness.py [--rounds N] [--seconds S] [--connections C] [--streams M]
                                 [--runtime current-thread] [--nghttpd] [--no-build]
"""

import argparse
import contextlib
import importlib.util
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_runtime", REPO / "scripts" / "bench-runtime.py")
runtime = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runtime)

METRICS = ["rps", "conn_min", "conn_max", "conn_sd", "max_over_min", "p50_us", "p99_us", "p999_us", "preempted_per_s"]


def preemptions(pid):
    """The nonvoluntary context switches of all of `pid`'s threads so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("nonvoluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


@contextlib.contextmanager
def nghttpd(options):
    """nghttpd (Debian's nghttp2-server), plain HTTP/2 serving a gRPC reply frame as a static file
    at the method's path, pinned to core 0 as the servers are: what HTTP/2 alone costs. Yields
    (port, pid)."""
    root = Path(options.frame).parent / "htdocs"
    answer = root / runtime.HELLO_PATH.lstrip("/")
    answer.parent.mkdir(parents=True, exist_ok=True)
    message = b"\x0a\x0bHello world"  # helloworld.HelloReply{message: "Hello world"}
    answer.write_bytes(b"\x00" + len(message).to_bytes(4, "big") + message)
    port = runtime.free_port()
    process = subprocess.Popen(["taskset", "-c", "0", "nghttpd", "--no-tls", "-d", str(root), str(port)])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nghttpd did not start")
                time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure(impl, options, log):
    extra = ["--runtime", options.runtime] if options.runtime else []
    serving = nghttpd(options) if impl == "nghttpd" else runtime.server(impl, options, extra=extra)
    with serving as (port, pid):
        before, started = preemptions(pid), time.monotonic()
        command = ["taskset", "-c", "1", "h2load", "-c", str(options.connections), "-m", str(options.streams),
                   "-t", "1", "-D", f"{options.seconds}s", "--warm-up-time", f"{options.warmup_ms}ms",
                   "-d", options.frame, "--log-file", str(log), *runtime.GRPC_HEADERS,
                   f"http://127.0.0.1:{port}{runtime.HELLO_PATH}"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=options.seconds + 60)
        preempted_per_s = (preemptions(pid) - before) / (time.monotonic() - started)
    out = run.stdout + run.stderr
    finished = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    per_connection = re.search(r"req/s\s*:\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out)
    failed = re.search(r"(\d+) failed, (\d+) errored", out)
    if not (finished and per_connection and failed) or int(failed.group(1)) or int(failed.group(2)):
        raise RuntimeError(f"h2load failed or its output was not understood:\n{out}")
    low, high, _mean, sd = (float(per_connection.group(i)) for i in range(1, 5))
    # Requests that started after the warm-up: h2load logs only those (start, status, duration us).
    durations = sorted(int(line.split("\t")[2]) for line in log.read_text().splitlines() if line.count("\t") == 2)
    log.unlink()
    at = lambda q: durations[min(int(len(durations) * q), len(durations) - 1)] if durations else 0
    return {"rps": float(finished.group(1)), "conn_min": low, "conn_max": high, "conn_sd": sd,
            "max_over_min": high / max(low, 1e-9), "p50_us": at(0.5), "p99_us": at(0.99), "p999_us": at(0.999),
            "preempted_per_s": preempted_per_s}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--warmup-ms", type=int, default=500)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--runtime", choices=["current-thread"],
                        help="serve on tokio's single-threaded scheduler instead of one multi-threaded worker")
    parser.add_argument("--nghttpd", action="store_true",
                        help="also measure nghttpd serving the answer as a static file (plain HTTP/2)")
    parser.add_argument("--no-build", action="store_true")
    options = parser.parse_args()
    if not shutil.which("h2load"):
        sys.exit("h2load not found: apt-get install -y nghttp2-client (or scripts/bench-runtime.py --install-tools)")
    if options.nghttpd and not shutil.which("nghttpd"):
        sys.exit("nghttpd not found: apt-get install -y nghttp2-server")
    impls = runtime.RUST + (["nghttpd"] if options.nghttpd else [])
    if not options.no_build:
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "benches", "--bin", "rpc-bench"],
                       cwd=REPO, check=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-fairness-") as scratch:
        options.frame = str(Path(scratch) / "hello.grpc")
        Path(options.frame).write_bytes(runtime.HELLO_FRAME)
        for round_index in range(options.rounds):
            for impl in (impls if round_index % 2 == 0 else list(reversed(impls))):
                results.setdefault(impl, []).append(measure(impl, options, Path(scratch) / "log.tsv"))
                time.sleep(0.2)
    print(f"h2load -c{options.connections} -m{options.streams} -t1, {options.rounds} rounds x {options.seconds} s; "
          "median (min-max); conn_* = calls/s of one connection; ratio = rust-rpc / tonic"
          + ("; then nghttpd, and its ratio to tonic" if options.nghttpd else ""))
    for metric in METRICS:
        ours, theirs = ([r[metric] for r in results[impl]] for impl in runtime.RUST)
        ratio = statistics.median(ours) / max(statistics.median(theirs), 1e-9)
        line = f"{metric:<13} {runtime.summary(ours):>30} {runtime.summary(theirs):>30} {ratio:>6.2f}"
        if options.nghttpd:
            plain = [r[metric] for r in results["nghttpd"]]
            line += f" {runtime.summary(plain):>30} {statistics.median(plain) / max(statistics.median(theirs), 1e-9):>6.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
