#!/usr/bin/env bash
# Installs the interop peers into a cache (default <repo>/.cache/interop), idempotently:
#   $CACHE/venv   Python venv with grpcio, grpcio-tools, grpcio-status, grpcio-health-checking,
#                 grpcio-reflection, and OpenTelemetry's SDK and grpc instrumentation (pins below)
#   $CACHE/node   npm prefix with @grpc/grpc-js + @grpc/proto-loader (pins in node/package.json)
#   chromium, $CACHE/web   the gRPC-Web browser test's, by web-setup.sh (see there)
# Each part is skipped when its stamp file already holds the same pins. Prints one line per
# thing installed and nothing else on success; exits non-zero with a message on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/../../../.cache/interop}"

PY_PINS="grpcio==1.85.1 grpcio-tools==1.85.1 grpcio-status==1.85.1 grpcio-health-checking==1.85.1 grpcio-reflection==1.85.1 opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 opentelemetry-instrumentation-grpc==0.66b2"

die() { echo "setup.sh: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is required for the Python interop peer (not found on PATH)"
command -v npm >/dev/null || die "npm (Node.js) is required for the Node interop peer (not found on PATH)"
command -v node >/dev/null || die "node is required for the Node interop peer (not found on PATH)"
mkdir -p "$cache" || die "cannot create cache dir $cache"
cache="$(cd "$cache" && pwd)"

# Python: a venv with exact pins.
if [ "$(cat "$cache/venv.stamp" 2>/dev/null)" != "$PY_PINS" ]; then
  rm -rf "$cache/venv" "$cache/venv.stamp"
  log="$cache/venv-install.log"
  python3 -m venv "$cache/venv" >"$log" 2>&1 || { cat "$log" >&2; die "python3 -m venv $cache/venv failed"; }
  # shellcheck disable=SC2086
  "$cache/venv/bin/python" -m pip install --disable-pip-version-check --no-input $PY_PINS >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "pip install $PY_PINS failed (full log: $log)"; }
  "$cache/venv/bin/python" -c 'import grpc, grpc_tools.protoc' >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "the venv cannot import grpc / grpc_tools after install"; }
  echo "$PY_PINS" >"$cache/venv.stamp"
  echo "installed $PY_PINS into $cache/venv"
fi

# Node: the exact pins of node/package.json, installed with npm install --prefix.
NODE_PINS="$(node -e '
  const deps = require(process.argv[1]).dependencies;
  console.log(Object.keys(deps).sort().map((name) => `${name}@${deps[name]}`).join(" "));
' "$here/node/package.json")" || die "cannot read $here/node/package.json"
if [ "$(cat "$cache/node.stamp" 2>/dev/null)" != "$NODE_PINS" ]; then
  rm -rf "$cache/node" "$cache/node.stamp"
  mkdir -p "$cache/node"
  cp "$here/node/package.json" "$cache/node/package.json"
  log="$cache/node-install.log"
  npm install --prefix "$cache/node" --no-audit --no-fund --no-package-lock --omit=dev >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "npm install --prefix $cache/node ($NODE_PINS) failed (full log: $log)"; }
  NODE_PATH="$cache/node/node_modules" node -e 'require("@grpc/grpc-js"); require("@grpc/proto-loader")' >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "node cannot load @grpc/grpc-js / @grpc/proto-loader after install"; }
  echo "$NODE_PINS" >"$cache/node.stamp"
  echo "installed $NODE_PINS into $cache/node"
fi

# The gRPC-Web browser test's Chromium and npm packages.
bash "$here/web-setup.sh" "$cache"
