#!/usr/bin/env python3
"""Instructions per operation, client and server, for rust-rpc and tonic (callgrind).

Each measurement runs the bench server and its load client (target/release/rpc-bench) under
valgrind's callgrind, once for a short and once for a long load, and divides the difference in
instructions by the difference in operations, so start-up, warm-up and shutdown cancel out. The
figures do not depend on the machine's load, which is why BENCHMARKS.md keeps them beside the
timed ones: a change to the call path must not raise them without a reason written there.

Usage: scripts/bench-instructions.py [--scenarios unary,stream,pingpong] [--impls rust-rpc,tonic]
                                     [--short S] [--long S] [--no-build] [--bin PATH] [--keep DIR]
                                     [--server IMPL] [--tls]

--server IMPL serves every measurement with IMPL's server (rust-rpc, say), so the client columns
compare the clients alone, each driving the same server (issue 20, the client side). --tls runs
every measurement over TLS (a certificate made by `rpc-bench cert`; rustls with ring on both
libraries); the TLS handshake is part of start-up, which the two loads' difference cancels.

--bin runs another build of rpc-bench (a copy of an earlier commit's, say) instead of building
this tree's: the way to compare a change with what it changes.

Scenarios: unary (helloworld SayHello, one call at a time), stream (server streaming of 1 KiB
messages: per message), pingpong (bidirectional, 1 KiB, one message in flight: per round trip).
Needs valgrind (Debian's `valgrind` package). Takes about five minutes once built; the 8 s long load
keeps the run-to-run spread of the unary figures to about 0.1% (with 4 s it was about 1.5%).
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "rpc-bench"
SCENARIOS = {
    # name: (service, load arguments, what one operation is)
    "unary": ("greeter", [], "unary call"),
    "stream": ("bench", ["--scenario", "stream", "--size", "1024"], "streamed 1 KiB message"),
    "pingpong": ("bench", ["--scenario", "pingpong", "--size", "1024"], "ping-pong round trip"),
}
# `--tls DIR` for both sides, when the run is over TLS (set by main).
TLS_ARGS = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collected(stderr):
    """The instruction count callgrind reports when its program exits."""
    found = re.findall(r"Collected\s*:\s*(\d+)", stderr)
    if not found:
        raise RuntimeError(f"callgrind reported no count:\n{stderr[-2000:]}")
    return int(found[-1])


def callgrind(out_dir, name):
    return ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/{name}.%p"]


def inline_limit(server_impl):
    """rust-rpc's server runs a call in its connection's task unless its first poll took over 20 us
    (runtime/src/server/inline.rs); under callgrind, some 50 times slower, nearly every poll would,
    and the count would be of the path a full-speed server rarely takes. So the limit is raised."""
    return ["--inline-limit-us", "1000000"] if server_impl == "rust-rpc" else []


def measure(impl, scenario, seconds, out_dir, server_impl=None):
    """(client instructions, server instructions, operations) for one load of `seconds`; the
    server is `server_impl`'s (default: `impl`'s)."""
    service, load_args, _ = SCENARIOS[scenario]
    port = free_port()
    server_impl = server_impl or impl
    server = subprocess.Popen(
        [*callgrind(out_dir, f"server-{server_impl}-for-{impl}-{scenario}-{seconds:g}s"), str(BIN), "server", "--impl",
         server_impl, "--port", str(port), "--service", service, *TLS_ARGS, *inline_limit(server_impl)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if "listening" not in line:
            raise RuntimeError(f"{impl} server did not start: {server.stderr.read()[-2000:]}")
        client = subprocess.run(
            [*callgrind(out_dir, f"client-{impl}-{scenario}-{seconds:g}s"), str(BIN), "load", "--impl", impl, "--port", str(port),
             "--connections", "1", "--concurrency", "1", "--seconds", str(seconds), "--warmup-ms", "200",
             *load_args, *TLS_ARGS],
            capture_output=True, text=True, timeout=seconds * 20 + 300)
        if client.returncode != 0:
            raise RuntimeError(f"load failed: {client.stderr[-2000:]}")
        calls = int(re.search(r"calls=(\d+)", client.stdout).group(1))
        client_instructions = collected(client.stderr)
    finally:
        # callgrind writes its totals when the program dies of the signal, too.
        server.send_signal(signal.SIGTERM)
        _, server_err = server.communicate(timeout=120)
    return client_instructions, collected(server_err), calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--impls", default="rust-rpc,tonic")
    parser.add_argument("--short", type=float, default=1.0, help="seconds of the short load")
    parser.add_argument("--long", type=float, default=8.0, help="seconds of the long load")
    parser.add_argument("--no-build", action="store_true", help="use target/release/rpc-bench as it is")
    parser.add_argument("--bin", help="measure this rpc-bench binary (implies --no-build)")
    parser.add_argument("--server", help="serve every measurement with this implementation's server")
    parser.add_argument("--tls", action="store_true", help="measure over TLS")
    parser.add_argument("--keep", help="keep callgrind's output files in this directory (named by side, impl, "
                        "scenario and load seconds), for callgrind_annotate; prints each load's operations")
    options = parser.parse_args()
    global BIN
    if options.bin:
        BIN = Path(options.bin)
    elif not options.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "benches", "--bin", "rpc-bench"],
                       cwd=REPO, check=True)
    impls = options.impls.split(",")
    print(f"{'operation':<26} {'side':<7}" + "".join(f" {impl:>10}" for impl in impls))
    with tempfile.TemporaryDirectory() as temp_dir:
        out_dir = options.keep or temp_dir
        if options.tls:
            cert_dir = os.path.join(temp_dir, "cert")
            subprocess.run([str(BIN), "cert", "--out", cert_dir], check=True, capture_output=True)
            TLS_ARGS.extend(["--tls", cert_dir])
        if options.keep:
            os.makedirs(out_dir, exist_ok=True)
        for scenario in options.scenarios.split(","):
            per_op = {}
            for impl in impls:
                c1, s1, n1 = measure(impl, scenario, options.short, out_dir, options.server)
                c2, s2, n2 = measure(impl, scenario, options.long, out_dir, options.server)
                if options.keep:
                    print(f"# {impl} {scenario}: {n1} operations in the short load, {n2} in the long", flush=True)
                if n2 <= n1:
                    raise RuntimeError(f"{impl} {scenario}: the long run made no more operations ({n1}, {n2})")
                per_op[impl] = ((c2 - c1) / (n2 - n1), (s2 - s1) / (n2 - n1))
            what = SCENARIOS[scenario][2]
            for side, index in (("client", 0), ("server", 1)):
                cells = "".join(f" {per_op[impl][index]:>10,.0f}" for impl in impls)
                print(f"{what if index == 0 else '':<26} {side:<7}{cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
