//! gRPC-Web (cargo feature `grpc-web`): browsers call the server directly, on the same port as
//! gRPC, over HTTP/1.1 or HTTP/2, with no proxy in front.
//!
//! A server with [`ServerBuilder::grpc_web`](crate::ServerBuilder::grpc_web) serves each
//! connection through `connection.rs`, which finds out whether the client speaks HTTP/1.1 or
//! HTTP/2 (by the HTTP/2 preface) and sorts its requests: plain gRPC goes to the
//! router as on any server, CORS preflights get their answer (`cors.rs`), and gRPC-Web calls
//! go to `call.rs`. That translates each into the gRPC call the router already serves, sent
//! over an in-memory HTTP/2 connection to it (`loopback.rs`, one per client connection, made
//! on its first gRPC-Web call), and the answer back: `codec.rs` holds the content types, the
//! base64 of `application/grpc-web-text` and the trailers frame. A server without gRPC-Web
//! serves its connections as it would without the feature.

pub(crate) mod call;
pub(crate) mod codec;
pub(crate) mod connection;
pub(crate) mod cors;
pub(crate) mod loopback;

use std::time::Duration;

use crate::server::web::cors::Cors;

/// gRPC-Web settings for [`ServerBuilder::grpc_web`](crate::ServerBuilder::grpc_web): which web
/// origins may call the server (CORS) and which response headers their pages may read.
///
/// By default no other origin may call: a browser request that carries an `Origin` header the
/// policy does not allow is refused with HTTP 403, and so is its preflight. Requests without an
/// `Origin` (non-browser clients) are served.
///
/// ```
/// use std::time::Duration;
///
/// let web = rust_rpc::GrpcWeb::new()
///     .allow_origin("https://app.example.com")
///     // The page reads this response header (initial metadata) besides grpc-status & co.
///     .expose_header("x-request-id")
///     .max_age(Duration::from_secs(600));
/// let server = rust_rpc::Server::builder().grpc_web(web).build();
/// ```
#[derive(Clone, Debug, Default)]
pub struct GrpcWeb {
    pub(crate) cors: Cors,
}

impl GrpcWeb {
    /// gRPC-Web for same-origin and non-browser clients only; add the origins that may call.
    pub fn new() -> Self {
        GrpcWeb::default()
    }

    /// Lets pages from `origin` (scheme, host and port, as browsers send it in `Origin`:
    /// `https://app.example.com`, `http://localhost:8080`) call the server.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.cors.allow_origin(origin.into());
        self
    }

    /// Lets pages from any origin call the server (a public API's choice, never a default).
    pub fn allow_any_origin(mut self) -> Self {
        self.cors.allow_any = true;
        self
    }

    /// Lets pages read the response header `name` (custom initial metadata the server sends),
    /// besides `grpc-status`, `grpc-message` and `grpc-status-details-bin`, which they can always
    /// read. Trailing metadata travels in the body and needs no listing.
    pub fn expose_header(mut self, name: impl Into<String>) -> Self {
        self.cors.expose.push(name.into().to_ascii_lowercase());
        self
    }

    /// Lets browsers send credentials (cookies, HTTP authentication) with their calls
    /// (`Access-Control-Allow-Credentials: true`; default off).
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.cors.credentials = allow;
        self
    }

    /// How long a browser may keep a preflight's answer (`Access-Control-Max-Age`; default 24
    /// hours).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.cors.max_age = max_age;
        self
    }
}
