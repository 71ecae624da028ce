//! `ServicerContext`: what a handler knows about its call, and what it can set on the response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::{Compression, Metadata};

/// The context of one call on the server, handed to every servicer method (Python's
/// `grpc.ServicerContext`).
///
/// It tells the handler who called (peer address, metadata), the deadline, and whether the call
/// was cancelled; and lets it set the response's initial and trailing metadata and compression.
/// Clones share the call, so a clone can go into a spawned task.
///
/// ```
/// # use rust_rpc::{ServicerContext, Metadata};
/// fn tag_response(context: &ServicerContext) -> Result<(), rust_rpc::MetadataError> {
///     let mut trailers = Metadata::new();
///     trailers.insert("x-served-by", "replica-1")?;
///     context.set_trailing_metadata(trailers);
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct ServicerContext {
    inner: Arc<Inner>,
}

struct Inner {
    method: String,
    metadata: Metadata,
    peer: Option<SocketAddr>,
    deadline: Option<Instant>,
    request_compression: Option<Compression>,
    cancelled: CancellationToken,
    response: Mutex<ResponseState>,
    /// The server's concurrent-RPC slot, released when the last clone of the context is gone.
    _permit: Option<OwnedSemaphorePermit>,
}

#[derive(Default)]
struct ResponseState {
    initial: Metadata,
    trailing: Metadata,
    compression: Option<Compression>,
}

impl ServicerContext {
    pub(crate) fn new(
        method: String,
        metadata: Metadata,
        peer: Option<SocketAddr>,
        deadline: Option<Instant>,
        request_compression: Option<Compression>,
        default_compression: Option<Compression>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Self {
        ServicerContext {
            inner: Arc::new(Inner {
                method,
                metadata,
                peer,
                deadline,
                request_compression,
                cancelled: CancellationToken::new(),
                response: Mutex::new(ResponseState { compression: default_compression, ..ResponseState::default() }),
                _permit: permit,
            }),
        }
    }

    fn response(&self) -> std::sync::MutexGuard<'_, ResponseState> {
        self.inner.response.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The full method path, `/package.Service/Method`.
    pub fn method(&self) -> &str {
        &self.inner.method
    }

    /// The metadata the client sent.
    pub fn invocation_metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// The client's address, when the transport has one (TCP, not Unix sockets).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer
    }

    /// The client's address in gRPC's form: `ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`, or
    /// `unix:` for Unix sockets.
    pub fn peer(&self) -> String {
        match self.inner.peer {
            Some(SocketAddr::V4(a)) => format!("ipv4:{a}"),
            Some(SocketAddr::V6(a)) => format!("ipv6:{a}"),
            None => "unix:".to_owned(),
        }
    }

    /// When the call's deadline passes, if the client set one (`grpc-timeout`).
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// The compression the client declared for its messages (`grpc-encoding`), if any.
    pub fn request_compression(&self) -> Option<Compression> {
        self.inner.request_compression
    }

    /// The time left before the deadline; `None` without a deadline.
    pub fn time_remaining(&self) -> Option<Duration> {
        self.inner.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the call is over for the handler: the client cancelled, the deadline passed, or
    /// the server stopped. The handler's future is dropped at that point too; this is for work
    /// the handler spawned elsewhere.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.is_cancelled()
    }

    /// Resolves when [`is_cancelled`](Self::is_cancelled) becomes true.
    pub async fn cancelled(&self) {
        self.inner.cancelled.cancelled().await
    }

    /// Adds metadata to the response headers. Takes effect if set before the handler returns
    /// (unary and client-streaming) or returns its response stream (streaming).
    pub fn set_initial_metadata(&self, metadata: Metadata) {
        self.response().initial.extend(metadata);
    }

    /// Adds metadata to the trailers sent with the final status, OK or not.
    pub fn set_trailing_metadata(&self, metadata: Metadata) {
        self.response().trailing.extend(metadata);
    }

    /// Compresses the response messages with `compression` if the client accepts it.
    pub fn set_compression(&self, compression: Option<Compression>) {
        self.response().compression = compression;
    }

    pub(crate) fn cancel_token(&self) -> &CancellationToken {
        &self.inner.cancelled
    }

    pub(crate) fn take_initial_metadata(&self) -> Metadata {
        std::mem::take(&mut self.response().initial)
    }

    pub(crate) fn take_trailing_metadata(&self) -> Metadata {
        std::mem::take(&mut self.response().trailing)
    }

    pub(crate) fn compression(&self) -> Option<Compression> {
        self.response().compression
    }
}

impl std::fmt::Debug for ServicerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicerContext")
            .field("method", &self.inner.method)
            .field("peer", &self.peer())
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}
