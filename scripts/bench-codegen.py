#!/usr/bin/env python3
"""Code generation benchmark: rust-rpc-codegen against protoc-gen-prost + protoc-gen-tonic on
the googleapis set of tests/googleapis (fetched from npm into .cache by that test or here).

Measures, with the median, min and max of N runs:
  1. generation time through protoc (the vendored protoc of protoc-bin-vendored) for our
     plugin and for protoc-gen-prost + protoc-gen-tonic in one protoc invocation;
  2. generation time of our build.rs path (protox, no protoc);
  3. `cargo check` time of the generated code, dependencies prebuilt: a crate holding our
     output (depends on rust-rpc) and a crate holding prost + tonic output (depends on
     prost, prost-types, tonic 0.14). Each check is forced by touching src/lib.rs.

protoc-gen-prost and protoc-gen-tonic are installed with `cargo install` into
.cache/bench-tools for the benchmark only. Usage: scripts/bench-codegen.py [--runs N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
WORK = TARGET / "bench-codegen"
TOOLS = CACHE / "bench-tools"
SERVICE_DIRS = [
    "google/pubsub/v1", "google/storage/v2", "google/spanner/v1", "google/spanner/admin/database/v1",
    "google/firestore/v1", "google/datastore/v1", "google/bigtable/v2", "google/cloud/tasks/v2",
    "google/cloud/language/v1", "google/cloud/vision/v1", "google/cloud/speech/v1",
    "google/cloud/translate/v3", "google/cloud/texttospeech/v1", "google/iam/v1", "google/logging/v2",
    "google/monitoring/v3", "google/longrunning", "google/cloud/location", "google/rpc", "google/type",
]


def sh(args, **kw):
    return subprocess.run(args, check=True, **kw)


def timed(args, runs, before=None, **kw):
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        times.append(time.perf_counter() - start)
    return times


def fmt(times):
    return f"{statistics.median(times):7.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def protoc_path():
    out = subprocess.run(["cargo", "run", "--quiet", "-p", "benches", "--bin", "protoc-path"],
                         cwd=REPO, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def ensure_tools():
    bins = [TOOLS / "bin" / "protoc-gen-prost", TOOLS / "bin" / "protoc-gen-tonic"]
    if not all(b.exists() for b in bins):
        sh(["cargo", "install", "--locked", "--root", str(TOOLS), "protoc-gen-prost@0.5.0",
            "protoc-gen-tonic@0.5.0"])
    return bins


def ensure_protos():
    cache = CACHE / "npm"
    googleapis = cache / "google-proto-files-6.0.1" / "package"
    if not googleapis.exists():
        sh(["cargo", "test", "--quiet", "-p", "googleapis-compile"], cwd=REPO)
    includes = [googleapis, cache / "grpc-health-check-2.1.0/package/proto",
                cache / "grpc-reflection-1.0.4/package/build/proto"]
    names = []
    for d in SERVICE_DIRS:
        names += sorted(str(p.relative_to(googleapis)) for p in (googleapis / d).glob("*.proto"))
    names += ["health/v1/health.proto", "grpc/reflection/v1/reflection.proto",
              "grpc/reflection/v1alpha/reflection.proto"]
    return includes, names


def module_tree(files):
    """A lib.rs nesting package files (`a.b.rs`) as modules, for the prost + tonic output."""
    tree = {}
    for name in files:
        node = tree
        for part in name[:-3].split("."):
            node = node.setdefault(part, {})
        node["__file__"] = name
    lines = []

    def walk(node, depth):
        pad = "    " * depth
        if "__file__" in node:
            lines.append(f'{pad}include!("{node["__file__"]}");')
        for key in sorted(k for k in node if k != "__file__"):
            ident = f"r#{key}" if key in ("type", "async", "match", "move", "mod") else key
            lines.append(f"{pad}pub mod {ident} {{")
            walk(node[key], depth + 1)
            lines.append(f"{pad}}}")
    walk(tree, 0)
    return "#![allow(clippy::all, missing_docs)]\n" + "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    sh(["cargo", "build", "--quiet", "--release", "-p", "rust-rpc-codegen", "--features", "perf", "--bin", "protoc-gen-rust-rpc"], cwd=REPO)
    ours_plugin = TARGET / "release" / "protoc-gen-rust-rpc"
    prost_plugin, tonic_plugin = ensure_tools()
    protoc = protoc_path()
    includes, roots = ensure_protos()
    include_args = [f"-I{p}" for p in includes]
    closure = subprocess.run(["cargo", "run", "--quiet", "--release", "-p", "benches", "--bin", "proto-closure", "--",
                              *[str(p) for p in includes], "--", *roots],
                             cwd=REPO, check=True, capture_output=True, text=True)
    names = closure.stdout.split()
    print(f"{len(names)} protos, protoc {subprocess.run([protoc, '--version'], capture_output=True, text=True).stdout.strip()}")

    ours_out, theirs_out = WORK / "ours-gen", WORK / "theirs-gen"

    def fresh(d):
        return lambda: (shutil.rmtree(d, ignore_errors=True), d.mkdir(parents=True))

    ours_gen = timed([protoc, f"--plugin=protoc-gen-rust-rpc={ours_plugin}", f"--rust-rpc_out={ours_out}",
                      "--rust-rpc_opt=module_tree=lib.rs", *include_args, *names], runs, fresh(ours_out))
    theirs_gen = timed([protoc, f"--plugin=protoc-gen-prost={prost_plugin}", f"--plugin=protoc-gen-tonic={tonic_plugin}",
                        f"--prost_out={theirs_out}", "--prost_opt=flat_output_dir",
                        f"--tonic_out={theirs_out}", "--tonic_opt=flat_output_dir",
                        *include_args, *names], runs, fresh(theirs_out))
    sh(["cargo", "build", "--quiet", "--release", "-p", "benches", "--bin", "protox-generate"], cwd=REPO)
    protox_gen = timed([str(TARGET / "release" / "protox-generate"), str(WORK / "protox-gen"),
                        *[str(p) for p in includes], "--", *names], runs)

    # Crates around each output, with dependencies built once before timing.
    ours_crate, theirs_crate = WORK / "ours-crate", WORK / "theirs-crate"
    for crate, out, deps in [
        (ours_crate, ours_out, f'rust-rpc = {{ path = "{REPO / "runtime"}" }}\n'),
        (theirs_crate, theirs_out, 'prost = "0.14"\nprost-types = "0.14"\ntonic = "0.14"\ntonic-prost = "0.14"\n'),
    ]:
        shutil.rmtree(crate, ignore_errors=True)
        shutil.copytree(out, crate / "src")
        (crate / "Cargo.toml").write_text(
            f'[package]\nname = "{crate.name}"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n{deps}\n[workspace]\n')
        if crate == theirs_crate:
            rs = sorted(p.name for p in (crate / "src").glob("*.rs") if not p.name.endswith(".tonic.rs"))
            (crate / "src" / "lib.rs").write_text(module_tree(rs))
        sh(["cargo", "check", "--quiet", "--manifest-path", str(crate / "Cargo.toml"),
            "--target-dir", str(WORK / "target")])
    check = lambda crate: timed(
        ["cargo", "check", "--quiet", "--manifest-path", str(crate / "Cargo.toml"), "--target-dir", str(WORK / "target")],
        runs, before=lambda: (crate / "src" / "lib.rs").touch())
    ours_check, theirs_check = check(ours_crate), check(theirs_crate)

    lines_of = lambda d: sum(len(p.read_text().splitlines()) for p in d.glob("*.rs"))
    print(f"generated lines: ours {lines_of(ours_crate / 'src')}, prost+tonic {lines_of(theirs_crate / 'src')}")
    print(f"generation via protoc, rust-rpc plugin      {fmt(ours_gen)}")
    print(f"generation via protoc, prost + tonic plugins {fmt(theirs_gen)}")
    print(f"generation via build.rs path (protox)       {fmt(protox_gen)}")
    print(f"cargo check, rust-rpc output                {fmt(ours_check)}")
    print(f"cargo check, prost + tonic output           {fmt(theirs_check)}")
    print(f"ratios (ours / theirs): generation {statistics.median(ours_gen) / statistics.median(theirs_gen):.2f}, "
          f"check {statistics.median(ours_check) / statistics.median(theirs_check):.2f}")


if __name__ == "__main__":
    sys.exit(main())
