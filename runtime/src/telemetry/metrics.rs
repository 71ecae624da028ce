//! `Metrics`: gRPC's OpenTelemetry metrics (gRFC A66), recorded by an interceptor.

use std::future::Future;

use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};
use opentelemetry::{InstrumentationScope, KeyValue};

use crate::outcome::CallOutcome;
use crate::server::fallback::Unregistered;
use crate::telemetry::full_method;
use crate::{ClientCall, ClientInterceptor, Result, ServerInterceptor, ServicerContext};

/// A66's latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 41] = [
    0.0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01,
    0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8,
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];

/// A66's size buckets, in bytes.
const SIZE_BUCKETS: [f64; 14] = [
    0.0,
    1024.0,
    2048.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
    4294967296.0,
];

/// gRPC's OpenTelemetry metrics (gRFC A66), as an interceptor on a server or a channel.
///
/// Made from the application's `MeterProvider` (never the global one, as A66 asks), with a
/// meter named `rust-rpc` at this crate's version. The instruments, their units and the
/// histograms' bucket boundaries are A66's:
///
/// | side | instrument | unit | attributes |
/// |---|---|---|---|
/// | client | `grpc.client.attempt.started` (counter) | `{attempt}` | `grpc.method`, `grpc.target` |
/// | client | `grpc.client.attempt.duration` | `s` | `grpc.method`, `grpc.target`, `grpc.status` |
/// | client | `grpc.client.attempt.sent_total_compressed_message_size` | `By` | same |
/// | client | `grpc.client.attempt.rcvd_total_compressed_message_size` | `By` | same |
/// | client | `grpc.client.call.duration` | `s` | same |
/// | server | `grpc.server.call.started` (counter) | `{call}` | `grpc.method` |
/// | server | `grpc.server.call.duration` | `s` | `grpc.method`, `grpc.status` |
/// | server | `grpc.server.call.sent_total_compressed_message_size` | `By` | same |
/// | server | `grpc.server.call.rcvd_total_compressed_message_size` | `By` | same |
///
/// `grpc.method` is `package.Service/Method`; `grpc.status` the code's name (`OK`,
/// `UNAVAILABLE`); `grpc.target` the channel's target with its scheme (`dns:///host:port` for a
/// channel made for `host:port`). Message sizes are as sent on the wire: compressed if the
/// message was, without the 5-byte gRPC prefix or metadata.
///
/// The client has no retries yet, so every call is one attempt: the attempt and call
/// instruments count the same thing, and an attempt's duration is its call's. On the server,
/// calls to methods it did not register (served by a
/// [`fallback`](crate::ServerBuilder::fallback) handler) are recorded as `grpc.method = "other"`,
/// as A66 asks, so no client can grow the metrics with made-up paths.
///
/// ```
/// use rust_rpc::telemetry::Metrics;
///
/// # fn demo(provider: &impl opentelemetry::metrics::MeterProvider) -> Result<(), rust_rpc::Error> {
/// let server = rust_rpc::Server::builder().interceptor(Metrics::new(provider)).build();
/// let channel = rust_rpc::ChannelBuilder::new("localhost:50051").interceptor(Metrics::new(provider)).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Metrics {
    client_attempt_started: Counter<u64>,
    client_attempt_duration: Histogram<f64>,
    client_attempt_sent: Histogram<u64>,
    client_attempt_rcvd: Histogram<u64>,
    client_call_duration: Histogram<f64>,
    server_call_started: Counter<u64>,
    server_call_duration: Histogram<f64>,
    server_call_sent: Histogram<u64>,
    server_call_rcvd: Histogram<u64>,
}

impl Metrics {
    /// The instruments, from a meter `provider` gives for `rust-rpc`.
    pub fn new(provider: &impl MeterProvider) -> Self {
        let scope = InstrumentationScope::builder("rust-rpc").with_version(env!("CARGO_PKG_VERSION")).build();
        Metrics::with_meter(&provider.meter_with_scope(scope))
    }

    /// The instruments, from `meter`.
    pub fn with_meter(meter: &Meter) -> Self {
        let latency = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(LATENCY_BUCKETS.to_vec())
                .build()
        };
        let size = |name: &'static str, description: &'static str| {
            meter
                .u64_histogram(name)
                .with_unit("By")
                .with_description(description)
                .with_boundaries(SIZE_BUCKETS.to_vec())
                .build()
        };
        Metrics {
            client_attempt_started: meter
                .u64_counter("grpc.client.attempt.started")
                .with_unit("{attempt}")
                .with_description("The number of RPC attempts started, including those that have not completed.")
                .build(),
            client_attempt_duration: latency(
                "grpc.client.attempt.duration",
                "End-to-end time taken to complete an RPC attempt.",
            ),
            client_attempt_sent: size(
                "grpc.client.attempt.sent_total_compressed_message_size",
                "Compressed bytes sent across all request messages of an RPC attempt.",
            ),
            client_attempt_rcvd: size(
                "grpc.client.attempt.rcvd_total_compressed_message_size",
                "Compressed bytes received across all response messages of an RPC attempt.",
            ),
            client_call_duration: latency(
                "grpc.client.call.duration",
                "Time taken to complete an RPC, from the application's perspective.",
            ),
            server_call_started: meter
                .u64_counter("grpc.server.call.started")
                .with_unit("{call}")
                .with_description("The number of RPCs started, including those that have not completed.")
                .build(),
            server_call_duration: latency("grpc.server.call.duration", "End-to-end time taken to complete an RPC."),
            server_call_sent: size(
                "grpc.server.call.sent_total_compressed_message_size",
                "Compressed bytes sent across all response messages of an RPC.",
            ),
            server_call_rcvd: size(
                "grpc.server.call.rcvd_total_compressed_message_size",
                "Compressed bytes received across all request messages of an RPC.",
            ),
        }
    }
}

fn method_attribute(path: &str) -> KeyValue {
    KeyValue::new("grpc.method", full_method(path).to_owned())
}

/// A server call's method as A66 records it: `other` for a method the server did not register
/// (a fallback handler's call), so clients cannot grow the metrics with made-up paths.
fn server_method_attribute(context: &ServicerContext) -> KeyValue {
    if context.extension::<Unregistered>().is_some() {
        return KeyValue::new("grpc.method", "other");
    }
    method_attribute(context.method())
}

fn status_attribute(outcome: &CallOutcome<'_>) -> KeyValue {
    KeyValue::new("grpc.status", outcome.code().as_str())
}

impl ServerInterceptor for Metrics {
    fn intercept(&self, context: &ServicerContext) -> impl Future<Output = Result<()>> + Send {
        self.server_call_started.add(1, &[server_method_attribute(context)]);
        std::future::ready(Ok(()))
    }

    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        let attributes = [server_method_attribute(context), status_attribute(outcome)];
        self.server_call_duration.record(outcome.duration().as_secs_f64(), &attributes);
        self.server_call_sent.record(outcome.sent_message_bytes(), &attributes);
        self.server_call_rcvd.record(outcome.received_message_bytes(), &attributes);
    }
}

impl ClientInterceptor for Metrics {
    fn intercept(&self, call: &mut ClientCall<'_>) -> impl Future<Output = Result<()>> + Send {
        let attributes = [method_attribute(call.method()), KeyValue::new("grpc.target", call.target().to_owned())];
        self.client_attempt_started.add(1, &attributes);
        std::future::ready(Ok(()))
    }

    fn completed(&self, method: &str, outcome: &CallOutcome<'_>) {
        let attributes = [
            method_attribute(method),
            KeyValue::new("grpc.target", outcome.target.to_owned()),
            status_attribute(outcome),
        ];
        let seconds = outcome.duration().as_secs_f64();
        self.client_attempt_duration.record(seconds, &attributes);
        self.client_call_duration.record(seconds, &attributes);
        self.client_attempt_sent.record(outcome.sent_message_bytes(), &attributes);
        self.client_attempt_rcvd.record(outcome.received_message_bytes(), &attributes);
    }
}
