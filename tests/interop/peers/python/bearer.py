"""Bearer tokens between Python grpcio and rust-rpc, over TLS (tests/interop/tests/bearer_token.rs):

  bearer.py client --port P --ca CA.pem --token T
      Calls grpc.testing.TestService/EmptyCall on 127.0.0.1:P over TLS (server name
      foo.test.google.fr), with grpc.access_token_call_credentials(T) composed into the channel
      credentials, as a Python user does. Prints `ok`, or the status code's name.
  bearer.py server --cert CERT.pem --key KEY.pem --token T
      A TLS grpc.testing.TestService on 127.0.0.1 (a free port) behind a grpc.ServerInterceptor
      that aborts with UNAUTHENTICATED unless the call carries `authorization: Bearer T`. Prints
      `listening on P`, then serves until stdin is closed."""

import sys
from concurrent import futures

import grpc

from common import empty_pb2, parse_flags, serve, test_pb2_grpc


def client(flags):
    with open(flags["ca"], "rb") as f:
        ca = f.read()
    credentials = grpc.composite_channel_credentials(
        grpc.ssl_channel_credentials(root_certificates=ca), grpc.access_token_call_credentials(flags["token"])
    )
    options = [("grpc.ssl_target_name_override", "foo.test.google.fr")]
    with grpc.secure_channel(f"127.0.0.1:{flags['port']}", credentials, options=options) as channel:
        try:
            test_pb2_grpc.TestServiceStub(channel).EmptyCall(empty_pb2.Empty(), timeout=30)
            print("ok", flush=True)
        except grpc.RpcError as err:
            print(err.code().name, flush=True)


class BearerToken(grpc.ServerInterceptor):
    def __init__(self, token):
        self.expected = f"Bearer {token}"

    def intercept_service(self, continuation, details):
        if dict(details.invocation_metadata).get("authorization") == self.expected:
            return continuation(details)

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "a valid bearer token is required")

        return grpc.unary_unary_rpc_method_handler(deny)


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        return empty_pb2.Empty()


def server(flags):
    with open(flags["cert"], "rb") as f:
        cert = f.read()
    with open(flags["key"], "rb") as f:
        key = f.read()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[BearerToken(flags["token"])])
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), srv)
    port = srv.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    serve(srv, port)


if __name__ == "__main__":
    mode, flags = sys.argv[1], parse_flags(sys.argv[2:])
    {"client": client, "server": server}[mode](flags)
