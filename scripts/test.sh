#!/usr/bin/env bash
# Every test, with the lints and docs checks CI enforces. Needs only a Rust toolchain; protoc
# comes from the protoc-bin-vendored crate. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (generated code included)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== cargo test"
cargo test --workspace --locked
echo "== interop: rust-rpc against Python grpcio and Node grpc-js, both directions, plaintext and TLS"
python3 tests/interop/run.py
