//! `ServicerContext`: what a handler knows about its call, and what it can set on the response.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit};

use crate::server::peer::Peer;
use crate::{AuthContext, Compression, Metadata};

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
    method: Arc<str>,
    /// The request headers, until [`ServicerContext::invocation_metadata`] first needs them.
    headers: Mutex<Option<http::HeaderMap>>,
    /// The request headers without the protocol's own, made on first use: most handlers never
    /// look, and stripping six headers per call cost more than the rest of routing.
    metadata: OnceLock<Metadata>,
    peer: Peer,
    deadline: Option<Instant>,
    request_compression: Option<Compression>,
    /// Set once when the call is over for the handler; `cancel_notify` wakes the waiters. Kept in
    /// the context's own allocation instead of a `CancellationToken`, which is one more
    /// allocation and several lock round trips per call.
    cancelled: AtomicBool,
    cancel_notify: Notify,
    /// Set (before `cancelled`) when the call ended by finishing, not by being cancelled.
    finished: AtomicBool,
    /// A callback was added: the end takes the lock to run them only then.
    has_callbacks: AtomicBool,
    /// Set by [`ServicerContext::disable_next_message_compression`], cleared by the message it
    /// applies to.
    next_uncompressed: AtomicBool,
    response: Mutex<ResponseState>,
    /// The server's concurrent-RPC slot, released when the last clone of the context is gone.
    _permit: Option<OwnedSemaphorePermit>,
    /// The call's `tracing` span, from the interceptor that opened it to the call's end; the
    /// handler and the response stream run in it (`dispatch.rs`, `stream_body.rs`).
    #[cfg(feature = "tracing")]
    span: Mutex<Option<tracing::Span>>,
}

#[derive(Default)]
struct ResponseState {
    initial: Metadata,
    /// The response headers, and so the initial metadata, have been made: later initial
    /// metadata would not be sent.
    initial_sent: bool,
    trailing: Metadata,
    compression: Option<Compression>,
    /// Values interceptors attach for the handler (empty, and unallocated, on most calls).
    extensions: http::Extensions,
}

/// What [`ServicerContext::add_callback`] added, run once when the call ends; kept in the
/// extensions, which allocate only when used, so contexts without callbacks stay their size.
#[derive(Clone, Default)]
struct Callbacks(Arc<Mutex<Vec<Callback>>>);

/// A callback of [`ServicerContext::add_callback`]; told whether the call was cancelled.
type Callback = Box<dyn FnOnce(bool) + Send>;

impl Callbacks {
    fn take(&self) -> Vec<Callback> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ServicerContext {
    pub(crate) fn new(
        method: Arc<str>,
        headers: http::HeaderMap,
        peer: Peer,
        deadline: Option<Instant>,
        request_compression: Option<Compression>,
        default_compression: Option<Compression>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Self {
        ServicerContext {
            inner: Arc::new(Inner {
                method,
                headers: Mutex::new(Some(headers)),
                metadata: OnceLock::new(),
                peer,
                deadline,
                request_compression,
                cancelled: AtomicBool::new(false),
                cancel_notify: Notify::new(),
                finished: AtomicBool::new(false),
                has_callbacks: AtomicBool::new(false),
                next_uncompressed: AtomicBool::new(false),
                response: Mutex::new(ResponseState { compression: default_compression, ..ResponseState::default() }),
                _permit: permit,
                #[cfg(feature = "tracing")]
                span: Mutex::new(None),
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
        self.inner.metadata.get_or_init(|| {
            let taken = self.inner.headers.lock().unwrap_or_else(|p| p.into_inner()).take();
            Metadata::from_received_headers(taken.unwrap_or_default())
        })
    }

    /// The client's address, when the transport has one (TCP, not Unix sockets).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer.addr
    }

    /// The client's TLS identity (certificate chain, whether it was verified, the names in
    /// it), for mTLS authorization; `None` on a plaintext port. See [`AuthContext`].
    pub fn auth_context(&self) -> Option<&AuthContext> {
        self.inner.peer.auth.as_deref()
    }

    /// The client's address in gRPC's form: `ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`, or
    /// `unix:` for Unix sockets.
    pub fn peer(&self) -> String {
        match self.inner.peer.addr {
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

    /// Whether the call is still going on (Python's `is_active()`): false once it has ended,
    /// finished or cancelled.
    pub fn is_active(&self) -> bool {
        !self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Whether the call was cancelled: the client cancelled it (or went away), the deadline
    /// passed, or the server stopped. The handler's future is dropped at that point too; this is
    /// for work the handler spawned elsewhere. False for a call that finished, with OK or an
    /// error of the handler's own; [`is_active`](Self::is_active) tells whether it has ended.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire) && !self.inner.finished.load(Ordering::Acquire)
    }

    /// Resolves when the call ends, cancelled or finished ([`is_active`](Self::is_active)
    /// turns false); [`is_cancelled`](Self::is_cancelled) then says which.
    pub async fn cancelled(&self) {
        let notified = self.inner.cancel_notify.notified();
        // Registered before the check: `cancel` sets the flag, then wakes every `Notified`
        // made before it, so a cancel between the check and the await is not missed.
        if !self.is_active() {
            return;
        }
        notified.await
    }

    /// Runs `callback` once when the call ends (Python's `add_callback`), with `true` if it
    /// was cancelled (see [`is_cancelled`](Self::is_cancelled)) and `false` if it finished.
    /// Returns `false`, without keeping the callback, when the call has ended already.
    ///
    /// Callbacks run on the thread that ends the call, in the order they were added: keep them
    /// short (release a resource, count, log). A callback that panics is stopped there; the
    /// others still run.
    ///
    /// ```
    /// # fn demo(context: &rust_rpc::ServicerContext) {
    /// let method = context.method().to_owned();
    /// context.add_callback(move |cancelled| {
    ///     if cancelled {
    ///         eprintln!("{method}: cancelled");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn add_callback(&self, callback: impl FnOnce(bool) + Send + 'static) -> bool {
        let mut response = self.response();
        // Announced before the check, both SeqCst, against `end`'s swap then load: either
        // `end` sees the flag (and takes the lock, after this push), or this sees the end.
        self.inner.has_callbacks.store(true, Ordering::SeqCst);
        if self.inner.cancelled.load(Ordering::SeqCst) {
            return false;
        }
        let callbacks = match response.extensions.get::<Callbacks>() {
            Some(callbacks) => callbacks.clone(),
            None => {
                let callbacks = Callbacks::default();
                response.extensions.insert(callbacks.clone());
                callbacks
            }
        };
        callbacks.0.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(callback));
        true
    }

    /// Adds metadata to the response headers. Takes effect if set before the handler returns
    /// (unary and client-streaming) or returns its response stream (streaming); later, it is
    /// not sent ([`send_initial_metadata`](Self::send_initial_metadata) says so with an error).
    pub fn set_initial_metadata(&self, metadata: Metadata) {
        self.response().initial.extend(metadata);
    }

    /// Sends `metadata` as initial metadata, in the response headers (Python's
    /// `send_initial_metadata`), or fails with FAILED_PRECONDITION when the
    /// headers are already on their way: nothing set after that point would reach the client.
    ///
    /// The headers go out as soon as the handler returns: for a streaming response, when it
    /// returns its [`ResponseStream`](crate::ResponseStream), before the first message, however
    /// long the stream takes to produce it. So initial metadata for a stream is sent by calling
    /// this before returning the stream; a producer task that calls it later gets the error.
    ///
    /// ```
    /// # use rust_rpc::{Metadata, ResponseStream, Result, ServicerContext};
    /// fn start_stream(context: &ServicerContext) -> Result<ResponseStream<u32>> {
    ///     let mut initial = Metadata::new();
    ///     initial.insert("x-shard", "7")?;
    ///     context.send_initial_metadata(initial)?; // goes out before the first message
    ///     let (sender, stream) = ResponseStream::channel(8);
    ///     // ... a task sends the messages through `sender`
    ///     # drop(sender);
    ///     Ok(stream)
    /// }
    /// ```
    pub fn send_initial_metadata(&self, metadata: Metadata) -> crate::Result<()> {
        let mut response = self.response();
        if response.initial_sent {
            return Err(crate::RpcError::failed_precondition(
                "initial metadata was already sent (the handler had returned): send it before returning the response",
            ));
        }
        response.initial.extend(metadata);
        Ok(())
    }

    /// Adds metadata to the trailers sent with the final status, OK or not.
    pub fn set_trailing_metadata(&self, metadata: Metadata) {
        self.response().trailing.extend(metadata);
    }

    /// Attaches `value` to the call, for the handler and later interceptors to read with
    /// [`extension`](Self::extension): how an interceptor hands on what it learned (the caller's
    /// identity, a request id). A second value of the same type replaces the first.
    ///
    /// ```
    /// # fn demo(context: &rust_rpc::ServicerContext) {
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct User(String);
    /// context.insert_extension(User("ada".into()));
    /// assert_eq!(context.extension::<User>(), Some(User("ada".into())));
    /// # }
    /// ```
    pub fn insert_extension<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.response().extensions.insert(value);
    }

    /// The value of type `T` attached with [`insert_extension`](Self::insert_extension), if any.
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.response().extensions.get::<T>().cloned()
    }

    /// Makes `span` the call's span: the handler and the response stream run in it.
    #[cfg(feature = "tracing")]
    pub(crate) fn set_call_span(&self, span: tracing::Span) {
        *self.inner.span.lock().unwrap_or_else(|p| p.into_inner()) = Some(span);
    }

    /// The call's span, if one was set.
    #[cfg(feature = "tracing")]
    pub(crate) fn call_span(&self) -> Option<tracing::Span> {
        self.inner.span.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the call's span, to close it when the call ends.
    #[cfg(feature = "tracing")]
    pub(crate) fn take_call_span(&self) -> Option<tracing::Span> {
        self.inner.span.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Compresses the response messages with `compression` if the client accepts it.
    pub fn set_compression(&self, compression: Option<Compression>) {
        self.response().compression = compression;
    }

    /// Sends the next response message uncompressed, though the call compresses its
    /// responses (Python's `disable_next_message_compression`); the messages after it are
    /// compressed again. Without compression on the call it changes nothing.
    ///
    /// "Next" is the next message the server takes from the handler's [`ResponseStream`]
    /// after this call: in a stream that yields as it goes (`async_stream`, `unfold`), the
    /// message yielded next. Through [`ResponseStream::channel`], call it before sending the
    /// message, with no other message still queued in the channel.
    ///
    /// ```
    /// use rust_rpc::stream::StreamExt;
    /// use rust_rpc::{Compression, ResponseStream, Result, ServicerContext};
    ///
    /// /// Zero-filled messages of the given sizes, compressed only where asked.
    /// fn responses(sizes: Vec<(usize, bool)>, context: ServicerContext) -> Result<ResponseStream<Vec<u8>>> {
    ///     context.set_compression(Some(Compression::Gzip));
    ///     let stream = rust_rpc::stream::iter(sizes).map(move |(size, compress)| {
    ///         if !compress {
    ///             context.disable_next_message_compression();
    ///         }
    ///         Ok(vec![0u8; size])
    ///     });
    ///     Ok(ResponseStream::new(stream))
    /// }
    /// ```
    ///
    /// [`ResponseStream`]: crate::ResponseStream
    /// [`ResponseStream::channel`]: crate::ResponseStream::channel
    pub fn disable_next_message_compression(&self) {
        self.inner.next_uncompressed.store(true, Ordering::Release);
    }

    /// Whether the message being sent goes uncompressed (see
    /// [`disable_next_message_compression`](Self::disable_next_message_compression)); clears
    /// the request.
    #[inline]
    pub(crate) fn take_next_uncompressed(&self) -> bool {
        self.inner.next_uncompressed.load(Ordering::Relaxed)
            && self.inner.next_uncompressed.swap(false, Ordering::AcqRel)
    }

    /// Ends the call for the handler, cancelled or finished: [`is_active`](Self::is_active)
    /// turns false, [`cancelled`](Self::cancelled) resolves and the callbacks run. Only the
    /// first end counts.
    pub(crate) fn end(&self, cancelled: bool) {
        if !self.is_active() {
            return;
        }
        if !cancelled {
            self.inner.finished.store(true, Ordering::Release);
        }
        if !self.inner.cancelled.swap(true, Ordering::SeqCst) {
            self.inner.cancel_notify.notify_waiters();
            if !self.inner.has_callbacks.load(Ordering::SeqCst) {
                // Most calls: no lock taken (see `add_callback` for why none is missed).
                return;
            }
            // Taken after the flag is set: `add_callback` checks it under the same lock.
            let callbacks = self.response().extensions.remove::<Callbacks>().map(|c| c.take()).unwrap_or_default();
            for callback in callbacks {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(cancelled)));
            }
        }
    }

    /// Cancels the call when dropped, unless the call was cancelled already.
    pub(crate) fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }

    pub(crate) fn take_initial_metadata(&self) -> Metadata {
        let mut response = self.response();
        response.initial_sent = true;
        std::mem::take(&mut response.initial)
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

/// Ends its call when dropped, as cancelled unless [`CancelOnDrop::end`] said otherwise first:
/// when the call ends, or when hyper drops the call's future because the client reset the
/// stream.
pub(crate) struct CancelOnDrop(ServicerContext);

impl CancelOnDrop {
    /// The call's context.
    pub(crate) fn context(&self) -> &ServicerContext {
        &self.0
    }

    /// Ends the call now: `cancelled` by the deadline or the server's stop, or finished.
    pub(crate) fn end(self, cancelled: bool) {
        self.0.end(cancelled);
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.end(true);
    }
}
