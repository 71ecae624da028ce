#!/usr/bin/env bash
# Installs the interop peers into a cache (default <repo>/.cache/interop), idempotently:
# Python grpcio + grpcio-tools in a venv, Node @grpc/grpc-js + @grpc/proto-loader.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/../../../.cache/interop}"
mkdir -p "$cache"

PY_PINS="grpcio==1.85.1 grpcio-tools==1.85.1"
NODE_PINS="@grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1"

command -v python3 >/dev/null || { echo "setup.sh: python3 is required for the Python interop peer" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup.sh: npm (Node.js) is required for the Node interop peer" >&2; exit 1; }

if [ "$(cat "$cache/venv.stamp" 2>/dev/null)" != "$PY_PINS" ]; then
  rm -rf "$cache/venv"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/python" -m pip install --quiet --disable-pip-version-check $PY_PINS
  echo "$PY_PINS" > "$cache/venv.stamp"
  echo "installed $PY_PINS"
fi

if [ "$(cat "$cache/node.stamp" 2>/dev/null)" != "$NODE_PINS" ]; then
  rm -rf "$cache/node"
  mkdir -p "$cache/node"
  npm install --silent --no-audit --no-fund --no-save --prefix "$cache/node" $NODE_PINS >/dev/null
  echo "$NODE_PINS" > "$cache/node.stamp"
  echo "installed $NODE_PINS"
fi
