"""Retries between Python grpcio and rust-rpc under the same service config
(tests/interop/tests/retries.rs):

  retry.py server
      A grpc.testing.TestService on 127.0.0.1 (a free port) whose UnaryCall fails while fewer
      than `x-fail-times` attempts of the call (`x-request-id`, counted here) came before, with the status
      code named by `x-fail-code`. Prints `listening on P`, then `attempt <id> <n>` for each
      attempt, n being its grpc-previous-rpc-attempts (0 when absent); serves until stdin closes.
  retry.py client --port P --config JSON --id ID --fail-times N --fail-code CODE
      Calls UnaryCall on 127.0.0.1:P with `grpc.service_config` set to JSON and retries enabled,
      sending the three metadata entries above. Prints `ok`, or the status code's name."""

import sys
import threading
from concurrent import futures

import grpc

from common import messages_pb2, parse_flags, serve, test_pb2_grpc


def client(flags):
    options = [("grpc.service_config", flags["config"]), ("grpc.enable_retries", 1)]
    metadata = (
        ("x-request-id", flags["id"]),
        ("x-fail-times", flags["fail-times"]),
        ("x-fail-code", flags["fail-code"]),
    )
    with grpc.insecure_channel(f"127.0.0.1:{flags['port']}", options=options) as channel:
        try:
            test_pb2_grpc.TestServiceStub(channel).UnaryCall(messages_pb2.SimpleRequest(), metadata=metadata, timeout=30)
            print("ok", flush=True)
        except grpc.RpcError as err:
            print(err.code().name, flush=True)


class Failing(test_pb2_grpc.TestServiceServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}

    def UnaryCall(self, request, context):
        md = dict(context.invocation_metadata())
        previous = int(md.get("grpc-previous-rpc-attempts", "0"))
        request_id = md.get("x-request-id")
        with self.lock:
            earlier = self.seen.get(request_id, 0)
            self.seen[request_id] = earlier + 1
            print(f"attempt {request_id} {previous}", flush=True)
        if earlier < int(md.get("x-fail-times", "0")):
            context.abort(getattr(grpc.StatusCode, md.get("x-fail-code", "UNAVAILABLE")), f"attempt {previous + 1} fails")
        return messages_pb2.SimpleResponse()


def server(flags):
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    test_pb2_grpc.add_TestServiceServicer_to_server(Failing(), srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    serve(srv, port)


if __name__ == "__main__":
    mode, flags = sys.argv[1], parse_flags(sys.argv[2:])
    {"client": client, "server": server}[mode](flags)
