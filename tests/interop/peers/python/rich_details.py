"""Rich error details (google.rpc.Status in grpc-status-details-bin) on Python grpcio with
grpcio-status, against rust-rpc (tests/interop/tests/rich_error_details.rs):

  rich_details.py server
      A grpc.testing.TestService on 127.0.0.1 (a free port) whose UnaryCall fails with
      `context.abort_with_status(rpc_status.to_status(...))`, carrying SERVER_DETAILS. Prints
      `listening on P`, then serves until stdin is closed or SIGTERM.
  rich_details.py client --port P
      Calls UnaryCall on 127.0.0.1:P, expects it to fail, reads the details with
      `rpc_status.from_call`, unpacks each with google.rpc.error_details_pb2 and compares every
      field with CLIENT_EXPECTS. Prints `rich details ok: <types>` and exits 0 when all match;
      prints the first mismatch to stderr and exits 1 otherwise.

The Rust test holds the same values; a change on one side only makes the test fail."""

import signal
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2 as ed, status_pb2
from grpc_status import rpc_status

from common import messages_pb2, parse_flags, test_pb2_grpc

# Non-ASCII on purpose: grpc-message is percent-encoded, and from_call compares it with the
# status's own message.
MESSAGE = "2 champs invalides : prénom, âge"


def pack(message):
    packed = any_pb2.Any()
    packed.Pack(message)  # type.googleapis.com/<full name>
    return packed


def server_details():
    """What the Python server sends: the details rust-rpc's client must read back typed."""
    return [
        ed.BadRequest(
            field_violations=[
                ed.BadRequest.FieldViolation(
                    field="person.first_name",
                    description="must not be empty",
                    reason="FIRST_NAME_EMPTY",
                    localized_message=ed.LocalizedMessage(locale="fr-FR", message="le prénom est vide"),
                ),
                ed.BadRequest.FieldViolation(field="person.age", description="must be at least 0"),
            ]
        ),
        ed.ErrorInfo(
            reason="INVALID_PERSON",
            domain="interop.rust-rpc.test",
            metadata={"service": "people", "checkedFields": "2"},
        ),
        ed.RetryInfo(retry_delay=duration_pb2.Duration(seconds=3, nanos=250_000_000)),
        ed.QuotaFailure(
            violations=[
                ed.QuotaFailure.Violation(
                    subject="project:interop",
                    description="too many people",
                    api_service="people.interop.test",
                    quota_metric="people.interop.test/writes",
                    quota_id="WritesPerMinute",
                    quota_dimensions={"region": "eu-west1"},
                    quota_value=60,
                    future_quota_value=120,
                )
            ]
        ),
        # Not a google.rpc detail: the client must keep it as it came.
        messages_pb2.EchoStatus(code=7, message="a detail of a type rust-rpc does not know"),
    ]


def client_expects():
    """What rust-rpc's server sends: one of every standard detail, then a non-standard one."""
    return [
        ed.ErrorInfo(reason="QUOTA_LOW", domain="rust-rpc.test", metadata={"b": "2", "a": "1"}),
        ed.RetryInfo(retry_delay=duration_pb2.Duration(seconds=1, nanos=500)),
        ed.DebugInfo(stack_entries=["server.rs:10", "main.rs:3"], detail="deep inside"),
        ed.QuotaFailure(
            violations=[
                ed.QuotaFailure.Violation(
                    subject="clientip:127.0.0.1",
                    description="daily limit reached",
                    api_service="books.rust-rpc.test",
                    quota_metric="books.rust-rpc.test/reads",
                    quota_id="ReadsPerDay",
                    quota_dimensions={"region": "local", "tier": "free"},
                    quota_value=100,
                    future_quota_value=0,
                )
            ]
        ),
        ed.PreconditionFailure(
            violations=[ed.PreconditionFailure.Violation(type="TOS", subject="rust-rpc.test", description="not accepted")]
        ),
        ed.BadRequest(
            field_violations=[
                ed.BadRequest.FieldViolation(
                    field="book.title",
                    description="too long",
                    reason="TITLE_TOO_LONG",
                    localized_message=ed.LocalizedMessage(locale="de-CH", message="zu lang"),
                ),
                ed.BadRequest.FieldViolation(field="book.authors[1]", description="unknown author"),
            ]
        ),
        ed.RequestInfo(request_id="req-7", serving_data="shard 3"),
        ed.ResourceInfo(resource_type="book", resource_name="books/42", owner="user:ann", description="locked"),
        ed.Help(links=[ed.Help.Link(description="quota docs", url="https://rust-rpc.test/quota")]),
        ed.LocalizedMessage(locale="fr-CH", message="quota dépassé"),
        messages_pb2.EchoStatus(code=9, message="custom detail from rust-rpc"),
    ]


class FailingTestService(test_pb2_grpc.TestServiceServicer):
    def UnaryCall(self, request, context):
        status = status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT, message=MESSAGE, details=[pack(d) for d in server_details()]
        )
        context.abort_with_status(rpc_status.to_status(status))


def serve():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    test_pb2_grpc.add_TestServiceServicer_to_server(FailingTestService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening on {port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    # Stdin closing (the test ending, however it ends) stops the server too.
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    server.stop(grace=None)


def fail(reason):
    print(f"rich_details.py client: {reason}", file=sys.stderr, flush=True)
    sys.exit(1)


def check_call(port):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = test_pb2_grpc.TestServiceStub(channel)
        try:
            stub.UnaryCall(messages_pb2.SimpleRequest(), timeout=10)
        except grpc.RpcError as call:
            error = call
        else:
            fail("UnaryCall succeeded; expected it to fail with details")
    if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
        fail(f"code {error.code()}, want RESOURCE_EXHAUSTED ({error.details()!r})")
    if error.details() != "quota dépassé: réessayez":
        fail(f"message {error.details()!r}")
    # from_call raises ValueError if the status's code or message differ from the call's.
    status = rpc_status.from_call(error)
    if status is None:
        fail("from_call found no grpc-status-details-bin trailer")
    if status.code != code_pb2.RESOURCE_EXHAUSTED or status.message != "quota dépassé: réessayez":
        fail(f"google.rpc.Status code {status.code} message {status.message!r}")
    expected = client_expects()
    if len(status.details) != len(expected):
        fail(f"{len(status.details)} details, want {len(expected)}: {[d.type_url for d in status.details]}")
    names = []
    for index, (packed, want) in enumerate(zip(status.details, expected)):
        url = "type.googleapis.com/" + want.DESCRIPTOR.full_name
        if packed.type_url != url:
            fail(f"detail {index}: type URL {packed.type_url!r}, want {url!r}")
        got = type(want)()
        if not packed.Unpack(got):
            fail(f"detail {index}: cannot unpack as {want.DESCRIPTOR.full_name}")
        # Unknown fields (kept by the parser, and so re-serialized) would mean a field number
        # that is not upstream's.
        if got != want or got.SerializeToString(deterministic=True) != want.SerializeToString(deterministic=True):
            fail(f"detail {index} ({want.DESCRIPTOR.full_name}): got {got!r}, want {want!r}")
        if want.DESCRIPTOR.name in ("QuotaFailure",) and not got.violations[0].HasField("future_quota_value"):
            fail("QuotaFailure.Violation.future_quota_value = 0 was not sent as present")
        names.append(want.DESCRIPTOR.full_name)
    print("rich details ok: " + " ".join(names), flush=True)


def main():
    if sys.argv[1:2] == ["server"]:
        serve()
    elif sys.argv[1:2] == ["client"]:
        flags = parse_flags(sys.argv[2:])
        if "port" not in flags:
            raise SystemExit("rich_details.py client: --port is required")
        check_call(flags["port"])
    else:
        raise SystemExit("usage: rich_details.py server | client --port P")


if __name__ == "__main__":
    main()
