#!/usr/bin/env bash
# Soak and scale (issue 18, item 4): one rust-rpc server in a process of its own holds 1,000
# connections and 10,000 concurrent streams, then takes 30 minutes of mixed load (unary, streams,
# cancellations, deadlines, oversize messages, abrupt disconnects); its memory and open
# descriptors are read from /proc throughout. Not part of scripts/test.sh (which runs a
# 20-second version, benches/tests/soak_short.rs). Exits non-zero when a check fails.
#
#   scripts/soak.sh                      # the defaults: 1000 connections, 10000 streams, 1800 s
#   scripts/soak.sh --seconds 180        # any option of `soak run` (see benches/src/bin/soak.rs)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each connection is a descriptor in the driver and one in the server (the server inherits this
# limit): raise the soft limit when it is too low for the connections asked for.
connections=1000
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ "${args[i]}" == --connections ]]; then connections="${args[i + 1]}"; fi
done
need=$((connections * 2 + 512))
if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt "$need" ]]; then
    if ! ulimit -n "$need" 2>/dev/null; then
        echo "soak.sh: $connections connections need ulimit -n >= $need; the hard limit is $(ulimit -Hn)" >&2
        exit 1
    fi
fi
echo "== open files limit: $(ulimit -n)"

cargo build --release --locked -p benches --bin soak
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/soak" run "$@"
