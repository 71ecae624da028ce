//! `ServerBuilder`: a server's settings. `mod.rs` builds the server from them.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::server::fallback::Fallback;
use crate::server::interceptor::{Interceptors, ServerInterceptor};
use crate::server::limits::{ConnectionLimits, KeepalivePolicy};
use crate::transport::http2::Http2Settings;
use crate::wire::limits::DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;
use crate::{Compression, RequestStream, ResponseStream, Result, ServicerContext};

/// Server settings; [`Server::new`](crate::Server::new) takes the defaults, which follow gRPC's.
///
/// ```
/// let server = rust_rpc::Server::builder()
///     .max_receive_message_length(16 * 1024 * 1024)
///     .max_concurrent_rpcs(1000)
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    pub(crate) max_receive_message_length: usize,
    pub(crate) max_send_message_length: usize,
    pub(crate) limits: ConnectionLimits,
    pub(crate) max_concurrent_rpcs: Option<usize>,
    pub(crate) http2: Http2Settings,
    pub(crate) compression: Option<Compression>,
    /// How long a call's first poll in its connection's task may take (`inline.rs`).
    pub(crate) inline_call_limit: Duration,
    pub(crate) interceptors: Interceptors,
    /// What serves methods no service has (`fallback.rs`).
    pub(crate) fallback: Option<Fallback>,
    #[cfg(feature = "tower")]
    pub(crate) layers: crate::server::layer::Layers,
    #[cfg(feature = "grpc-web")]
    pub(crate) grpc_web: Option<crate::server::web::GrpcWeb>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            max_receive_message_length: DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
            max_send_message_length: usize::MAX,
            limits: ConnectionLimits::default(),
            max_concurrent_rpcs: None,
            http2: Http2Settings::default(),
            compression: None,
            inline_call_limit: crate::server::inline::DEFAULT_LIMIT,
            interceptors: Interceptors::default(),
            fallback: None,
            #[cfg(feature = "tower")]
            layers: Default::default(),
            #[cfg(feature = "grpc-web")]
            grpc_web: None,
        }
    }
}

impl ServerBuilder {
    /// Refuses request messages larger than `bytes` with RESOURCE_EXHAUSTED (default 4 MiB). A
    /// compressed message is measured both as sent and as it decompresses.
    pub fn max_receive_message_length(mut self, bytes: usize) -> Self {
        self.max_receive_message_length = bytes;
        self
    }

    /// Fails calls whose response messages are larger than `bytes`, before any compression,
    /// with RESOURCE_EXHAUSTED (default: no limit).
    pub fn max_send_message_length(mut self, bytes: usize) -> Self {
        self.max_send_message_length = bytes;
        self
    }

    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` each connection advertises (default 200):
    /// a client queues calls beyond it, and streams it opens anyway are refused with
    /// REFUSED_STREAM (README, "Server limits", has every limit and its default).
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.limits.max_concurrent_streams = streams;
        self
    }

    /// The largest header list (request headers and metadata, as HPACK counts them: each
    /// field's name and value plus 32 bytes) a client may send: `SETTINGS_MAX_HEADER_LIST_SIZE`
    /// (default 16 KiB, gRPC core's hard limit; grpc-java's is 8 KiB, grpc-go's 16 MiB). A
    /// larger request is answered HTTP 431 and its stream reset.
    pub fn max_header_list_size(mut self, bytes: u32) -> Self {
        self.limits.max_header_list_size = bytes;
        self
    }

    /// How long a connection may take from its accept to its first HTTP/2 frame, TLS handshake
    /// included (default 20 s): a client that sends no preface (or trickles it) is
    /// disconnected then.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.limits.handshake_timeout = timeout;
        self
    }

    /// How many streams a client may open and reset before the server has accepted them,
    /// before it is told GOAWAY `ENHANCE_YOUR_CALM` (default 20, h2's): the HTTP/2 rapid-reset
    /// attack.
    pub fn max_pending_accept_reset_streams(mut self, streams: usize) -> Self {
        self.limits.max_pending_accept_reset_streams = streams;
        self
    }

    /// How many streams the server may reset for a client's protocol errors, before it tells
    /// the client GOAWAY `ENHANCE_YOUR_CALM` (default 1024, hyper's).
    pub fn max_local_error_reset_streams(mut self, streams: usize) -> Self {
        self.limits.max_local_error_reset_streams = streams;
        self
    }

    /// At most `connections` open at once across the server's ports (default: no limit). A
    /// connection over the limit is closed as soon as it is accepted, so its client fails fast
    /// with UNAVAILABLE and can go elsewhere.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = Some(connections);
        self
    }

    /// gRPC's keepalive enforcement (gRFC A8): a client's PINGs closer together than
    /// `min_time` (default 5 minutes) are strikes, as are PINGs on a connection without calls
    /// unless `permit_without_calls` (default false; then a PING every 2 hours is fine). The
    /// third strike is answered with GOAWAY `ENHANCE_YOUR_CALM` "too_many_pings" and the
    /// connection closes; gRPC clients then double their keepalive interval. A strike count
    /// starts afresh whenever the server sends headers or data.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Clients may ping every 10 s, also while they have no calls.
    /// let server = rust_rpc::Server::builder().keepalive_policy(Duration::from_secs(10), true).build();
    /// ```
    pub fn keepalive_policy(mut self, min_time: Duration, permit_without_calls: bool) -> Self {
        self.limits.keepalive_policy = KeepalivePolicy { min_time, permit_without_calls };
        self
    }

    /// Tells a connection that has had no calls for `idle` to go away (GOAWAY, gracefully:
    /// calls the client started before it read the GOAWAY are still served) and closes it
    /// (gRFC A9's `MAX_CONNECTION_IDLE`; default: never). A client reconnects when it next
    /// makes a call. A connection with a call open, however long, is never idle. Zero means
    /// never, as in grpc-go.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = rust_rpc::Server::builder().max_connection_idle(Duration::from_secs(5 * 60)).build();
    /// ```
    pub fn max_connection_idle(mut self, idle: Duration) -> Self {
        self.limits.lifetime.max_idle = Some(idle).filter(|idle| !idle.is_zero());
        self
    }

    /// Tells each connection to go away once it is `age` old, ±10% so connections made
    /// together do not all go together (gRFC A9's `MAX_CONNECTION_AGE`; default: never). The
    /// GOAWAY is HTTP/2's graceful one: the client makes its new calls on a new connection
    /// (after resolving the name again, reaching replicas added since), and the calls already
    /// on this one go on, for at most
    /// [`max_connection_age_grace`](Self::max_connection_age_grace). Zero means never, as in
    /// grpc-go.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Clients move to a new connection every 30 minutes or so; calls on the old one get
    /// // 5 more minutes to finish.
    /// let server = rust_rpc::Server::builder()
    ///     .max_connection_age(Duration::from_secs(30 * 60))
    ///     .max_connection_age_grace(Duration::from_secs(5 * 60))
    ///     .build();
    /// ```
    pub fn max_connection_age(mut self, age: Duration) -> Self {
        self.limits.lifetime.max_age = Some(age).filter(|age| !age.is_zero());
        self
    }

    /// How long the calls on a connection told to go away (by
    /// [`max_connection_age`](Self::max_connection_age) or
    /// [`max_connection_idle`](Self::max_connection_idle)) may go on before the connection is
    /// closed under them (gRFC A9's `MAX_CONNECTION_AGE_GRACE`; default: as long as they take).
    /// Clients see the calls cut off then fail with UNAVAILABLE. Zero means no limit, as in
    /// grpc-go.
    pub fn max_connection_age_grace(mut self, grace: Duration) -> Self {
        self.limits.lifetime.max_age_grace = Some(grace).filter(|grace| !grace.is_zero());
        self
    }

    /// At most `calls` RPCs in progress across the server; more fail at once with
    /// RESOURCE_EXHAUSTED (Python's `maximum_concurrent_rpcs`).
    pub fn max_concurrent_rpcs(mut self, calls: usize) -> Self {
        self.max_concurrent_rpcs = Some(calls);
        self
    }

    /// Pings each client at `interval` and closes connections that do not answer within
    /// `timeout` (default: no keepalive pings).
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.http2.keepalive_interval = Some(interval);
        self.http2.keepalive_timeout = timeout;
        self
    }

    /// The HTTP/2 flow-control windows: per stream and per connection, in bytes.
    pub fn http2_windows(mut self, stream: u32, connection: u32) -> Self {
        self.http2.stream_window = stream;
        self.http2.connection_window = connection;
        self
    }

    /// How long a call may run in its connection's task before the connection's next calls
    /// get tasks of their own (default 20 µs).
    ///
    /// Each call is first polled in the task that reads its connection, right after its
    /// request: a call that answers at once (most unary calls) then costs no task of its own,
    /// and its response goes out in the connection's next write. A call that waits becomes a
    /// task at its first wait. A first poll that took longer than `limit` is a handler that
    /// computes, which would hold up the connection's other calls: the next 63 calls of that
    /// connection go to tasks, which other worker threads can take, before one is tried in
    /// place again. `Duration::ZERO` gives every call a task of its own, as hyper does.
    ///
    /// A handler that computes for long can also hand its work to
    /// `tokio::task::spawn_blocking` (or `spawn`) and await it: from its first wait, it is a
    /// task. One that blocks its thread before its first wait (synchronous I/O,
    /// `std::thread::sleep`, `tokio::task::block_in_place`) holds up its connection's other
    /// calls for that long, once per 64 calls; such a server wants a limit of zero.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// // Handlers that read files synchronously: every call gets a task of its own.
    /// let server = rust_rpc::Server::builder().inline_call_limit(Duration::ZERO).build();
    /// ```
    pub fn inline_call_limit(mut self, limit: Duration) -> Self {
        self.inline_call_limit = limit;
        self
    }

    /// Runs `interceptor` around every call of the server, after the ones added before it (see
    /// [`ServerInterceptor`] for the order).
    pub fn interceptor(mut self, interceptor: impl ServerInterceptor) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Compresses responses with `compression` when the client accepts it, unless a handler
    /// chooses otherwise through its context.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Serves every method no service has with `handler` (a proxy's catch-all), instead of
    /// answering UNIMPLEMENTED.
    ///
    /// The handler gets the request messages as bytes and the call's [`ServicerContext`]
    /// (the method's path is [`ServicerContext::method`]; metadata, deadline and cancellation
    /// as for any call), and answers with response messages as bytes or an error. It runs
    /// under the server's interceptors, deadline and stop like a service's method.
    ///
    /// ```
    /// use rust_rpc::{ResponseStream, RpcError, Server};
    ///
    /// // Echoes every message of every unknown method back.
    /// let server = Server::builder()
    ///     .fallback(|requests, context| async move {
    ///         if context.method().starts_with("/forbidden.") {
    ///             return Err(RpcError::permission_denied("not here"));
    ///         }
    ///         Ok(ResponseStream::new(requests))
    ///     })
    ///     .build();
    /// ```
    pub fn fallback<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(RequestStream<Bytes>, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResponseStream<Bytes>>> + Send + 'static,
    {
        self.fallback = Some(Fallback::new(handler));
        self
    }

    /// Puts a tower `layer` (tower-http's, say) around the server's HTTP service, inside the
    /// layers added before it: the first added sees each request first and its response last,
    /// as in tower's `ServiceBuilder` (cargo feature `tower`).
    ///
    /// The stack is built once, when the server starts, and each request runs on a clone of it,
    /// so state a layer keeps (a `ConcurrencyLimitLayer`'s permits, say) is the whole server's.
    /// A layer sees every request before it is checked as gRPC, and answers what it likes:
    ///
    /// - a response of any body type (the body is boxed unless it is an [`HttpBody`]); headers it
    ///   adds reach the client as initial metadata;
    /// - an HTTP error of its own (tower-http's `ValidateRequestHeaderLayer::bearer` answers 401),
    ///   which gRPC clients read by gRPC's mapping (401 is UNAUTHENTICATED);
    /// - an error: an [`RpcError`](crate::RpcError) (or, with the `tonic` feature, a
    ///   `tonic::Status`) anywhere in its source chain is the call's status; tower's timeout
    ///   error is DEADLINE_EXCEEDED and load shedding's UNAVAILABLE; anything else is UNKNOWN
    ///   with the error's message. The call gets a trailers-only response, never a reset.
    ///   A layer's response body that fails ends the call with INTERNAL in its trailers.
    ///
    /// Layers take `http::Request<hyper::body::Incoming>`: one that changes the request's body
    /// type does not fit. A server without layers runs as it would without the feature.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let server = rust_rpc::Server::builder()
    ///     // Outermost: calls past 100 in progress are shed with UNAVAILABLE...
    ///     .layer(tower::load_shed::LoadShedLayer::new())
    ///     .layer(tower::limit::ConcurrencyLimitLayer::new(100))
    ///     // ...and each answer must be ready within 10 s, or the call is DEADLINE_EXCEEDED.
    ///     .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(10)))
    ///     .build();
    /// ```
    ///
    /// [`HttpBody`]: crate::HttpBody
    #[cfg(feature = "tower")]
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: tower::Layer<crate::HttpService> + Send + Sync + 'static,
        L::Service: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<http::Request<hyper::body::Incoming>>>::Future: Send + 'static,
        <L::Service as tower::Service<http::Request<hyper::body::Incoming>>>::Error: Into<tower::BoxError>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<tower::BoxError>,
    {
        self.layers.push(layer);
        self
    }

    /// Serves gRPC-Web besides gRPC, on the same ports: browsers call the server directly
    /// (`application/grpc-web` and `application/grpc-web-text`, over HTTP/1.1 or HTTP/2;
    /// unary and server-streaming calls), with the CORS policy of `web` (cargo feature
    /// `grpc-web`). A server without it serves HTTP/2 only, as without the feature.
    ///
    /// ```
    /// let server = rust_rpc::Server::builder()
    ///     .grpc_web(rust_rpc::GrpcWeb::new().allow_origin("https://app.example.com"))
    ///     .build();
    /// ```
    #[cfg(feature = "grpc-web")]
    pub fn grpc_web(mut self, web: crate::server::web::GrpcWeb) -> Self {
        self.grpc_web = Some(web);
        self
    }
}
