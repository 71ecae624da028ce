#!/usr/bin/env python3
"""Build cost for users (issue 20, item 6): a cold `cargo build` of a crate using rust-rpc
against the same crate using tonic.

Makes two throwaway crates in a temporary directory, each a small program with a helloworld
Greeter server and client generated from protos/helloworld.proto by build.rs:
- rust-rpc: `rust-rpc` (path dependency on this tree's runtime, default features) and, in
  build.rs, `rust-rpc-codegen` (path dependency; protox, no protoc);
- tonic: `tonic` 0.14 (default features), `prost`, `tonic-prost` and, in build.rs,
  `tonic-prost-build` 0.14 (default features) with protoc from `protoc-bin-vendored` (PROTOC
  when it is set);
both with `tokio` (`rt-multi-thread`, `macros`), and both with this workspace's Cargo.lock, so the
shared crates resolve to the same versions. The two path dependencies are built without
incremental compilation (a profile override), as cargo builds a dependency from crates.io:
cargo compiles path dependencies incrementally, which costs a cold build some 4 s for the
runtime alone, and a user never pays that. Each is built cold (`cargo build --offline`, debug
profile, a fresh CARGO_TARGET_DIR of its own, the same registry cache), alternating between the
two for --rounds rounds, and the script prints the wall time, the CPU time (user and system, of
cargo and everything it ran: what a build costs on a machine with more cores) and the number of
crates compiled (cargo's `Compiling` lines: one per package, its build script included).

Usage: scripts/bench-build.py [--rounds N] [--release] [--keep DIR] [--timings] [--only KIND]
                              [--tonic-features F1,F2] [--rust-rpc-features F1,F2]

--timings also runs cargo with `--timings` and prints each crate's slowest units (where the
time goes); --only rust-rpc|tonic builds just one of the two; --tonic-features adds features to
tonic's (`tls-ring,tls-native-roots,gzip` is what rust-rpc's default build offers: TLS with the
system's roots, and gzip). --rust-rpc-features builds rust-rpc without its default features,
with these instead (`-` for none), and the generator without its `protox` feature, so build.rs
runs protoc from `protoc-bin-vendored` as tonic's does: the lightest build that does what
tonic's default build does.

Needs the registry cache to hold every crate (it does once the workspace has been built:
`cargo fetch`). On a shared machine the times depend on its load (printed); the crate counts do
not.
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SERVER_AND_CLIENT = {
    "rust-rpc": """\
pub mod helloworld {
    rust_rpc::include_proto!("helloworld");
}

use helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest};

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(
        &self,
        request: HelloRequest,
        _context: rust_rpc::ServicerContext,
    ) -> rust_rpc::Result<HelloReply> {
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = rust_rpc::Server::new();
    helloworld::add_greeter_servicer_to_server(Greeter, &server)?;
    let port = server.add_insecure_port("127.0.0.1:0")?;
    server.start()?;
    let client = GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
    let reply = client.say_hello(HelloRequest { name: "world".into() }).await?;
    println!("{}", reply.message);
    Ok(())
}
""",
    "tonic": """\
pub mod helloworld {
    tonic::include_proto!("helloworld");
}

use helloworld::greeter_client::GreeterClient;
use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};

struct MyGreeter;

#[tonic::async_trait]
impl Greeter for MyGreeter {
    async fn say_hello(
        &self,
        request: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<HelloReply>, tonic::Status> {
        Ok(tonic::Response::new(HelloReply { message: format!("Hello {}", request.into_inner().name) }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(tonic::transport::Server::builder().add_service(GreeterServer::new(MyGreeter)).serve_with_incoming(incoming));
    let mut client = GreeterClient::connect(format!("http://127.0.0.1:{port}")).await?;
    let reply = client.say_hello(HelloRequest { name: "world".into() }).await?;
    println!("{}", reply.into_inner().message);
    Ok(())
}
""",
}

BUILD_RS = {
    "rust-rpc": """\
fn main() -> Result<(), Box<dyn std::error::Error>> {
    rust_rpc_codegen::compile_protos(&["protos/helloworld.proto"], &["protos"])?;
    Ok(())
}
""",
    "rust-rpc-protoc": """\
fn main() -> Result<(), Box<dyn std::error::Error>> {
    rust_rpc_codegen::Builder::new()
        .protoc(protoc_bin_vendored::protoc_bin_path()?)
        .compile(&["protos/helloworld.proto"], &["protos"])?;
    Ok(())
}
""",
    "tonic": """\
fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    tonic_prost_build::compile_protos("protos/helloworld.proto")?;
    Ok(())
}
""",
}


def manifest(kind, tonic_features=(), rust_rpc_features=None):
    runtime, codegen = REPO / "runtime", REPO / "codegen"
    features = f", features = {json.dumps(list(tonic_features))}" if tonic_features else ""
    if rust_rpc_features is None:
        runtime_dependency = f'{{ path = "{runtime}" }}'
        codegen_dependencies = f'rust-rpc-codegen = {{ path = "{codegen}" }}'
    else:
        runtime_dependency = (f'{{ path = "{runtime}", default-features = false, '
                              f'features = {json.dumps(list(rust_rpc_features))} }}')
        codegen_dependencies = (f'rust-rpc-codegen = {{ path = "{codegen}", default-features = false }}\n'
                                'protoc-bin-vendored = "3"')
    dependencies = {
        "rust-rpc": f"""\
[dependencies]
rust-rpc = {runtime_dependency}
tokio = {{ version = "1", features = ["rt-multi-thread", "macros"] }}

[build-dependencies]
{codegen_dependencies}

# As cargo builds a crates.io dependency: no incremental compilation.
[profile.dev.package.rust-rpc]
incremental = false
[profile.dev.package.rust-rpc-codegen]
incremental = false
""",
        "tonic": """\
[dependencies]
tonic = { version = "0.14"FEATURES }
prost = "0.14"
tonic-prost = "0.14"
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }

[build-dependencies]
tonic-prost-build = "0.14"
protoc-bin-vendored = "3"
""",
    }[kind].replace("FEATURES", features)
    return f"""\
[package]
name = "build-cost-{kind}"
version = "0.1.0"
edition = "2021"
publish = false

{dependencies}
[workspace]
"""


def make_crate(root, kind, tonic_features=(), rust_rpc_features=None):
    crate = root / kind
    (crate / "src").mkdir(parents=True)
    (crate / "protos").mkdir()
    shutil.copy(REPO / "protos" / "helloworld.proto", crate / "protos")
    (crate / "Cargo.toml").write_text(manifest(kind, tonic_features, rust_rpc_features))
    protoc = kind == "rust-rpc" and rust_rpc_features is not None
    (crate / "build.rs").write_text(BUILD_RS["rust-rpc-protoc" if protoc else kind])
    (crate / "src" / "main.rs").write_text(SERVER_AND_CLIENT[kind])
    shutil.copy(REPO / "Cargo.lock", crate / "Cargo.lock")
    return crate


def slowest(crate, count=15):
    """The `count` slowest compilation units of the last `--timings` build of `crate`."""
    html = (crate / "target-timings.html").read_text() if (crate / "target-timings.html").exists() else ""
    found = re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.DOTALL)
    if not found:
        return []
    units = json.loads(found.group(1))
    units.sort(key=lambda unit: -unit["duration"])
    return [(f"{unit['name']}{' (' + unit['target'].strip() + ')' if unit['target'].strip() else ''}",
             unit["duration"]) for unit in units[:count]]


def cold_build(crate, target, release, timings=False):
    shutil.rmtree(target, ignore_errors=True)
    command = ["cargo", "build", "--offline", *(["--release"] if release else []), *(["--timings"] if timings else [])]
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(command, cwd=crate, capture_output=True, text=True,
                         env={**os.environ, "CARGO_TARGET_DIR": str(target)})
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode != 0:
        raise RuntimeError(f"cargo build of {crate.name} failed:\n{run.stderr[-4000:]}")
    crates = re.findall(r"^\s*Compiling (\S+) v", run.stderr, re.MULTILINE)
    if timings:
        report = target / "cargo-timings" / "cargo-timing.html"
        if report.exists():
            shutil.copy(report, crate / "target-timings.html")
    # And the program runs: one call, server and client in one process.
    binary = target / ("release" if release else "debug") / f"build-cost-{crate.name}"
    out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    if "Hello world" not in out.stdout:
        raise RuntimeError(f"{binary} did not say hello: {out.stdout} {out.stderr}")
    return seconds, cpu, crates


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--release", action="store_true", help="cargo build --release")
    parser.add_argument("--keep", help="make the crates and targets in this directory and keep them")
    parser.add_argument("--timings", action="store_true", help="cargo build --timings; print the slowest units")
    parser.add_argument("--only", choices=["rust-rpc", "tonic"], help="build only this crate")
    parser.add_argument("--tonic-features", default="",
                        help="comma-separated features for tonic besides its defaults, e.g. "
                             "tls-ring,tls-native-roots,gzip: what rust-rpc's default build has")
    parser.add_argument("--rust-rpc-features",
                        help="rust-rpc without its default features, with these (comma-separated, `-` for "
                             "none), and the generator with protoc instead of protox")
    options = parser.parse_args()
    tonic_features = [f for f in options.tonic_features.split(",") if f]
    rust_rpc_features = (None if options.rust_rpc_features is None
                         else [f for f in options.rust_rpc_features.split(",") if f and f != "-"])
    kinds = [options.only] if options.only else ["rust-rpc", "tonic"]
    with tempfile.TemporaryDirectory(prefix="bench-build-") as scratch:
        root = Path(options.keep or scratch)
        root.mkdir(parents=True, exist_ok=True)
        crates = {kind: make_crate(root, kind, tonic_features, rust_rpc_features) for kind in kinds}
        times = {kind: [] for kind in kinds}
        cpus = {kind: [] for kind in kinds}
        compiled = {}
        loads = []
        for round_index in range(options.rounds):
            for kind in (kinds if round_index % 2 == 0 else list(reversed(kinds))):
                loads.append(os.getloadavg()[0])
                seconds, cpu, names = cold_build(crates[kind], root / f"target-{kind}", options.release,
                                                 options.timings)
                times[kind].append(seconds)
                cpus[kind].append(cpu)
                compiled[kind] = names
                print(f"# round {round_index + 1}: {kind} {seconds:.1f} s, {cpu:.1f} CPU s, {len(names)} crates",
                      flush=True)
                if options.timings:
                    for name, duration in slowest(crates[kind]):
                        print(f"#   {duration:6.1f} s  {name}")
        if len(kinds) == 1:
            return 0
    profile = "release" if options.release else "debug"
    print(f"cold `cargo build` ({profile}), {options.rounds} round(s), alternating; "
          f"load average at the starts {min(loads):.1f}-{max(loads):.1f}")
    print(f"{'':<22} {'rust-rpc':>12} {'tonic':>12} {'ratio':>6}")
    ours, theirs = (statistics.median(times[kind]) for kind in kinds)
    spread = {kind: f"{min(times[kind]):.0f}-{max(times[kind]):.0f}" for kind in kinds}
    print(f"{'wall seconds (median)':<22} {ours:>12.1f} {theirs:>12.1f} {ours / theirs:>6.2f}")
    if options.rounds > 1:
        print(f"{'  (min-max)':<22} {spread['rust-rpc']:>12} {spread['tonic']:>12}")
    ours_cpu, theirs_cpu = (statistics.median(cpus[kind]) for kind in kinds)
    print(f"{'CPU seconds (median)':<22} {ours_cpu:>12.1f} {theirs_cpu:>12.1f} {ours_cpu / theirs_cpu:>6.2f}")
    n_ours, n_theirs = (len(compiled[kind]) for kind in kinds)
    print(f"{'crates compiled':<22} {n_ours:>12} {n_theirs:>12} {n_ours / n_theirs:>6.2f}")
    only = {kind: sorted(set(compiled[kind]) - set(compiled[other]))
            for kind, other in (("rust-rpc", "tonic"), ("tonic", "rust-rpc"))}
    for kind in kinds:
        print(f"only for {kind} ({len(only[kind])}): {' '.join(only[kind])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
