#!/usr/bin/env bash
# Long fuzz runs: every proptest fuzz target, built with --release, for many more cases than the
# test command gives them (256 each). RELIABILITY.md records runs and their results.
#
# Usage: scripts/fuzz.sh [CASES [SERVER_CASES]]
#   CASES         cases per parser and plugin target (default 100000)
#   SERVER_CASES  cases per server-level target, each a request over a new connection
#                 (default 10000)
# A failing case prints its minimal input and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-100000}
server_cases=${2:-10000}

echo "== runtime parsers: deframer, decompression, grpc-timeout, metadata, statuses, targets ($cases cases each)"
PROPTEST_CASES=$cases cargo test --release --locked -p rust-rpc --lib fuzz
echo "== the plugin's execute ($cases cases each)"
PROPTEST_CASES=$cases cargo test --release --locked -p codegen-tests --test codegen fuzz
echo "== request bodies to a running server ($server_cases cases each)"
PROPTEST_CASES=$server_cases cargo test --release --locked -p e2e --test e2e fuzz_server -- --nocapture
echo "== decompression bombs"
cargo test --release --locked -p e2e --test bombs -- --nocapture
