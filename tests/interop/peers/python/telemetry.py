"""W3C trace context between Python grpcio instrumented with OpenTelemetry
(opentelemetry-instrumentation-grpc, SDK tracer provider) and rust-rpc's Tracing interceptor
(tests/interop/tests/telemetry.rs):

  telemetry.py client --port P
      Calls grpc.testing.TestService/EmptyCall on 127.0.0.1:P (plaintext) through the
      instrumented client, which sends its span's context as `traceparent`. Prints
      `client trace=<32 hex> span=<16 hex>`: the client span's trace and span ids.
  telemetry.py server
      An instrumented grpc.testing.TestService on 127.0.0.1 (a free port). Prints
      `listening on P`, then `server trace=<32 hex> parent=<16 hex> remote=<True|False>` for
      each server span that ends, and serves until stdin is closed."""

import sys
from concurrent import futures

import grpc
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient, GrpcInstrumentorServer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from common import empty_pb2, parse_flags, serve, test_pb2_grpc


class PrintServerSpans(SpanExporter):
    """Prints each server span's trace id and parent as it ends."""

    def export(self, spans):
        for span in spans:
            if span.kind == trace.SpanKind.SERVER:
                parent = span.parent
                print(
                    f"server trace={span.context.trace_id:032x} "
                    f"parent={(parent.span_id if parent else 0):016x} remote={bool(parent and parent.is_remote)}",
                    flush=True,
                )
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


def client(flags):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    GrpcInstrumentorClient().instrument()
    with grpc.insecure_channel(f"127.0.0.1:{flags['port']}") as channel:
        test_pb2_grpc.TestServiceStub(channel).EmptyCall(empty_pb2.Empty(), timeout=30)
    spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.CLIENT]
    if len(spans) != 1:
        raise SystemExit(f"expected one client span, got {spans}")
    context = spans[0].context
    print(f"client trace={context.trace_id:032x} span={context.span_id:016x}", flush=True)


class TestService(test_pb2_grpc.TestServiceServicer):
    def EmptyCall(self, request, context):
        return empty_pb2.Empty()


def server(flags):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(PrintServerSpans()))
    trace.set_tracer_provider(provider)
    GrpcInstrumentorServer().instrument()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    serve(srv, port)


if __name__ == "__main__":
    mode, flags = sys.argv[1], parse_flags(sys.argv[2:])
    {"client": client, "server": server}[mode](flags)
