//! Routing: check what HTTP/2 and gRPC require of a request, then hand it to its method.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use tokio::sync::Semaphore;

use crate::server::env::{CallEnv, Limits, Shared};
use crate::server::fallback::Fallback;
use crate::server::interceptor::{Chain, Interceptors};
use crate::server::peer::Peer;
use crate::server::response::{Body, error_response, plain_http};
use crate::server::service::{BoxFuture, Handler};
use crate::server::stop::StopSignal;
use crate::wire::compress::Accepted;
use crate::wire::headers::{GRPC_ENCODING, GRPC_TIMEOUT};
use crate::wire::timeout;
use crate::{Compression, Metadata, RpcError, ServiceDefinition, ServicerContext};

/// One method: its path (shared with the calls' contexts), handler and interceptors.
struct Method {
    path: Arc<str>,
    handler: Handler,
    interceptors: Option<Chain>,
}

/// Every method of every service on a server, frozen when the server starts.
pub(crate) struct Router {
    /// By path; the path is kept as an `Arc<str>` too, for the calls' contexts to share.
    methods: HashMap<String, Method>,
    services: Vec<String>,
    shared: Arc<Shared>,
    default_compression: Option<Compression>,
    concurrency: Option<Arc<Semaphore>>,
    /// What serves unknown methods, with the server's interceptors; `None`: UNIMPLEMENTED.
    fallback: Option<(Handler, Option<Chain>)>,
    /// The server's tower layers around `route_grpc`, when it has any (`server/layer.rs`).
    #[cfg(feature = "tower")]
    pub(crate) front: Option<Front>,
}

/// A server's tower layers, built once when it starts: they take each request (whose extensions
/// carry its [`Origin`]) and end in [`Router::route_grpc`].
#[cfg(feature = "tower")]
pub(crate) type Front = Box<dyn Fn(http::Request<Incoming>) -> BoxFuture<http::Response<Body>> + Send + Sync>;

/// Where a request came in, for the innermost of the layers to route it: carried in the
/// request's extensions through the user's layers.
#[cfg(feature = "tower")]
#[derive(Clone)]
pub(crate) struct Origin {
    pub(crate) router: Arc<Router>,
    pub(crate) peer: Peer,
}

impl Router {
    pub(crate) fn new(
        services: &HashMap<String, ServiceDefinition>,
        limits: Limits,
        stop: StopSignal,
        default_compression: Option<Compression>,
        max_concurrent_rpcs: Option<usize>,
        server_interceptors: &Interceptors,
        fallback: Option<Fallback>,
    ) -> Router {
        let mut methods = HashMap::new();
        for (name, service) in services {
            for (method, handler) in &service.methods {
                let path = format!("/{name}/{method}");
                let interceptors = server_interceptors.chain(&service.interceptors);
                methods.insert(path.clone(), Method { path: Arc::from(path), handler: handler.clone(), interceptors });
            }
        }
        Router {
            methods,
            services: services.keys().cloned().collect(),
            shared: Arc::new(Shared { limits, stop }),
            default_compression,
            concurrency: max_concurrent_rpcs.map(|n| Arc::new(Semaphore::new(n))),
            fallback: fallback.map(|Fallback(handler)| (handler, server_interceptors.chain(&Interceptors::default()))),
            #[cfg(feature = "tower")]
            front: None,
        }
    }

    /// Answers a request: through the server's tower layers if it has any, else straight to
    /// its method.
    #[inline]
    pub(crate) fn route(
        self: &Arc<Self>,
        request: http::Request<Incoming>,
        peer: &Peer,
    ) -> BoxFuture<http::Response<Body>> {
        #[cfg(feature = "tower")]
        if let Some(front) = &self.front {
            return self.route_layered(front, request, peer);
        }
        self.route_grpc(request, peer)
    }

    /// Hands a request to the layers, with its [`Origin`] for the innermost. Out of line: a
    /// server without layers only checks `front`.
    #[cfg(feature = "tower")]
    #[inline(never)]
    fn route_layered(
        self: &Arc<Self>,
        front: &Front,
        mut request: http::Request<Incoming>,
        peer: &Peer,
    ) -> BoxFuture<http::Response<Body>> {
        request.extensions_mut().insert(Origin { router: self.clone(), peer: peer.clone() });
        front(request)
    }

    /// Checks a gRPC request and hands it to its method's handler.
    pub(crate) fn route_grpc(
        &self,
        mut request: http::Request<Incoming>,
        peer: &Peer,
    ) -> BoxFuture<http::Response<Body>> {
        let reply = |response| -> BoxFuture<http::Response<Body>> { Box::pin(std::future::ready(response)) };
        if request.method() != http::Method::POST {
            return reply(plain_http(http::StatusCode::METHOD_NOT_ALLOWED, "gRPC requests use POST\n"));
        }
        let content_type = request.headers().get(http::header::CONTENT_TYPE).map(|v| v.as_bytes());
        let is_grpc = content_type.is_some_and(|ct| {
            ct == b"application/grpc" || ct.starts_with(b"application/grpc+") || ct.starts_with(b"application/grpc;")
        });
        if !is_grpc {
            // The gRPC HTTP/2 protocol: a non-gRPC content type gets HTTP 415.
            return reply(plain_http(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type must be application/grpc\n",
            ));
        }
        let path = request.uri().path();
        let (method, handler, interceptors) = match (self.methods.get(path), &self.fallback) {
            (Some(Method { path, handler, interceptors }), _) => (path.clone(), handler, interceptors),
            (None, Some((handler, interceptors))) => (Arc::from(path), handler, interceptors),
            (None, None) => return reply(error_response(self.unknown(path), Metadata::new())),
        };
        let headers = request.headers();
        let deadline = match headers.get(&GRPC_TIMEOUT) {
            None => None,
            Some(value) => match timeout::parse_grpc_timeout(value.as_bytes()) {
                Ok(timeout) => Some(Instant::now().checked_add(timeout).unwrap_or_else(far_future)),
                Err(bad) => {
                    let err = RpcError::internal(format!("malformed grpc-timeout {:?}", bad.0));
                    return reply(error_response(err, Metadata::new()));
                }
            },
        };
        let request_encoding = match Compression::from_header(headers.get(&GRPC_ENCODING)) {
            Ok(encoding) => encoding,
            Err(name) => {
                // The answer's `grpc-accept-encoding` tells the client what to use instead.
                let err = RpcError::unimplemented(format!(
                    "message compression {name:?} is not supported; this server accepts {}",
                    Compression::ACCEPT_ENCODING
                ));
                return reply(error_response(err, Metadata::new()));
            }
        };
        let accepted = Accepted::from_headers(headers);
        let permit = match &self.concurrency {
            None => None,
            Some(limit) => match limit.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let err = RpcError::resource_exhausted("the server's concurrent RPC limit is reached");
                    return reply(error_response(err, Metadata::new()));
                }
            },
        };
        let handler = handler.clone();
        // The headers go to the context as they are; it strips the protocol's own only if the
        // handler asks for its metadata.
        let headers = std::mem::take(request.headers_mut());
        let context = ServicerContext::new(
            method,
            headers,
            peer.clone(),
            deadline,
            request_encoding,
            self.default_compression,
            permit,
        );
        let env =
            CallEnv { shared: self.shared.clone(), request_encoding, accepted, interceptors: interceptors.clone() };
        handler(request.into_body(), context, env)
    }

    fn unknown(&self, path: &str) -> RpcError {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let service = parts.next().unwrap_or_default();
        let method = parts.next().unwrap_or_default();
        if self.services.iter().any(|s| s == service) {
            RpcError::unimplemented(format!("unknown method {method} for service {service}"))
        } else {
            RpcError::unimplemented(format!("unknown service {service}"))
        }
    }
}

fn far_future() -> Instant {
    // About thirty years: the same as no deadline, without overflowing.
    Instant::now() + std::time::Duration::from_secs(86_400 * 365 * 30)
}
