"""A Python grpcio client with a client certificate (mutual TLS), against a rust-rpc server
whose handler reports the identity it saw (tests/interop/tests/mtls_identity.rs):

  mtls_client.py --port P --certs DIR
      Reads DIR/ca.pem, DIR/client.pem and DIR/client.key, connects to 127.0.0.1:P with
      grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain) and the
      server name `server.test`, calls grpc.testing.TestService/UnaryCall once and prints
      `username=<the response's username>` and then `x-peer-<name>=<value>` for every trailing
      metadata entry whose key starts with x-peer-, in the order received. Exits 0 once the
      call succeeded; prints the failure to stderr and exits 1 otherwise."""

import os
import sys

import grpc

from common import messages_pb2, parse_flags, test_pb2_grpc


def read(directory, name):
    with open(os.path.join(directory, name), "rb") as f:
        return f.read()


def main():
    flags = parse_flags(sys.argv[1:])
    if "port" not in flags or "certs" not in flags:
        raise SystemExit("usage: mtls_client.py --port P --certs DIR")
    certs = flags["certs"]
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(certs, "ca.pem"),
        private_key=read(certs, "client.key"),
        certificate_chain=read(certs, "client.pem"),
    )
    options = [("grpc.ssl_target_name_override", "server.test")]
    with grpc.secure_channel(f"127.0.0.1:{flags['port']}", credentials, options=options) as channel:
        stub = test_pb2_grpc.TestServiceStub(channel)
        try:
            response, call = stub.UnaryCall.with_call(messages_pb2.SimpleRequest(fill_username=True), timeout=10)
        except grpc.RpcError as error:
            print(f"mtls_client.py: UnaryCall failed: {error.code()} {error.details()!r}", file=sys.stderr)
            sys.exit(1)
    print(f"username={response.username}", flush=True)
    for key, value in call.trailing_metadata():
        if key.startswith("x-peer-"):
            print(f"{key}={value}", flush=True)


if __name__ == "__main__":
    main()
