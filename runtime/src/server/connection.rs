//! Serving one connection with hyper's HTTP/2 server: its settings, routing each request, and
//! the stages of its end (GOAWAY when the server drains or the connection is due to go for its
//! age or idleness, `lifetime.rs`; a last flush when the server's grace ends, a close when the
//! connection's own grace does).

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};

use crate::server::builder::ServerBuilder;
use crate::server::guard::Guarded;
use crate::server::inline::{RunStreams, Streams};
use crate::server::lifetime;
use crate::server::peer::Peer;
use crate::server::router::Router;
use crate::server::stop::Shutdown;
use crate::transport::coalesce::OpenCalls;
use crate::transport::io::IoStream;

/// How long a stopping server keeps driving a connection after grace, for the calls' final
/// UNAVAILABLE statuses to go out. A status may wait behind a stream's queued data (up to its
/// flow-control window) that the client has yet to read; 100 ms proved too short for that on a
/// loaded machine.
pub(crate) const FINAL_FLUSH: Duration = Duration::from_secs(1);

/// The stages of a connection's end, for a pinned hyper connection (HTTP/2, or gRPC-Web's
/// HTTP/1.1, where a GOAWAY is a close after the current request): the GOAWAY when the server
/// drains or `lifetime` (`Option<&GoawayDue>`) says the connection is due one; then, after a
/// stop's grace, a last flush of the calls' statuses; or, after the connection's own grace, a
/// close.
macro_rules! stages {
    ($connection:ident, $shutdown:ident, $lifetime:expr) => {{
        let lifetime: Option<&$crate::server::lifetime::GoawayDue> = $lifetime;
        // When the connection's own grace ends, once it is due to go.
        let mut grace_end = None;
        match lifetime {
            // A select of its own: with a third, disabled branch, every poll of the connection
            // cost a server about 100 instructions per ping-pong round trip (BENCHMARKS.md).
            None => tokio::select! {
                _ = $connection.as_mut() => return,
                _ = $shutdown.draining.cancelled() => {}
            },
            Some(lifetime) => tokio::select! {
                _ = $connection.as_mut() => return,
                _ = $shutdown.draining.cancelled() => {}
                _ = lifetime.due() => {
                    let now = tokio::time::Instant::now();
                    grace_end = lifetime.grace().and_then(|grace| now.checked_add(grace));
                    // The first GOAWAY now, h2's graceful shutdown a little later (`HEADS_UP`).
                    lifetime.heads_up();
                    tokio::select! {
                        _ = $connection.as_mut() => return,
                        _ = $shutdown.draining.cancelled() => {}
                        _ = $crate::server::connection::until(grace_end) => return,
                        _ = tokio::time::sleep($crate::server::lifetime::HEADS_UP) => {}
                    }
                }
            },
        }
        // HTTP/2's graceful GOAWAY: one naming the last possible stream, a PING, and once it
        // is answered the GOAWAY naming the last stream taken; the connection ends when its
        // calls do.
        $connection.as_mut().graceful_shutdown();
        tokio::select! {
            _ = $connection.as_mut() => return,
            _ = $shutdown.stopped.stopped() => {}
            // `max_connection_age_grace` is over: the connection closes under its calls
            // (grpc-go does the same), which their clients see as UNAVAILABLE.
            _ = $crate::server::connection::until(grace_end) => return,
        }
        // The server's grace is over: every call on the connection now ends with UNAVAILABLE
        // (its handler is dropped, its response body stops). Drive the connection a little
        // longer so those statuses reach the clients, instead of cutting the socket under
        // them, but not for long: a client that stopped reading must not hold the stop up for
        // more than a second.
        let _ = tokio::time::timeout($crate::server::connection::FINAL_FLUSH, $connection.as_mut()).await;
    }};
}
#[cfg(feature = "grpc-web")] // `web/connection.rs`'s; this file's uses need no import
pub(crate) use stages;

/// hyper's HTTP/2 server with the server's settings and limits (`limits.rs`), handing its
/// calls to `streams`: the connection's future must be driven by [`RunStreams`] with them.
pub(crate) fn http2_builder(config: &ServerBuilder, streams: Streams) -> hyper::server::conn::http2::Builder<Streams> {
    let limits = &config.limits;
    let mut builder = hyper::server::conn::http2::Builder::new(streams);
    builder
        .timer(TokioTimer::new())
        // gRPC has no use for a `date` header (grpc-go and grpc-java send none); hyper's
        // adds a header to every response and a clock read and format each second.
        .auto_date_header(false)
        .initial_stream_window_size(config.http2.stream_window)
        .initial_connection_window_size(config.http2.connection_window)
        .max_header_list_size(limits.max_header_list_size)
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_pending_accept_reset_streams(limits.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(limits.max_local_error_reset_streams);
    if let Some((interval, timeout)) = config.http2.keepalive() {
        builder.keep_alive_interval(interval).keep_alive_timeout(timeout);
    }
    builder
}

/// Serves one connection; `calls` counts its calls from their request to their response's
/// headers (so the connection task knows when there is something to batch). The client's first
/// frame must arrive by `handshake_deadline`.
pub(crate) async fn serve(
    io: Box<dyn IoStream>,
    handshake_deadline: tokio::time::Instant,
    peer: Peer,
    router: Arc<Router>,
    calls: OpenCalls,
    config: &ServerBuilder,
    shutdown: &Shutdown,
) {
    // Age and idleness (gRFC A9), only on a server that limits them: others run no timer.
    let (timers, activity) = lifetime::watch(config.limits.lifetime);
    // The handshake deadline and keepalive enforcement, which hyper does not do (guard.rs).
    // Boxed as the bare stream was, so h2 and hyper run the same code over it as without.
    let io: Box<dyn IoStream> =
        Box::new(Guarded::new(io, handshake_deadline, config.limits.keepalive_policy, activity));
    let streams = Streams::default();
    let builder = http2_builder(config, streams.clone());
    let service = hyper::service::service_fn(move |request| {
        let open = calls.open();
        let response = router.route(request, &peer);
        async move {
            let response = response.await;
            drop(open);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    // Calls that answer at once are answered in this task (`inline.rs`).
    RunStreams::new(
        async move {
            // Made in here: made outside and moved in, hyper's connection (over a kilobyte)
            // took its place in this future twice, the captured one and the pinned one.
            let connection = builder.serve_connection(TokioIo::new(io), service);
            tokio::pin!(connection);
            stages!(connection, shutdown, timers.as_ref());
        },
        streams,
        config.inline_call_limit,
    )
    .await;
}

/// Resolves at `deadline`; never without one.
pub(crate) async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
