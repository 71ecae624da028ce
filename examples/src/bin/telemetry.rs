//! Tracing and metrics on both sides: `telemetry [--calls N]` (default 3) starts a greeter on a
//! free local port with `rust_rpc::telemetry::{Tracing, Metrics}`, calls it N times and once
//! with an empty name (which the server refuses with INVALID_ARGUMENT), through a channel with
//! the same two interceptors. `tracing-subscriber`'s fmt layer prints every span as it closes
//! (with its fields: method, peer, status) and the handler's events inside the server's span;
//! at the end the OpenTelemetry SDK's metrics (gRFC A66's names) are printed.

use examples::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use rust_rpc::telemetry::{Metrics, Tracing};
use rust_rpc::{ChannelBuilder, Result, RpcError, Server, ServicerContext};
use tracing_subscriber::fmt::format::FmtSpan;

struct LoggingGreeter;

impl GreeterServicer for LoggingGreeter {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        // Printed inside the call's `grpc.server` span.
        tracing::info!(name = %request.name, "greeting");
        if request.name.is_empty() {
            return Err(RpcError::invalid_argument("a name is required"));
        }
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let calls: usize = examples::flag("calls").and_then(|n| n.parse().ok()).unwrap_or(3);
    // Spans print when they close, with their fields and how long they took.
    tracing_subscriber::fmt().with_span_events(FmtSpan::CLOSE).with_target(false).init();
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();

    let server = Server::builder().interceptor(Tracing::new()).interceptor(Metrics::new(&provider)).build();
    add_greeter_servicer_to_server(LoggingGreeter, &server)?;
    let port = server.add_insecure_port("127.0.0.1:0")?;
    server.start()?;

    let channel = ChannelBuilder::new(format!("localhost:{port}"))
        .interceptor(Tracing::new())
        .interceptor(Metrics::new(&provider))
        .build()?;
    let client = GreeterClient::new(channel);
    for i in 0..calls {
        let reply = client.say_hello(HelloRequest { name: format!("caller {i}") }).await?;
        tracing::info!(reply = %reply.message, "answered");
    }
    let refused = client.say_hello(HelloRequest { name: String::new() }).await;
    tracing::info!(code = ?refused.err().map(|err| err.code()), "the empty name");
    server.stop(None).await;

    provider.force_flush()?;
    println!("\nmetrics:");
    for resource in exporter.get_finished_metrics()? {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                print_metric(metric);
            }
        }
    }
    Ok(())
}

/// One line per data point: the instrument, its attributes, and its count and sum (histograms)
/// or value (counters).
fn print_metric(metric: &opentelemetry_sdk::metrics::data::Metric) {
    let attributes = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect::<Vec<_>>().join(" ")
    };
    let unit = metric.unit();
    let lines: Vec<String> = match metric.data() {
        AggregatedMetrics::U64(MetricData::Sum(sum)) => {
            sum.data_points().map(|p| format!("{} {unit} [{}]", p.value(), attributes(&mut p.attributes()))).collect()
        }
        AggregatedMetrics::F64(MetricData::Histogram(h)) => h
            .data_points()
            .map(|p| format!("count={} sum={:.6} {unit} [{}]", p.count(), p.sum(), attributes(&mut p.attributes())))
            .collect(),
        AggregatedMetrics::U64(MetricData::Histogram(h)) => h
            .data_points()
            .map(|p| format!("count={} sum={} {unit} [{}]", p.count(), p.sum(), attributes(&mut p.attributes())))
            .collect(),
        _ => Vec::new(),
    };
    for line in lines {
        println!("  {:<56} {line}", metric.name());
    }
}
