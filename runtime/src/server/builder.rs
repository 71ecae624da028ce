//! `ServerBuilder`: a server's settings. `mod.rs` builds the server from them.

use std::time::Duration;

use crate::Compression;
use crate::server::interceptor::{Interceptors, ServerInterceptor};
use crate::transport::http2::Http2Settings;
use crate::wire::limits::DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;

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
    pub(crate) max_concurrent_streams: Option<u32>,
    pub(crate) max_concurrent_rpcs: Option<usize>,
    pub(crate) http2: Http2Settings,
    pub(crate) compression: Option<Compression>,
    pub(crate) interceptors: Interceptors,
    #[cfg(feature = "grpc-web")]
    pub(crate) grpc_web: Option<crate::server::web::GrpcWeb>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            max_receive_message_length: DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
            max_send_message_length: usize::MAX,
            max_concurrent_streams: None,
            max_concurrent_rpcs: None,
            http2: Http2Settings::default(),
            compression: None,
            interceptors: Interceptors::default(),
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

    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` each connection advertises.
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.max_concurrent_streams = Some(streams);
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
