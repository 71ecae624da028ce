//! W3C trace context between rust-rpc's `Tracing` (with `propagate_context`) and Python grpcio
//! instrumented with OpenTelemetry (`opentelemetry-instrumentation-grpc`;
//! `peers/python/telemetry.py`), both ways:
//!
//! - a grpcio client's span becomes the parent of our server's span, in its trace;
//! - our client's span becomes the parent of the grpcio server's span, in our trace.

use std::path::PathBuf;
use std::time::Duration;

use interop::pb::{Empty, TestServiceClient, add_test_service_servicer_to_server};
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use rust_rpc::telemetry::Tracing;
use rust_rpc::{ChannelBuilder, Server};
use test_support::{Peer, repo};
use tracing_subscriber::layer::SubscriberExt;

const PEER_TIMEOUT: Duration = Duration::from_secs(60);

fn script() -> PathBuf {
    repo().join("tests/interop/peers/python/telemetry.py")
}

/// A tracing subscriber exporting to an in-memory exporter through tracing-opentelemetry, the
/// W3C propagator set globally (as an application using OpenTelemetry does), and the exporter.
fn tracing_to_memory() -> (tracing::subscriber::DefaultGuard, InMemorySpanExporter) {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("interop"));
    (tracing::subscriber::set_default(tracing_subscriber::registry().with(layer)), exporter)
}

/// The one finished span of `kind` named `grpc.testing.TestService/EmptyCall`.
fn span(exporter: &InMemorySpanExporter, kind: SpanKind) -> SpanData {
    let spans = exporter.get_finished_spans().expect("spans");
    let mut found: Vec<_> =
        spans.into_iter().filter(|s| s.span_kind == kind && s.name == "grpc.testing.TestService/EmptyCall").collect();
    assert_eq!(found.len(), 1, "one {kind:?} span");
    found.remove(0)
}

/// `key=value` from a peer's line.
fn value<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

// A current-thread runtime: our server and client run on this thread, under the subscriber.
#[tokio::test]
async fn a_grpcio_client_span_is_the_parent_of_our_server_span() {
    let (_guard, exporter) = tracing_to_memory();
    let server = Server::builder().interceptor(Tracing::new().propagate_context(true)).build();
    add_test_service_servicer_to_server(interop::service::TestService, &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let args = ["client", "--port", &port.to_string()].map(str::to_owned);
    let line =
        tokio::task::spawn_blocking(move || Peer::python(script(), args, PEER_TIMEOUT).answer("the client span's ids"))
            .await
            .expect("join");
    server.stop(None).await;
    let ours = span(&exporter, SpanKind::Server);
    assert_eq!(format!("{}", ours.span_context.trace_id()), value(&line, "trace"), "Python's trace");
    assert_eq!(format!("{}", ours.parent_span_id), value(&line, "span"), "the Python client span is the parent");
    assert!(ours.parent_span_is_remote);
}

#[tokio::test]
async fn our_client_span_is_the_parent_of_a_grpcio_server_span() {
    let (_guard, exporter) = tracing_to_memory();
    let (mut server, port) = tokio::task::spawn_blocking(|| {
        let mut server = Peer::python(script(), ["server"].map(str::to_owned), PEER_TIMEOUT);
        let line = server.line("the listening port");
        let port = line.strip_prefix("listening on ").expect("a port line").to_owned();
        (server, port)
    })
    .await
    .expect("join");
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .interceptor(Tracing::new().propagate_context(true))
        .build()
        .expect("channel");
    TestServiceClient::new(channel).empty_call(Empty {}).timeout(Duration::from_secs(30)).await.expect("call");
    let line = tokio::task::spawn_blocking(move || server.line("the server span's ids")).await.expect("join");
    let ours = span(&exporter, SpanKind::Client);
    assert_eq!(value(&line, "trace"), format!("{}", ours.span_context.trace_id()), "our trace");
    assert_eq!(value(&line, "parent"), format!("{}", ours.span_context.span_id()), "our client span is the parent");
    assert_eq!(value(&line, "remote"), "True");
}
