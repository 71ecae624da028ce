#!/usr/bin/env python3
"""Runtime benchmark (issue 5): rust-rpc against plain tonic 0.14 built from the same protos,
interleaved A/B in one run, plus reference lines (h2load against the servers alone, a Python
grpcio sync server). Each implementation's own client drives its own server (so a figure covers
both ends), except h2load (one independent client for both) and the grpcio line (our rust-rpc
client for both servers). The server is pinned to core 0 and the load to core 1 with taskset,
Rust sides on one-worker Tokio runtimes. Reports the median with min and max over the rounds,
and the ratio rust-rpc / other.

Usage: scripts/bench-runtime.py [--rounds N] [--seconds S] [--quick] [--scenarios LIST]
                                [--install-tools]

Scenarios (default: all but tls and client), comma-separated:
  unary     helloworld SayHello, 1 connection x 1 call, 1x100 and 50 connections x 10 calls:
            calls/s and latency percentiles
  stream    server streaming of 1 KiB messages on one call: messages/s
  pingpong  bidirectional ping-pong, 1 KiB, one message in flight: round trips/s and latency
  large     unary echo of 1 MiB and 16 MiB (request and response both carry the payload; both
            sides' message-size limits raised to 32 MiB): MB/s each way
  gzip      the stream and pingpong scenarios with every message gzip-compressed, both ways
            (1 KiB of zeros, so compression's per-message cost shows, not its throughput)
  h2load    h2load (nghttp2-client) sending one pre-encoded SayHello frame, at -c1 -m1 and
            -c50 -m10, against each server: calls/s
  grpcio    a Python grpcio sync server, driven at 50x10 by our client, against rust-rpc's
            server driven the same way: calls/s
  connectrpc  connectrpc 0.9 (gRPC protocol) against rust-rpc, each with its own client, unary
            1x1 and 50x10: calls/s and latency percentiles
  memory    server RSS idle, per idle connection (1,000 connections, one call each), and per
            connection while serving the 50x10 unary load; each in all and in its private
            (anonymous) part, without the file-backed code pages
  tls       over TLS (rustls with ring on both sides; tonic's `tls-ring`; a test CA and an
            ECDSA P-256 certificate for localhost from `rpc-bench cert`): unary 1x1 and 50x10,
            stream 1KiB, large 1MiB; connections/s where every call opens a new connection
            (`--scenario connect`: TCP, TLS handshake, HTTP/2 setup, one call), with 1 and 4 in
            flight, and the same in plaintext for reference; server memory per idle TLS
            connection (1,000 connections)
  client    the clients alone: each library's client drives the same rust-rpc server (unary
            1x1, 1x100 and 50x10, stream 1KiB): calls/s, and the client process's CPU time per
            call (`cpu_us`) and its use of its core (`cpu_util`, 1.0 = the client is the limit)
(--quick: one round of 0.75 s per measurement after a 0.25 s warm-up, about 41 s in all once
built.
--memory: the same as --scenarios memory.)

Tools: h2load and nghttp come from Debian's nghttp2-client package (`apt-get update && apt-get
install -y nghttp2-client`; --install-tools runs that when they are missing). grpcio and
grpcio-tools are installed by tests/interop/peers/setup.sh into .cache/interop/venv (run here
when needed); the Python stubs are generated at run time into a temporary directory.
"""

import argparse
import contextlib
import os
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Where cargo builds: CARGO_TARGET_DIR when set, as cargo itself does.
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BIN = TARGET / "release" / "rpc-bench"
# connectrpc 0.9 (benches/connectrpc, a workspace of its own), built into target/connectrpc.
CONNECT_DIR = REPO / "benches" / "connectrpc"
CONNECT_TARGET = TARGET / "connectrpc"
CONNECT_BIN = CONNECT_TARGET / "release" / "connect-bench"
PYTHON_SERVER = REPO / "benches" / "grpcio-server.py"
SETUP = REPO / "tests" / "interop" / "peers" / "setup.sh"
VENV_PYTHON = REPO / ".cache" / "interop" / "venv" / "bin" / "python"
ALL_SCENARIOS = ["unary", "stream", "pingpong", "large", "gzip", "h2load", "grpcio", "connectrpc", "memory", "tls",
                 "client"]
# What runs without --scenarios: tls and client (issue 20) only when asked for, so the full
# comparison and --quick take the time they took before.
DEFAULT_SCENARIOS = [s for s in ALL_SCENARIOS if s not in ("tls", "client")]
RUST = ["rust-rpc", "tonic"]
MAX_MESSAGE = 32 * 1024 * 1024  # both limits, both sides, for the large scenario
# helloworld.HelloRequest{name: "world"} as one gRPC frame: uncompressed flag, 4-byte big-endian
# length, then the protobuf (field 1, wire type 2: 0x0a, length 5, "world").
HELLO_MESSAGE = b"\x0a\x05world"
HELLO_FRAME = b"\x00" + len(HELLO_MESSAGE).to_bytes(4, "big") + HELLO_MESSAGE
HELLO_PATH = "/helloworld.Greeter/SayHello"
GRPC_HEADERS = ["-H", "content-type: application/grpc", "-H", "te: trailers"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(impl, options, service="greeter", max_message=None, gzip=False, tls=False, extra=()):
    """Starts a server pinned to core 0 and yields (port, pid); stops it on exit. `tls`: serves
    TLS with the certificate in `options.cert_dir`; `extra`: more arguments for rpc-bench."""
    port = free_port()
    if impl == "grpcio":
        command = [str(VENV_PYTHON), str(PYTHON_SERVER), "--port", str(port), "--stubs", options.stubs]
    elif impl == "connectrpc":
        command = [str(CONNECT_BIN), "server", "--port", str(port)]
    else:
        command = [str(BIN), "server", "--impl", impl, "--port", str(port), "--service", service]
        if max_message:
            command += ["--max-message", str(max_message)]
        if gzip:
            command.append("--gzip")
        if tls:
            command += ["--tls", options.cert_dir]
        command += list(extra)
    process = subprocess.Popen(["taskset", "-c", "0", *command], stdout=subprocess.PIPE, text=True)
    try:
        if "listening" not in first_line(process):
            raise RuntimeError(f"{impl} server did not start")
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def first_line(process, timeout=30):
    """The first line `process` prints, or "" if it prints none within `timeout` seconds."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


def parse(out):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out)}


def load_command(client, port, options, scenario="unary", connections=1, concurrency=1, size=None,
                 max_message=None, gzip=False, tls=False):
    if client == "connectrpc":
        return ["taskset", "-c", "1", str(CONNECT_BIN), "load", "--port", str(port), "--connections",
                str(connections), "--concurrency", str(concurrency), "--seconds", str(options.seconds),
                "--warmup-ms", str(options.warmup_ms)]
    command = ["taskset", "-c", "1", str(BIN), "load", "--impl", client, "--port", str(port),
               "--scenario", scenario, "--connections", str(connections), "--concurrency", str(concurrency),
               "--seconds", str(options.seconds), "--warmup-ms", str(options.warmup_ms)]
    if size is not None:
        command += ["--size", str(size)]
    if max_message:
        command += ["--max-message", str(max_message)]
    if gzip:
        command.append("--gzip")
    if tls:
        command += ["--tls", options.cert_dir]
    return command


def run_load(command, seconds):
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"load failed ({' '.join(command)}): {out.stderr.strip()}")
    return parse(out.stdout)


def measure_load(impl, options, service="greeter", client=None, **load):
    """One measurement: a fresh server of `impl`, loaded by `client` (default: `impl` itself)."""
    client = client or impl
    max_message = load.get("max_message")
    with server(impl, options, service, max_message, load.get("gzip", False), load.get("tls", False)) as (port, _):
        return run_load(load_command(client, port, options, **load), options.seconds)


def h2load(port, options, connections, streams):
    """calls/s from h2load, after checking that every request finished with a 2xx status."""
    command = ["taskset", "-c", "1", "h2load", "-c", str(connections), "-m", str(streams), "-t", "1",
               "-D", f"{round(options.seconds * 1000)}ms", "--warm-up-time", f"{options.warmup_ms}ms", "-d", options.frame,
               *GRPC_HEADERS, f"http://127.0.0.1:{port}{HELLO_PATH}"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=options.seconds + 60)
    out = run.stdout + run.stderr
    finished = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    requests = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                         r"(\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    if not (finished and requests and codes):
        raise RuntimeError(f"cannot read h2load's output:\n{out}")
    done, succeeded, failed, errored, timeout = (int(requests.group(i)) for i in range(2, 7))
    if done == 0 or succeeded != done or int(codes.group(1)) != done or failed or errored or timeout:
        raise RuntimeError(f"h2load saw failures:\n{out}")
    return {"rps": float(finished.group(1))}


def check_frame(impl, options):
    """Sends the h2load frame once with nghttp and checks it is a real gRPC success."""
    with server(impl, options) as (port, _):
        out = subprocess.run(["nghttp", "-v", "-d", options.frame, "-H", ":method: POST", *GRPC_HEADERS,
                              f"http://127.0.0.1:{port}{HELLO_PATH}"], capture_output=True, timeout=30).stdout
    for expected in (b":status: 200", b"grpc-status: 0", b"Hello world"):
        if expected not in out:
            raise RuntimeError(f"{impl} did not answer the h2load frame with {expected!r}:\n{out.decode(errors='replace')}")


def rss_kib(pid):
    """The server's resident memory in KiB: `rss` in all, `anon` its private (heap and stack)
    part. The rest is file-backed: pages of the binary and shared libraries, which vary by a few
    hundred KiB from run to run of the same server with which code pages the kernel maps in."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                fields[key] = int(value.split()[0])
    return {"rss": fields["VmRSS"], "anon": fields["RssAnon"]}


def memory_idle(impl, options, connections=1000, tls=False):
    """Server RSS idle, and per connection with `connections` idle ones (each made one call)."""
    with server(impl, options, tls=tls) as (port, pid):
        time.sleep(0.3)
        idle = rss_kib(pid)
        holder = subprocess.Popen(
            ["taskset", "-c", "1", str(BIN), "idle", "--impl", impl, "--port", str(port),
             "--connections", str(connections), "--seconds", "60", *(["--tls", options.cert_dir] if tls else [])],
            stdout=subprocess.PIPE, text=True)
        try:
            if "holding" not in first_line(holder, timeout=60):
                raise RuntimeError(f"{impl} idle client failed")
            time.sleep(0.5)
            held = rss_kib(pid)
        finally:
            holder.terminate()
            holder.wait(timeout=10)
    return {"idle_kib": idle["rss"], "idle_anon_kib": idle["anon"],
            "per_idle_conn_b": (held["rss"] - idle["rss"]) * 1024 / connections,
            "per_idle_conn_anon_b": (held["anon"] - idle["anon"]) * 1024 / connections}


def memory_load(impl, options, connections=50, concurrency=10):
    """Peak server RSS while serving the 50x10 unary load (sampled after the warm-up), and per
    connection over the same server's idle RSS; the same for its private part."""
    with server(impl, options) as (port, pid):
        time.sleep(0.3)
        idle = rss_kib(pid)
        command = load_command(impl, port, options, connections=connections, concurrency=concurrency)
        loader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(options.warmup_ms / 1000)
            peak = dict(idle)
            while loader.poll() is None:
                with contextlib.suppress(OSError, StopIteration, KeyError):
                    now = rss_kib(pid)
                    peak = {key: max(peak[key], now[key]) for key in peak}
                time.sleep(0.05)
            out, err = loader.communicate(timeout=options.seconds + 60)
        finally:
            if loader.poll() is None:
                loader.kill()
                loader.wait(timeout=10)
        if loader.returncode != 0:
            raise RuntimeError(f"{impl} load failed: {err.strip()}")
    return {"load_rss_kib": peak["rss"], "per_loaded_conn_b": (peak["rss"] - idle["rss"]) * 1024 / connections,
            "per_loaded_conn_anon_b": (peak["anon"] - idle["anon"]) * 1024 / connections,
            "rps": parse(out).get("rps", 0)}


class Case:
    """One line group of the report: `impls[0]` against `impls[1]`, each measured by `measure`."""

    def __init__(self, name, metrics, measure, impls=RUST):
        self.name, self.metrics, self.measure, self.impls = name, metrics, measure, impls


def cases(scenarios):
    unary = ["rps", "p50_us", "p99_us", "p999_us"]
    out = []
    if "unary" in scenarios:
        for c, k in [(1, 1), (1, 100), (50, 10)]:
            out.append(Case(f"unary {c}x{k}", unary,
                            lambda impl, o, c=c, k=k: measure_load(impl, o, connections=c, concurrency=k)))
    if "stream" in scenarios:
        out.append(Case("stream 1KiB", ["rps", "mbps"],
                        lambda impl, o: measure_load(impl, o, "bench", scenario="stream", size=1024)))
    if "pingpong" in scenarios:
        out.append(Case("pingpong 1KiB", ["rps", "p50_us", "p99_us"],
                        lambda impl, o: measure_load(impl, o, "bench", scenario="pingpong", size=1024)))
    if "large" in scenarios:
        for mib in (1, 16):
            out.append(Case(f"large {mib}MiB", ["mbps", "rps", "p50_us"],
                            lambda impl, o, mib=mib: measure_load(impl, o, "bench", scenario="echo",
                                                                  size=mib << 20, max_message=MAX_MESSAGE)))
    if "gzip" in scenarios:
        out.append(Case("stream 1KiB gzip", ["rps", "mbps"],
                        lambda impl, o: measure_load(impl, o, "bench", scenario="stream", size=1024, gzip=True)))
        out.append(Case("pingpong 1KiB gzip", ["rps", "p50_us", "p99_us"],
                        lambda impl, o: measure_load(impl, o, "bench", scenario="pingpong", size=1024, gzip=True)))
    if "h2load" in scenarios:
        for c, m in [(1, 1), (50, 10)]:
            def measure(impl, o, c=c, m=m):
                with server(impl, o) as (port, _):
                    return h2load(port, o, c, m)
            out.append(Case(f"h2load {c}x{m}", ["rps"], measure))
    if "grpcio" in scenarios:
        out.append(Case("grpcio 50x10", ["rps", "p50_us", "p99_us"],
                        lambda impl, o: measure_load(impl, o, client="rust-rpc", connections=50, concurrency=10),
                        impls=["rust-rpc", "grpcio"]))
    if "connectrpc" in scenarios:
        for c, k in [(1, 1), (50, 10)]:
            out.append(Case(f"connect {c}x{k}", unary,
                            lambda impl, o, c=c, k=k: measure_load(impl, o, connections=c, concurrency=k),
                            impls=["rust-rpc", "connectrpc"]))
    if "memory" in scenarios:
        out.append(Case("memory idle", ["idle_kib", "idle_anon_kib", "per_idle_conn_b", "per_idle_conn_anon_b"],
                        memory_idle))
        out.append(Case("memory 50x10", ["load_rss_kib", "per_loaded_conn_b", "per_loaded_conn_anon_b", "rps"],
                        memory_load))
    if "tls" in scenarios:
        for c, k in [(1, 1), (50, 10)]:
            out.append(Case(f"tls unary {c}x{k}", unary,
                            lambda impl, o, c=c, k=k: measure_load(impl, o, connections=c, concurrency=k, tls=True)))
        out.append(Case("tls stream 1KiB", ["rps", "mbps"],
                        lambda impl, o: measure_load(impl, o, "bench", scenario="stream", size=1024, tls=True)))
        out.append(Case("tls large 1MiB", ["mbps", "rps", "p50_us"],
                        lambda impl, o: measure_load(impl, o, "bench", scenario="echo", size=1 << 20,
                                                     max_message=MAX_MESSAGE, tls=True)))
        for k in (1, 4):
            out.append(Case(f"tls connect x{k}", ["rps", "p50_us", "p99_us", "cpu_us"],
                            lambda impl, o, k=k: measure_load(impl, o, scenario="connect", concurrency=k, tls=True)))
        out.append(Case("plain connect x1", ["rps", "p50_us", "p99_us", "cpu_us"],
                        lambda impl, o: measure_load(impl, o, scenario="connect", concurrency=1)))
        out.append(Case("tls memory idle", ["idle_kib", "per_idle_conn_b", "per_idle_conn_anon_b"],
                        lambda impl, o: memory_idle(impl, o, tls=True)))
    if "client" in scenarios:
        # Both clients drive rust-rpc's server: the row compares the clients.
        for c, k in [(1, 1), (1, 100), (50, 10)]:
            out.append(Case(f"client {c}x{k}", ["rps", "p50_us", "cpu_us", "cpu_util"],
                            lambda impl, o, c=c, k=k: measure_load("rust-rpc", o, client=impl, connections=c,
                                                                   concurrency=k)))
        out.append(Case("client stream", ["rps", "cpu_us", "cpu_util"],
                        lambda impl, o: measure_load("rust-rpc", o, "bench", client=impl, scenario="stream", size=1024)))
    return out


def summary(values):
    median = statistics.median(values)
    digits = 1 if abs(median) < 100 else 0
    return f"{median:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def ensure_tools(scenarios, install):
    if "h2load" in scenarios and not (shutil.which("h2load") and shutil.which("nghttp")):
        how = "apt-get update && apt-get install -y nghttp2-client"
        if not install:
            sys.exit(f"h2load/nghttp not found: install Debian's nghttp2-client (`{how}`, as root), or rerun "
                     "with --install-tools, or leave h2load out of --scenarios")
        prefix = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(prefix + ["sh", "-c", how], check=True)
    if "grpcio" in scenarios:
        # Idempotent: prints nothing when the pinned venv is already there.
        subprocess.run(["bash", str(SETUP)], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup-ms", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory", action="store_true", help="the same as --scenarios memory")
    parser.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    parser.add_argument("--install-tools", action="store_true", help="apt-get install nghttp2-client if missing")
    options = parser.parse_args()
    if options.quick:
        options.rounds, options.seconds, options.warmup_ms = 1, 0.75, 250
    scenarios = ["memory"] if options.memory else [s for s in options.scenarios.split(",") if s]
    unknown = set(scenarios) - set(ALL_SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios {sorted(unknown)}; known: {','.join(ALL_SCENARIOS)}")
    ensure_tools(scenarios, options.install_tools)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "benches", "--bin", "rpc-bench"],
                   cwd=REPO, check=True)
    if "connectrpc" in scenarios:
        subprocess.run(["cargo", "build", "--quiet", "--release", "--locked", "--manifest-path",
                        str(CONNECT_DIR / "Cargo.toml")], cwd=REPO, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": str(CONNECT_TARGET)})
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as scratch:
        options.frame = str(Path(scratch) / "hello.grpc")
        Path(options.frame).write_bytes(HELLO_FRAME)
        options.stubs = str(Path(scratch) / "stubs")
        options.cert_dir = str(Path(scratch) / "cert")
        if "tls" in scenarios:
            subprocess.run([str(BIN), "cert", "--out", options.cert_dir], check=True, capture_output=True)
        if "grpcio" in scenarios:
            os.mkdir(options.stubs)
            subprocess.run([str(VENV_PYTHON), "-m", "grpc_tools.protoc", f"-I{REPO / 'protos'}",
                            f"--python_out={options.stubs}", f"--grpc_python_out={options.stubs}",
                            str(REPO / "protos" / "helloworld.proto")], check=True)
        if "h2load" in scenarios:
            for impl in RUST:
                check_frame(impl, options)
        started = time.monotonic()
        results = {}
        all_cases = cases(scenarios)
        for _ in range(options.rounds):
            for case in all_cases:
                for impl in case.impls:  # interleaved: A, B, A, B, ...
                    results.setdefault((case.name, impl), []).append(case.measure(impl, options))
                    time.sleep(0.2)
    print(f"{options.rounds} rounds x {options.seconds} s after {options.warmup_ms} ms warm-up, "
          f"{time.monotonic() - started:.0f} s; median (min-max); ratio = rust-rpc / other")
    print(f"{'scenario':<14} {'metric':<18} {'rust-rpc':>30} {'other':>7} {'':>30} {'ratio':>6}")
    for case in all_cases:
        for metric in case.metrics:
            first, second = ([r[metric] for r in results[(case.name, impl)]] for impl in case.impls)
            ratio = statistics.median(first) / max(statistics.median(second), 1e-9)
            print(f"{case.name:<14} {metric:<18} {summary(first):>30} {case.impls[1]:>7} {summary(second):>30} "
                  f"{ratio:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
