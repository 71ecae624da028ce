#!/usr/bin/env python3
"""Runs the standard gRPC interop cases between rust-rpc and real peers: Python grpcio and
Node grpc-js (installed into .cache/interop by peers/setup.sh), both directions, plaintext and
TLS (a test CA and server certificate made at run time; host override foo.test.google.fr).
Our client against our server runs the same cases. Prints a matrix and ends with the line
`N passed, M failed, K skipped`; exits non-zero when any case fails. Skipped means a peer
cannot run the case at all (exit code 3 and an UNSUPPORTED reason), and each is listed.

Usage: tests/interop/run.py [--cases a,b,c] [--peers python,node]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEERS = REPO / "tests" / "interop" / "peers"
CACHE = Path(os.environ.get("RUST_RPC_CACHE", REPO / ".cache")) / "interop"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
CASE_TIMEOUT = 60
CASES = [
    "empty_unary", "large_unary", "client_compressed_unary", "server_compressed_unary",
    "client_streaming", "client_compressed_streaming", "server_streaming",
    "server_compressed_streaming", "ping_pong", "empty_stream", "timeout_on_sleeping_server",
    "cancel_after_begin", "cancel_after_first_response", "status_code_and_message",
    "special_status_message", "custom_metadata", "unimplemented_method", "unimplemented_service",
]
UNSUPPORTED_EXIT = 3

# Cases a peer's *server* cannot run, with the reason; listed as skipped, never run.
SERVER_LIMITS = {
    ("python", "client_compressed_unary"):
        "grpcio hides grpc-encoding from servicers, so its server cannot tell an uncompressed "
        "request from a compressed one and cannot answer the probe with INVALID_ARGUMENT",
    ("python", "client_compressed_streaming"):
        "grpcio hides grpc-encoding from servicers (see client_compressed_unary)",
    ("node", "client_compressed_unary"):
        "grpc-js removes grpc-encoding from a call's metadata, so its server cannot tell an "
        "uncompressed request from a compressed one and cannot answer the probe",
    ("node", "client_compressed_streaming"):
        "grpc-js removes grpc-encoding from a call's metadata (see client_compressed_unary)",
}


def command(impl, role):
    """The command line that runs `impl`'s interop `role` (server or client)."""
    if impl == "rust":
        return [str(TARGET / "debug" / f"interop-{role}")]
    if impl == "python":
        return [str(CACHE / "venv" / "bin" / "python"), str(PEERS / "python" / f"{role}.py")]
    if impl == "node":
        return ["node", str(PEERS / "node" / f"{role}.js")]
    raise ValueError(impl)


def peer_env():
    env = dict(os.environ)
    env["NODE_PATH"] = str(CACHE / "node" / "node_modules")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port():
    with socket.socket(socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET) as s:
        s.bind(("::" if socket.has_ipv6 else "0.0.0.0", 0))
        return s.getsockname()[1]


def start_server(impl, tls, certs, started):
    port = free_port()
    args = command(impl, "server") + ["--port", str(port)]
    if tls:
        args += ["--use_tls", "--tls_cert_file", str(certs / "server.pem"),
                 "--tls_key_file", str(certs / "server.key")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=peer_env(), text=True)
    started.append(proc)
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if "listening on" in line:
            return port
    proc.kill()
    raise RuntimeError(f"{impl} server ({'tls' if tls else 'plaintext'}) did not start: {seen[-5:]}")


def run_case(client, port, case, tls, certs):
    args = command(client, "client") + [
        "--server_host", "localhost", "--server_port", str(port), "--test_case", case]
    if tls:
        args += ["--use_tls", "--use_test_ca", "--ca_file", str(certs / "ca.pem"),
                 "--server_host_override", "foo.test.google.fr"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=CASE_TIMEOUT,
                              env=peer_env())
    except subprocess.TimeoutExpired:
        return "fail", f"timed out after {CASE_TIMEOUT} s"
    if done.returncode == 0:
        return "pass", ""
    output = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode == UNSUPPORTED_EXIT and any("UNSUPPORTED" in line for line in output):
        return "skip", next(line for line in output if "UNSUPPORTED" in line)
    return "fail", (output[-1] if output else f"exit code {done.returncode}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--peers", default="python,node")
    options = parser.parse_args()
    cases = [c for c in options.cases.split(",") if c]
    peers = [p for p in options.peers.split(",") if p]

    subprocess.run(["cargo", "build", "--quiet", "-p", "interop", "--bins"], cwd=REPO, check=True)
    if peers:
        subprocess.run(["bash", str(PEERS / "setup.sh"), str(CACHE)], check=True)
    certs = Path(tempfile.mkdtemp(prefix="rust-rpc-interop-"))
    subprocess.run([str(TARGET / "debug" / "interop-certs"), str(certs)], check=True)

    pairs = [("rust", "rust")] + [(p, "rust") for p in peers] + [("rust", p) for p in peers]
    columns = [(client, server, tls) for client, server in pairs for tls in (False, True)]
    started = []
    results = {}
    try:
        ports = {}
        for server in sorted({s for _, s in pairs}):
            for tls in (False, True):
                ports[(server, tls)] = start_server(server, tls, certs, started)
        for client, server, tls in columns:
            for case in cases:
                if (server, case) in SERVER_LIMITS:
                    results[(client, server, tls, case)] = ("skip", SERVER_LIMITS[(server, case)])
                    continue
                results[(client, server, tls, case)] = run_case(
                    client, ports[(server, tls)], case, tls, certs)
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    labels = [f"{c}->{s}{' tls' if t else ''}" for c, s, t in columns]
    width = max(len(c) for c in cases) + 2
    print("client->server".ljust(width) + " ".join(l.ljust(max(len(l), 4)) for l in labels))
    marks = {"pass": "ok", "fail": "FAIL", "skip": "n/a"}
    for case in cases:
        row = [marks[results[(c, s, t, case)][0]].ljust(max(len(l), 4))
               for (c, s, t), l in zip(columns, labels)]
        print(case.ljust(width) + " ".join(row))
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for (client, server, tls, case), (outcome, why) in sorted(results.items()):
        counts[outcome] += 1
        if outcome != "pass":
            mode = "tls" if tls else "plaintext"
            print(f"{marks[outcome]}: {case} {client}->{server} {mode}: {why}")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
