//! Tracing and metrics for calls on both sides, as interceptors: [`Tracing`] (cargo feature
//! `tracing`) opens a `tracing` span per call, named and filled in as OpenTelemetry's RPC
//! semantic conventions say, and can carry W3C trace context across (feature `opentelemetry`);
//! [`Metrics`] (feature `opentelemetry`) records gRPC's OpenTelemetry metrics (gRFC A66).
//!
//! Register either with [`ServerBuilder::interceptor`](crate::ServerBuilder::interceptor) or
//! [`ChannelBuilder::interceptor`](crate::ChannelBuilder::interceptor); each type implements
//! both interceptor traits. Without them (or without the features) calls do none of this work.
//!
//! ```
//! use rust_rpc::telemetry::Tracing;
//!
//! let server = rust_rpc::Server::builder().interceptor(Tracing::new()).build();
//! let channel = rust_rpc::ChannelBuilder::new("localhost:50051").interceptor(Tracing::new()).build()?;
//! # Ok::<(), rust_rpc::Error>(())
//! ```

#[cfg(feature = "opentelemetry")]
mod metrics;
#[cfg(feature = "opentelemetry")]
mod propagation;
mod tracing;

#[cfg(feature = "opentelemetry")]
pub use metrics::Metrics;
pub use tracing::Tracing;

/// `/package.Service/Method` as `package.Service/Method`: how OpenTelemetry names the call's
/// span, and A66 its `grpc.method`.
fn full_method(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The service (`package.Service`) and method (`Method`) of a path.
fn service_and_method(path: &str) -> (&str, &str) {
    full_method(path).rsplit_once('/').unwrap_or(("", full_method(path)))
}
