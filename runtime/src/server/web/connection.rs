//! Serving one connection of a server with gRPC-Web on: HTTP/1.1 or HTTP/2 (hyper-util reads
//! the HTTP/2 preface to tell), each request sorted into plain gRPC, a CORS preflight or a
//! gRPC-Web call, and the same stages of a stop as `server/connection.rs`.

use std::convert::Infallible;
use std::sync::Arc;

use http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use crate::server::builder::ServerBuilder;
use crate::server::connection::FINAL_FLUSH;
use crate::server::peer::Peer;
use crate::server::response::{Body, plain_http};
use crate::server::router::Router;
use crate::server::service::BoxFuture;
use crate::server::stop::Shutdown;
use crate::server::web::GrpcWeb;
use crate::server::web::call::{WebCalls, call};
use crate::server::web::codec::ContentType;
use crate::server::web::loopback::Loopback;
use crate::transport::coalesce::OpenCalls;
use crate::transport::http2::MAX_HEADER_LIST_SIZE;
use crate::transport::io::IoStream;
use crate::wire::frame::HEADER_LEN;

/// Serves one connection, as `server/connection.rs::serve` does, with gRPC-Web besides gRPC.
pub(crate) async fn serve(
    io: Box<dyn IoStream>,
    peer: Peer,
    router: Arc<Router>,
    calls: OpenCalls,
    config: Arc<ServerBuilder>,
    shutdown: Shutdown,
    web: &GrpcWeb,
) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).auto_date_header(false);
    // HTTP/2 as on any server (`server/connection.rs`).
    let mut http2 = builder.http2();
    http2
        .timer(TokioTimer::new())
        .auto_date_header(false)
        .initial_stream_window_size(config.http2.stream_window)
        .initial_connection_window_size(config.http2.connection_window)
        .max_header_list_size(MAX_HEADER_LIST_SIZE);
    if let Some(streams) = config.max_concurrent_streams {
        http2.max_concurrent_streams(streams);
    }
    if let Some((interval, timeout)) = config.http2.keepalive() {
        http2.keep_alive_interval(interval).keep_alive_timeout(timeout);
    }
    let web_calls = Arc::new(WebCalls {
        loopback: Loopback::new(router.clone(), peer.clone(), config.clone(), shutdown.clone()),
        cors: web.cors.clone(),
        max_body: config.max_receive_message_length.saturating_add(HEADER_LEN),
    });
    let service = hyper::service::service_fn(move |request| {
        let open = calls.open();
        let response = route(&router, &peer, &web_calls, request);
        async move {
            let response = response.await;
            drop(open);
            Ok::<_, Infallible>(response)
        }
    });
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = shutdown.draining.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = shutdown.stopped.stopped() => {}
    }
    let _ = tokio::time::timeout(FINAL_FLUSH, connection.as_mut()).await;
}

/// Sorts a request: gRPC-Web calls, CORS preflights, plain gRPC (HTTP/2 only).
fn route(
    router: &Arc<Router>,
    peer: &Peer,
    web: &Arc<WebCalls>,
    request: http::Request<Incoming>,
) -> BoxFuture<http::Response<Body>> {
    let reply = |response| -> BoxFuture<http::Response<Body>> { Box::pin(std::future::ready(response)) };
    match ContentType::of(request.headers()) {
        ContentType::Web(encoding) => Box::pin(call(web.clone(), request, encoding)),
        ContentType::Unsupported => reply(plain_http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "gRPC-Web content types this server speaks: application/grpc-web, application/grpc-web-text, each with or without +proto\n",
        )),
        ContentType::Other if request.method() == http::Method::OPTIONS => reply(web.cors.preflight(request.headers())),
        ContentType::Other if request.version() == http::Version::HTTP_2 => router.route(request, peer),
        ContentType::Other => reply(plain_http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "over HTTP/1.1 this server speaks gRPC-Web only (content-type application/grpc-web or application/grpc-web-text); gRPC needs HTTP/2\n",
        )),
    }
}
