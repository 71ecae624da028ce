#!/usr/bin/env bash
# Installs what the gRPC-Web browser test (examples/tests/grpc_web.rs) needs, idempotently:
#   chromium      Debian's package, with apt-get when no chromium is on PATH (CI runs as root
#                 on a clean machine; elsewhere install it yourself)
#   $CACHE/web    npm prefix with the pins of examples/web/package.json (connect-web, protobuf-es,
#                 protoc-gen-es, esbuild), skipped when its stamp holds the same pins
# Called by setup.sh; takes the same cache dir (default <repo>/.cache/interop). Prints one line
# per thing installed and nothing else on success; exits non-zero with a message on failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-$here/../../../.cache/interop}"
package_json="$here/../../../examples/web/package.json"

die() { echo "web-setup.sh: $*" >&2; exit 1; }

command -v npm >/dev/null || die "npm (Node.js) is required for the gRPC-Web page (not found on PATH)"
command -v node >/dev/null || die "node is required for the gRPC-Web page (not found on PATH)"
mkdir -p "$cache" || die "cannot create cache dir $cache"
cache="$(cd "$cache" && pwd)"

# Chromium: Debian's package.
if ! command -v chromium >/dev/null; then
  [ "$(id -u)" = 0 ] || die "chromium is not installed and installing it needs root: apt-get install chromium"
  command -v apt-get >/dev/null || die "chromium is not installed and there is no apt-get to install it with"
  log="$cache/chromium-install.log"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get install chromium failed (full log: $log)"; }
  command -v chromium >/dev/null || die "apt-get installed chromium but it is not on PATH"
  echo "installed $(chromium --version 2>/dev/null || echo chromium)"
fi

# npm: the exact pins of examples/web/package.json.
WEB_PINS="$(node -e '
  const deps = require(process.argv[1]).dependencies;
  console.log(Object.keys(deps).sort().map((name) => `${name}@${deps[name]}`).join(" "));
' "$package_json")" || die "cannot read $package_json"
if [ "$(cat "$cache/web.stamp" 2>/dev/null)" != "$WEB_PINS" ]; then
  rm -rf "$cache/web" "$cache/web.stamp"
  mkdir -p "$cache/web"
  cp "$package_json" "$cache/web/package.json"
  log="$cache/web-install.log"
  npm install --prefix "$cache/web" --no-audit --no-fund --no-package-lock >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "npm install --prefix $cache/web ($WEB_PINS) failed (full log: $log)"; }
  [ -x "$cache/web/node_modules/.bin/esbuild" ] && [ -x "$cache/web/node_modules/.bin/protoc-gen-es" ] \
    || { tail -n 30 "$log" >&2; die "esbuild / protoc-gen-es missing after npm install (full log: $log)"; }
  echo "$WEB_PINS" >"$cache/web.stamp"
  echo "installed $WEB_PINS into $cache/web"
fi
