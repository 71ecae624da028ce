//! Serving one connection of a server with gRPC-Web on: HTTP/1.1 or HTTP/2 (told apart by the
//! HTTP/2 preface), each request sorted into plain gRPC, a CORS preflight or a
//! gRPC-Web call, and the same stages of a stop as `server/connection.rs`.

use std::convert::Infallible;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::server::builder::ServerBuilder;
use crate::server::connection::{self, stages};
use crate::server::guard::Guarded;
use crate::server::inline::{RunStreams, Streams};
use crate::server::lifetime;
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
use crate::transport::io::IoStream;
use crate::wire::frame::HEADER_LEN;

/// The first bytes of every HTTP/2 connection (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves one connection, as `server/connection.rs::serve` does, with gRPC-Web besides gRPC:
/// HTTP/2 when it starts with the preface, else HTTP/1.1.
#[allow(clippy::too_many_arguments)] // `connection::serve`'s, and the gRPC-Web settings
pub(crate) async fn serve(
    mut io: Box<dyn IoStream>,
    handshake_deadline: tokio::time::Instant,
    peer: Peer,
    router: Arc<Router>,
    calls: OpenCalls,
    config: Arc<ServerBuilder>,
    shutdown: Shutdown,
    web: &GrpcWeb,
) {
    // A client that sends nothing is dropped at the handshake deadline, as on any server.
    let sniffed = tokio::select! {
        sniffed = tokio::time::timeout_at(handshake_deadline, sniff(&mut io)) => sniffed,
        _ = shutdown.draining.cancelled() => return,
    };
    let Ok(Ok((http2, read))) = sniffed else { return };
    // The bytes read go first, in front of the rest. Boxed again as a `dyn IoStream`, so hyper
    // and h2 serve it with the very code (same types) that serves a server without gRPC-Web.
    let io: Box<dyn IoStream> = Box::new(Rewind { read, io });
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
    if http2 {
        // HTTP/2 as on any server (`server/connection.rs`): its settings, limits and guard.
        let (timers, activity) = lifetime::watch(config.limits.lifetime);
        let policy = config.limits.keepalive_policy;
        let io: Box<dyn IoStream> = Box::new(Guarded::new(io, handshake_deadline, policy, activity));
        let streams = Streams::default();
        let builder = connection::http2_builder(&config, streams.clone());
        let serving = async move {
            // Made in here, as in `server/connection.rs`, so it takes its place once.
            let connection = builder.serve_connection(TokioIo::new(io), service);
            tokio::pin!(connection);
            stages!(connection, shutdown, timers.as_ref());
        };
        RunStreams::new(serving, streams, config.inline_call_limit).await;
    } else {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).auto_date_header(false);
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        // HTTP/1.1 (gRPC-Web from browsers): no age or idleness (a browser's connection
        // carries one call at a time, and browsers close idle ones themselves).
        stages!(connection, shutdown, None);
    }
}

/// Reads until the connection's first bytes are, or cannot be, the HTTP/2 preface: whether they
/// are, and what was read.
async fn sniff(io: &mut Box<dyn IoStream>) -> std::io::Result<(bool, Bytes)> {
    let mut read = BytesMut::with_capacity(PREFACE.len());
    loop {
        let have = read.len().min(PREFACE.len());
        if read[..have] != PREFACE[..have] {
            return Ok((false, read.freeze()));
        }
        if have == PREFACE.len() {
            return Ok((true, read.freeze()));
        }
        if io.read_buf(&mut read).await? == 0 {
            return Ok((false, read.freeze()));
        }
    }
}

/// A byte stream whose first bytes were already read: they come first again.
struct Rewind {
    read: Bytes,
    io: Box<dyn IoStream>,
}

impl AsyncRead for Rewind {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.read.is_empty() {
            return Pin::new(&mut self.io).poll_read(cx, buf);
        }
        let n = self.read.len().min(buf.remaining());
        buf.put_slice(&self.read.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
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
