"""The standard gRPC interop client on Python grpcio:
client.py --server_host H --server_port P --test_case NAME [--use_tls] [--use_test_ca]
          [--ca_file F] [--server_host_override NAME]
Exit 0 on pass, 1 with a reason on failure, 3 with `UNSUPPORTED: reason` when grpcio cannot
run the case."""

import queue
import sys

import grpc

from common import empty_pb2, flag, messages_pb2, parse_flags, test_pb2_grpc

TIMEOUT = 20
UNSUPPORTED = 3


class Failure(Exception):
    pass


def ensure(condition, message):
    if not condition:
        raise Failure(message)


def expect_code(call, code, what):
    try:
        call()
    except grpc.RpcError as e:
        ensure(e.code() == code, f"{what}: expected {code}, got {e.code()} {e.details()!r}")
        return e
    raise Failure(f"{what}: expected {code}, the call succeeded")


def payload(size):
    return messages_pb2.Payload(body=b"\0" * size)


def large_request(**fields):
    return messages_pb2.SimpleRequest(response_size=314159, payload=payload(271828), **fields)


def streaming_request(size, payload_size, **fields):
    return messages_pb2.StreamingOutputCallRequest(
        response_parameters=[messages_pb2.ResponseParameters(size=size)], payload=payload(payload_size), **fields)


def empty_unary(stub, _):
    stub.EmptyCall(empty_pb2.Empty(), timeout=TIMEOUT)


def large_unary(stub, _):
    response = stub.UnaryCall(large_request(), timeout=TIMEOUT)
    ensure(len(response.payload.body) == 314159, f"response payload {len(response.payload.body)} bytes")


def client_compressed_unary(stub, _):
    expecting = lambda value: large_request(expect_compressed=messages_pb2.BoolValue(value=value))
    expect_code(lambda: stub.UnaryCall(expecting(True), timeout=TIMEOUT), grpc.StatusCode.INVALID_ARGUMENT, "probe")
    stub.UnaryCall(expecting(True), timeout=TIMEOUT, compression=grpc.Compression.Gzip)
    stub.UnaryCall(expecting(False), timeout=TIMEOUT)


def server_compressed_unary(stub, _):
    for value in (True, False):
        response = stub.UnaryCall(large_request(response_compressed=messages_pb2.BoolValue(value=value)), timeout=TIMEOUT)
        ensure(len(response.payload.body) == 314159, "wrong response size")


def client_streaming(stub, _):
    requests = [messages_pb2.StreamingInputCallRequest(payload=payload(n)) for n in (27182, 8, 1828, 45904)]
    response = stub.StreamingInputCall(iter(requests), timeout=TIMEOUT)
    ensure(response.aggregated_payload_size == 74922, f"aggregated {response.aggregated_payload_size}")


def client_compressed_streaming(stub, _):
    request = lambda n: messages_pb2.StreamingInputCallRequest(
        payload=payload(n), expect_compressed=messages_pb2.BoolValue(value=True))
    expect_code(lambda: stub.StreamingInputCall(iter([request(27182)]), timeout=TIMEOUT),
                grpc.StatusCode.INVALID_ARGUMENT, "probe")
    response = stub.StreamingInputCall(iter([request(27182), request(45904)]), timeout=TIMEOUT,
                                       compression=grpc.Compression.Gzip)
    ensure(response.aggregated_payload_size == 73086, f"aggregated {response.aggregated_payload_size}")


def server_streaming(stub, _, compressed=False):
    sizes = [31415, 92653] if compressed else [31415, 9, 2653, 58979]
    parameters = [
        messages_pb2.ResponseParameters(size=n, compressed=messages_pb2.BoolValue(value=i == 0) if compressed else None)
        for i, n in enumerate(sizes)]
    request = messages_pb2.StreamingOutputCallRequest(response_parameters=parameters)
    got = [len(r.payload.body) for r in stub.StreamingOutputCall(request, timeout=TIMEOUT)]
    ensure(got == sizes, f"sizes {got}, want {sizes}")


def ping_pong(stub, _):
    requests = queue.Queue()
    responses = stub.FullDuplexCall(iter(requests.get, None), timeout=TIMEOUT)
    for size, payload_size in ((31415, 27182), (9, 8), (2653, 1828), (58979, 45904)):
        requests.put(streaming_request(size, payload_size))
        response = next(responses)
        ensure(len(response.payload.body) == size, f"got {len(response.payload.body)} bytes, want {size}")
    requests.put(None)
    ensure(next(responses, None) is None, "extra response")


def empty_stream(stub, _):
    ensure(list(stub.FullDuplexCall(iter([]), timeout=TIMEOUT)) == [], "got a response")


def timeout_on_sleeping_server(stub, _):
    requests = queue.Queue()
    requests.put(messages_pb2.StreamingOutputCallRequest(payload=payload(27182)))
    responses = stub.FullDuplexCall(iter(requests.get, None), timeout=0.001)
    expect_code(lambda: next(responses), grpc.StatusCode.DEADLINE_EXCEEDED, "1 ms deadline")
    requests.put(None)


def cancel_after_begin(stub, _):
    requests = queue.Queue()
    future = stub.StreamingInputCall.future(iter(requests.get, None), timeout=TIMEOUT)
    future.cancel()
    ensure(future.cancelled(), "the call was not cancelled")
    requests.put(None)


def cancel_after_first_response(stub, _):
    requests = queue.Queue()
    responses = stub.FullDuplexCall(iter(requests.get, None), timeout=TIMEOUT)
    requests.put(streaming_request(31415, 27182))
    first = next(responses)
    ensure(len(first.payload.body) == 31415, "wrong first response")
    responses.cancel()
    expect_code(lambda: next(responses), grpc.StatusCode.CANCELLED, "after cancel")
    requests.put(None)


def status(stub, message):
    echo = messages_pb2.EchoStatus(code=2, message=message)
    for what, call in (
        ("UnaryCall", lambda: stub.UnaryCall(messages_pb2.SimpleRequest(response_status=echo), timeout=TIMEOUT)),
        ("FullDuplexCall", lambda: list(stub.FullDuplexCall(
            iter([messages_pb2.StreamingOutputCallRequest(response_status=echo)]), timeout=TIMEOUT))),
    ):
        err = expect_code(call, grpc.StatusCode.UNKNOWN, what)
        ensure(err.details() == message, f"{what}: details {err.details()!r}, want {message!r}")


def custom_metadata(stub, _):
    metadata = (("x-grpc-test-echo-initial", "test_initial_metadata_value"),
                ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab"))

    def check(initial, trailing, what):
        ensure(("x-grpc-test-echo-initial", "test_initial_metadata_value") in initial, f"{what}: initial {initial}")
        ensure(("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab") in trailing, f"{what}: trailing {trailing}")

    _, call = stub.UnaryCall.with_call(large_request(), metadata=metadata, timeout=TIMEOUT)
    check(call.initial_metadata(), call.trailing_metadata(), "UnaryCall")
    responses = stub.FullDuplexCall(iter([streaming_request(314159, 271828)]), metadata=metadata, timeout=TIMEOUT)
    list(responses)
    check(responses.initial_metadata(), responses.trailing_metadata(), "FullDuplexCall")


def unimplemented_method(stub, channel):
    expect_code(lambda: stub.UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT),
                grpc.StatusCode.UNIMPLEMENTED, "UnimplementedCall")


def unimplemented_service(_, channel):
    stub = test_pb2_grpc.UnimplementedServiceStub(channel)
    expect_code(lambda: stub.UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT),
                grpc.StatusCode.UNIMPLEMENTED, "UnimplementedService/UnimplementedCall")


CASES = {
    "empty_unary": empty_unary,
    "large_unary": large_unary,
    "client_compressed_unary": client_compressed_unary,
    "server_compressed_unary": server_compressed_unary,
    "client_streaming": client_streaming,
    "client_compressed_streaming": client_compressed_streaming,
    "server_streaming": server_streaming,
    "server_compressed_streaming": lambda stub, c: server_streaming(stub, c, compressed=True),
    "ping_pong": ping_pong,
    "empty_stream": empty_stream,
    "timeout_on_sleeping_server": timeout_on_sleeping_server,
    "cancel_after_begin": cancel_after_begin,
    "cancel_after_first_response": cancel_after_first_response,
    "status_code_and_message": lambda stub, _: status(stub, "test status message"),
    "special_status_message": lambda stub, _: status(
        stub, "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"),
    "custom_metadata": custom_metadata,
    "unimplemented_method": unimplemented_method,
    "unimplemented_service": unimplemented_service,
}


def main():
    flags = parse_flags(sys.argv[1:])
    case = flags.get("test_case", "")
    if case not in CASES:
        print(f"unknown test case {case!r}", file=sys.stderr)
        return 1
    if "server_port" not in flags:
        print("--server_port is required", file=sys.stderr)
        return 2
    target = f"{flags.get('server_host', 'localhost')}:{flags['server_port']}"
    if flag(flags, "use_tls"):
        root = None
        if flag(flags, "use_test_ca") or "ca_file" in flags:
            if "ca_file" not in flags:
                print("--use_test_ca needs --ca_file", file=sys.stderr)
                return 2
            with open(flags["ca_file"], "rb") as f:
                root = f.read()
        options = []
        if "server_host_override" in flags:
            options.append(("grpc.ssl_target_name_override", flags["server_host_override"]))
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root), options)
    else:
        channel = grpc.insecure_channel(target)
    stub = test_pb2_grpc.TestServiceStub(channel)
    try:
        CASES[case](stub, channel)
    except Failure as e:
        print(f"{case}: {e}", file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print(f"{case}: unexpected {e.code()} {e.details()!r}", file=sys.stderr)
        return 1
    except Exception as e:  # anything else is a failure too, reported on one line
        print(f"{case}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
