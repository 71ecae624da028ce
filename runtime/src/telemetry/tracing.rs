//! `Tracing`: a `tracing` span per call, on either side, with OpenTelemetry's RPC fields.

use std::future::Future;

use tracing::field::Empty;

use crate::outcome::CallOutcome;
use crate::telemetry::{full_method, service_and_method};
use crate::{ClientCall, ClientInterceptor, Code, Result, ServerInterceptor, ServicerContext};

/// A `tracing` span per call, as an interceptor on a server or a channel.
///
/// Each call gets one span at INFO, `grpc.server` or `grpc.client`, with the fields of
/// OpenTelemetry's RPC semantic conventions: `otel.name` (`package.Service/Method`, the span's
/// name once exported through `tracing-opentelemetry`; a `tracing` span's own name is fixed at
/// compile time), `otel.kind` (`server` or `client`), `rpc.system` (`grpc`), `rpc.service`,
/// `rpc.method`; the peer, `network.peer.address` and `network.peer.port` on the server,
/// `server.address` and `server.port` (from the channel's target) on the client; and at the
/// end `rpc.grpc.status_code` (the numeric code), `otel.status_code = "ERROR"` when the call
/// failed (on the client any status but OK; on the server only UNKNOWN, DEADLINE_EXCEEDED,
/// UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS, which are the server's own failures),
/// `otel.status_description` with the error's message then, and `duration_ms`.
///
/// On the server the handler, its reading of the request stream and its response stream run
/// inside the span, so what the handler logs nests under the call. On the client the span is
/// opened when the interceptor runs (as a child of the caller's current span) and closed when
/// the call's outcome is known. Put `Tracing` first among the interceptors so the others'
/// work falls inside its call's duration.
///
/// With the `opentelemetry` feature, [`propagate_context`](Self::propagate_context) carries the
/// trace across calls in metadata: the client writes its span's context into the request, and
/// the server makes the context it finds there its span's parent. That goes through
/// OpenTelemetry's *global* text-map propagator, which the application sets (as with every
/// OpenTelemetry instrumentation): for W3C Trace Context (`traceparent`, `tracestate`),
/// `opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new())`.
/// Until one is set the global propagator is a no-op and nothing is carried. The span's
/// OpenTelemetry context exists only under a `tracing_opentelemetry` layer.
///
/// ```
/// use rust_rpc::telemetry::Tracing;
///
/// let server = rust_rpc::Server::builder().interceptor(Tracing::new()).build();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tracing {
    #[cfg(feature = "opentelemetry")]
    propagate: bool,
}

impl Tracing {
    /// Spans without context propagation.
    pub fn new() -> Self {
        Tracing::default()
    }

    /// Carries trace context in the calls' metadata (off by default): the client sends its
    /// span's, the server continues the trace it receives. See the type's documentation for
    /// the propagator it uses.
    #[cfg(feature = "opentelemetry")]
    pub fn propagate_context(mut self, propagate: bool) -> Self {
        self.propagate = propagate;
        self
    }
}

/// Whether a status is a failure of the span's side, as OpenTelemetry's gRPC conventions
/// count them: any non-OK status on the client; on the server only the codes that mean the
/// server failed (the others are the client's doing, or normal answers).
fn failed(code: Code, server: bool) -> bool {
    if !server {
        return code != Code::Ok;
    }
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// Records how the call ended on its span.
fn end(span: &tracing::Span, outcome: &CallOutcome<'_>, server: bool) {
    let code = outcome.code();
    span.record("rpc.grpc.status_code", code.as_i32());
    span.record("duration_ms", outcome.duration().as_secs_f64() * 1000.0);
    if failed(code, server) {
        span.record("otel.status_code", "ERROR");
        if let Some(error) = outcome.error() {
            span.record("otel.status_description", error.details());
        }
    }
}

impl ServerInterceptor for Tracing {
    fn intercept(&self, context: &ServicerContext) -> impl Future<Output = Result<()>> + Send {
        let path = context.method();
        let (service, method) = service_and_method(path);
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = full_method(path),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            network.peer.address = Empty,
            network.peer.port = Empty,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
            duration_ms = Empty,
        );
        if let Some(addr) = context.peer_addr() {
            span.record("network.peer.address", tracing::field::display(addr.ip()));
            span.record("network.peer.port", addr.port());
        }
        #[cfg(feature = "opentelemetry")]
        if self.propagate {
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            // Fails only without an OpenTelemetry layer, where there is no trace to join.
            let _ = span.set_parent(crate::telemetry::propagation::extract(context.invocation_metadata()));
        }
        context.set_call_span(span);
        std::future::ready(Ok(()))
    }

    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        if let Some(span) = context.take_call_span() {
            end(&span, outcome, true);
        }
    }
}

/// The host and port of a channel's target (`dns:///host:port`, `ipv4:a.b.c.d:port`, ...);
/// a Unix socket's path and no port.
fn host_and_port(target: &str) -> (&str, Option<u16>) {
    let rest = ["dns:///", "dns:", "ipv4:", "ipv6:", "http://", "https://"]
        .iter()
        .find_map(|prefix| target.strip_prefix(prefix))
        .unwrap_or(target)
        .trim_end_matches('/');
    if rest.starts_with("unix:") {
        return (rest.trim_start_matches("unix:").trim_start_matches("//"), None);
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (!host.contains(':') || host.ends_with(']')) => {
            (host.trim_start_matches('[').trim_end_matches(']'), port.parse().ok())
        }
        _ => (rest, None),
    }
}

impl ClientInterceptor for Tracing {
    fn intercept(&self, call: &mut ClientCall<'_>) -> impl Future<Output = Result<()>> + Send {
        let path = call.method();
        let (service, method) = service_and_method(path);
        let (host, port) = host_and_port(call.target());
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = full_method(path),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            server.address = host,
            server.port = port,
            rpc.grpc.status_code = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
            duration_ms = Empty,
        );
        #[cfg(feature = "opentelemetry")]
        if self.propagate {
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            crate::telemetry::propagation::inject(&span.context(), call.metadata_mut());
        }
        *call.tally.span.lock().unwrap_or_else(|p| p.into_inner()) = Some(span);
        std::future::ready(Ok(()))
    }

    fn completed(&self, _method: &str, outcome: &CallOutcome<'_>) {
        let span = outcome.tally.span.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(span) = span {
            end(&span, outcome, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_give_host_and_port() {
        assert_eq!(host_and_port("dns:///example.com:443"), ("example.com", Some(443)));
        assert_eq!(host_and_port("ipv4:127.0.0.1:50051"), ("127.0.0.1", Some(50051)));
        assert_eq!(host_and_port("ipv6:[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(host_and_port("dns:///[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(host_and_port("unix:///tmp/sock"), ("/tmp/sock", None));
        assert_eq!(host_and_port("dns:///example.com"), ("example.com", None));
    }

    #[test]
    fn server_failures_are_only_the_servers_own() {
        assert!(failed(Code::Internal, true) && failed(Code::Unavailable, true));
        assert!(!failed(Code::NotFound, true) && !failed(Code::Ok, true) && !failed(Code::Cancelled, true));
        assert!(failed(Code::NotFound, false) && !failed(Code::Ok, false));
    }
}
