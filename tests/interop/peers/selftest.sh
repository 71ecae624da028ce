#!/usr/bin/env bash
# Checks the interop peers against each other, without rust-rpc: Python grpcio server <-> Node
# grpc-js client and Node server <-> Python client, every case, plaintext and TLS (a test CA
# and a server certificate for *.test.google.fr made here with openssl, or with the venv's
# `cryptography` when openssl is missing; the clients use --server_host_override
# foo.test.google.fr). Prints a matrix, the reason for every skip and failure, and ends with
# `N passed, M failed, K skipped`; exits non-zero when any case fails.
#
# Usage: selftest.sh [--same] [CACHE]
#   --same  also run each peer's client against its own server
#   CACHE   where setup.sh installs the peers (default <repo>/.cache/interop)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
same=0
if [ "${1:-}" = "--same" ]; then same=1; shift; fi
cache="${1:-$here/../../../.cache/interop}"

bash "$here/setup.sh" "$cache"
cache="$(cd "$cache" && pwd)"
PY="$cache/venv/bin/python"
export NODE_PATH="$cache/node/node_modules"
export PYTHONUNBUFFERED=1
CLIENT_TIMEOUT=20

CASES="empty_unary large_unary client_compressed_unary server_compressed_unary client_streaming
client_compressed_streaming server_streaming server_compressed_streaming ping_pong empty_stream
timeout_on_sleeping_server cancel_after_begin cancel_after_first_response status_code_and_message
special_status_message custom_metadata unimplemented_method unimplemented_service"

# Cases a peer's *server* cannot serve, with the reason (see README.md): skipped, not run.
server_limit() { # $1 server impl, $2 case
  case "$2" in
    client_compressed_unary|client_compressed_streaming) ;;
    *) return 1 ;;
  esac
  case "$1" in
    python) echo "grpcio hides grpc-encoding and the message's compressed flag from servicers: it cannot answer the uncompressed probe with INVALID_ARGUMENT" ;;
    node) echo "grpc-js removes grpc-encoding from the call's metadata and hides the message's compressed flag: it cannot answer the uncompressed probe with INVALID_ARGUMENT" ;;
  esac
}

work="$(mktemp -d "${TMPDIR:-/tmp}/interop-selftest.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- certificates: a CA and a server certificate for *.test.google.fr signed by it ---------
certs="$work/certs"
mkdir -p "$certs"
if command -v openssl >/dev/null; then
  (
    cd "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rust-rpc interop test CA" \
      -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=*.test.google.fr" -keyout server.key -out server.csr
    printf 'subjectAltName=DNS:*.test.google.fr,DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile ext.cnf -out server.pem
  ) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; echo "selftest.sh: making certificates with openssl failed" >&2; exit 1; }
else
  "$PY" -c 'import cryptography' 2>/dev/null || "$PY" -m pip install --quiet --disable-pip-version-check cryptography \
    || { echo "selftest.sh: neither openssl nor the cryptography package is available" >&2; exit 1; }
  "$PY" - "$certs" <<'EOF'
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
out = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
ca_key, server_key = key(), key()
ca = (x509.CertificateBuilder().subject_name(name("rust-rpc interop test CA")).issuer_name(name("rust-rpc interop test CA"))
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .sign(ca_key, hashes.SHA256()))
server = (x509.CertificateBuilder().subject_name(name("*.test.google.fr")).issuer_name(ca.subject)
          .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.test.google.fr"), x509.DNSName("localhost"),
                                                      x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
          .sign(ca_key, hashes.SHA256()))
pem = serialization.Encoding.PEM
open(os.path.join(out, "ca.pem"), "wb").write(ca.public_bytes(pem))
open(os.path.join(out, "server.pem"), "wb").write(server.public_bytes(pem))
open(os.path.join(out, "server.key"), "wb").write(server_key.private_bytes(
    pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
EOF
fi

# --- servers -------------------------------------------------------------------------------
command_for() { # $1 impl, $2 role
  case "$1" in
    python) echo "$PY $here/python/$2.py" ;;
    node) echo "node $here/node/$2.js" ;;
  esac
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

declare -A PORT
start_server() { # $1 impl, $2 mode (plaintext|tls)
  local impl="$1" mode="$2" port log args
  port="$(free_port)"
  log="$work/server-$impl-$mode.log"
  args=(--port "$port")
  if [ "$mode" = tls ]; then
    args+=(--use_tls --tls_cert_file "$certs/server.pem" --tls_key_file "$certs/server.key")
  fi
  # shellcheck disable=SC2046
  $(command_for "$impl" server) "${args[@]}" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do
    if grep -q "listening on" "$log"; then PORT["$impl-$mode"]="$port"; return 0; fi
    if ! kill -0 "$!" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "selftest.sh: the $impl server ($mode) did not start:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

pairs="python:node node:python"
if [ "$same" = 1 ]; then pairs="$pairs python:python node:node"; fi
for pair in $pairs; do
  for mode in plaintext tls; do
    server="${pair#*:}"
    [ -n "${PORT[$server-$mode]:-}" ] || start_server "$server" "$mode"
  done
done

# --- the matrix ------------------------------------------------------------------------------
declare -A RESULT
notes=()
passed=0 failed=0 skipped=0
columns=()
for pair in $pairs; do
  for mode in plaintext tls; do columns+=("$pair:$mode"); done
done

for column in "${columns[@]}"; do
  IFS=: read -r client server mode <<<"$column"
  for test_case in $CASES; do
    key="$column:$test_case"
    if why="$(server_limit "$server" "$test_case")"; then
      RESULT[$key]="n/a"; skipped=$((skipped + 1))
      notes+=("n/a: $test_case $client->$server $mode: $why")
      continue
    fi
    args=(--server_host localhost --server_port "${PORT[$server-$mode]}" --test_case "$test_case")
    if [ "$mode" = tls ]; then
      args+=(--use_tls --use_test_ca --ca_file "$certs/ca.pem" --server_host_override foo.test.google.fr)
    fi
    out="$work/out"
    rc=0
    # shellcheck disable=SC2046
    timeout "$CLIENT_TIMEOUT" $(command_for "$client" client) "${args[@]}" >"$out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
      RESULT[$key]="ok"; passed=$((passed + 1))
    elif [ "$rc" = 3 ] && grep -q "UNSUPPORTED" "$out"; then
      RESULT[$key]="n/a"; skipped=$((skipped + 1))
      notes+=("n/a: $test_case $client->$server $mode: $(grep -m1 UNSUPPORTED "$out")")
    else
      RESULT[$key]="FAIL"; failed=$((failed + 1))
      if [ "$rc" = 124 ]; then reason="timed out after ${CLIENT_TIMEOUT}s"; else reason="exit $rc: $(tail -n 1 "$out")"; fi
      notes+=("FAIL: $test_case $client->$server $mode: $reason")
    fi
  done
done

label() { IFS=: read -r c s m <<<"$1"; if [ "$m" = tls ]; then echo "$c->$s tls"; else echo "$c->$s"; fi; }
printf '%-30s' "client->server"
for column in "${columns[@]}"; do printf ' %-18s' "$(label "$column")"; done
echo
for test_case in $CASES; do
  printf '%-30s' "$test_case"
  for column in "${columns[@]}"; do printf ' %-18s' "${RESULT[$column:$test_case]}"; done
  echo
done
for note in "${notes[@]}"; do echo "$note"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
