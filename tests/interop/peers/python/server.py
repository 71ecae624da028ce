"""The standard gRPC interop server on Python grpcio (sync API):
server.py --port P [--use_tls --tls_cert_file F --tls_key_file F]"""

import signal
import sys
import threading
import time
from concurrent import futures

import grpc

from common import empty_pb2, flag, messages_pb2, parse_flags, test_pb2_grpc

ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"


def echo_metadata(context):
    metadata = dict(context.invocation_metadata())
    if ECHO_INITIAL in metadata:
        context.send_initial_metadata(((ECHO_INITIAL, metadata[ECHO_INITIAL]),))
    if ECHO_TRAILING in metadata:
        context.set_trailing_metadata(((ECHO_TRAILING, metadata[ECHO_TRAILING]),))


def maybe_fail(status, context):
    if status is not None and status.code != 0:
        context.abort(grpc.StatusCode(_code(status.code)), status.message)


def _code(number):
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.value
    return grpc.StatusCode.UNKNOWN.value


def payload(size):
    return messages_pb2.Payload(body=b"\0" * size)


def wants_compression(request):
    """Whether any response a StreamingOutputCallRequest asks for is to be compressed."""
    return any(p.compressed.value for p in request.response_parameters)


def responses(request, context, compressing):
    """The responses one StreamingOutputCallRequest asks for, each after its interval.
    `compressing` says whether the call's compression was set to gzip (which grpcio only
    allows before the first message); a response asked to go uncompressed is then sent with
    disable_next_message_compression(). On a call whose compression was not set, a
    response asked to be compressed goes uncompressed: grpcio fixes grpc-encoding with the
    response headers, so a later request of a FullDuplexCall cannot turn it on."""
    for parameters in request.response_parameters:
        if parameters.interval_us:
            time.sleep(parameters.interval_us / 1e6)
        if compressing and not parameters.compressed.value:
            context.disable_next_message_compression()
        yield messages_pb2.StreamingOutputCallResponse(payload=payload(parameters.size))


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        echo_metadata(context)
        return empty_pb2.Empty()

    def UnaryCall(self, request, context):
        # Compression is chosen before the echoed initial metadata goes out: grpcio sends
        # grpc-encoding with the response headers.
        if request.response_compressed.value:
            context.set_compression(grpc.Compression.Gzip)
        echo_metadata(context)
        # expect_compressed cannot be checked: grpcio decompresses before the servicer runs
        # and hides grpc-encoding (and the per-message flag) from it, so an uncompressed
        # request cannot be told from a compressed one (see peers/README.md).
        maybe_fail(request.response_status if request.HasField("response_status") else None, context)
        return messages_pb2.SimpleResponse(payload=payload(request.response_size))

    CacheableUnaryCall = UnaryCall

    def StreamingOutputCall(self, request, context):
        compressing = wants_compression(request)
        if compressing:
            context.set_compression(grpc.Compression.Gzip)
        echo_metadata(context)
        yield from responses(request, context, compressing)
        maybe_fail(request.response_status if request.HasField("response_status") else None, context)

    def StreamingInputCall(self, request_iterator, context):
        echo_metadata(context)
        # expect_compressed cannot be checked (see UnaryCall).
        total = sum(len(r.payload.body) for r in request_iterator)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    def FullDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        for request in request_iterator:
            yield from responses(request, context, False)
            maybe_fail(request.response_status if request.HasField("response_status") else None, context)

    def HalfDuplexCall(self, request_iterator, context):
        echo_metadata(context)
        for request in list(request_iterator):
            yield from responses(request, context, False)


def main():
    flags = parse_flags(sys.argv[1:])
    if "port" not in flags:
        raise SystemExit("server.py: --port is required")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    servicer = TestService()
    # UnimplementedCall is left to the base class, which answers UNIMPLEMENTED.
    test_pb2_grpc.add_TestServiceServicer_to_server(servicer, server)
    address = f"[::]:{flags['port']}"
    if flag(flags, "use_tls"):
        with open(flags["tls_key_file"], "rb") as key, open(flags["tls_cert_file"], "rb") as cert:
            credentials = grpc.ssl_server_credentials(((key.read(), cert.read()),))
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    server.start()
    print(f"listening on {port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop(grace=None)


if __name__ == "__main__":
    main()
