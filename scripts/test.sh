#!/usr/bin/env bash
# Every test, with the lints and docs checks CI enforces. Needs a Rust toolchain, python3 and
# node/npm, and a network path to the package registries: the tests install what else they use
# (protoc from the protoc-bin-vendored crate, buf and googleapis protos from npm, the interop
# peers from PyPI and npm) into .cache/. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== no import cycles between the files of runtime/src and codegen/src"
python3 scripts/check-imports.py
echo "== cargo clippy (generated code included)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== the runtime without its default features (tls, health, reflection, signal)"
cargo clippy -p rust-rpc --all-targets --no-default-features --locked -- -D warnings
echo "== the runtime with its optional features (tower, tonic)"
cargo clippy -p rust-rpc --all-targets --features tower,tonic --locked -- -D warnings
echo "== the runtime with \`tracing\` alone (the workspace build has \`opentelemetry\`, which implies it)"
cargo clippy -p rust-rpc --all-targets --no-default-features --features tracing --locked -- -D warnings
echo "== the generator without protox (protoc as its only front end)"
cargo clippy -p rust-rpc-codegen --all-targets --no-default-features --locked -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
RUSTDOCFLAGS="-D warnings" cargo doc -p rust-rpc --no-deps --features tower,tonic --locked --quiet
echo "== cargo test"
cargo test --workspace --locked
echo "== the runtime's unit tests without its optional features (zstd, dns, ... off)"
cargo test -p rust-rpc --lib --no-default-features --locked
echo "== the generator's unit tests without protox"
cargo test -p rust-rpc-codegen --lib --no-default-features --locked
echo "== interop: rust-rpc against Python grpcio and Node grpc-js, both directions, plaintext and TLS"
python3 tests/interop/run.py
