//! `Server`: ports, services, start, stop and wait, as in Python's `grpc.server()`.
//!
//! A call's way through: `listener.rs` accepts the connection, `connection.rs` serves it with
//! hyper, `router.rs` checks each request and finds its method's handler (registered through
//! `service.rs`), and `dispatch.rs` runs the handler with a `ServicerContext` (`context.rs`),
//! reading the request (`single_request.rs`, or the `RequestStream` of `stream.rs`) and
//! answering with a body (`unary_body.rs` or `stream_body.rs`) whose head `response.rs` builds.
//! `env.rs` holds what every call shares; `stop.rs` the stages of a stop.

pub(crate) mod builder;
pub(crate) mod connection;
pub(crate) mod context;
pub(crate) mod dispatch;
pub(crate) mod env;
pub(crate) mod interceptor;
pub(crate) mod listener;
pub(crate) mod panic;
pub(crate) mod peer;
pub(crate) mod response;
pub(crate) mod router;
pub(crate) mod service;
pub(crate) mod single_request;
pub(crate) mod stop;
pub(crate) mod stream;
pub(crate) mod stream_body;
pub(crate) mod unary_body;
#[cfg(feature = "grpc-web")]
pub(crate) mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::server::builder::ServerBuilder;
use crate::server::env::Limits;
use crate::server::listener::Listener;
use crate::server::router::Router;
use crate::server::stop::Shutdown;
use crate::{ServerCredentials, ServiceDefinition};

/// A gRPC server: add services and ports, [`start`](Server::start) it, and later
/// [`stop`](Server::stop) it.
///
/// Clones share the server, so one task can wait for termination while another stops it.
///
/// ```no_run
/// # async fn demo() -> Result<(), rust_rpc::Error> {
/// let server = rust_rpc::Server::new();
/// // add_greeter_servicer_to_server(MyGreeter, &server)?;  (generated)
/// let port = server.add_insecure_port("[::]:50051")?;
/// server.start()?;
/// println!("listening on {port}");
/// server.wait_for_termination(None).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

struct Shared {
    config: Arc<ServerBuilder>,
    state: Mutex<State>,
    shutdown: Shutdown,
}

/// What `stop` does first, before it drains: set by services that must tell clients (the health
/// service turns every status to NOT_SERVING).
type StopHook = Box<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct State {
    services: HashMap<String, ServiceDefinition>,
    listeners: Vec<Listener>,
    started: bool,
    on_stop: Vec<StopHook>,
}

/// A server that does not keep it alive, for services the server itself holds (reflection
/// asks it for the other services' descriptors).
#[cfg(feature = "reflection")]
#[derive(Clone)]
pub(crate) struct WeakServer(std::sync::Weak<Shared>);

#[cfg(feature = "reflection")]
impl WeakServer {
    /// The server, unless it has been dropped.
    pub(crate) fn upgrade(&self) -> Option<Server> {
        self.0.upgrade().map(|shared| Server { shared })
    }
}

impl ServerBuilder {
    /// The server, with no services or ports yet.
    pub fn build(self) -> Server {
        Server {
            shared: Arc::new(Shared {
                config: Arc::new(self),
                state: Mutex::new(State::default()),
                shutdown: Shutdown::default(),
            }),
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    /// A server with default settings.
    pub fn new() -> Server {
        ServerBuilder::default().build()
    }

    /// Settings for a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a service. Generated `add_<service>_servicer_to_server` functions call this.
    /// Services are added before [`start`](Self::start); a second service of the same name
    /// replaces the first.
    pub fn add_service(&self, service: ServiceDefinition) -> Result<(), Error> {
        let mut state = self.state();
        if state.started {
            return Err(Error::new(
                ErrorKind::State,
                format!("service {} added after the server started", service.name()),
            ));
        }
        state.services.insert(service.name().to_owned(), service);
        Ok(())
    }

    /// A handle that does not keep the server alive.
    #[cfg(feature = "reflection")]
    pub(crate) fn downgrade(&self) -> WeakServer {
        WeakServer(Arc::downgrade(&self.shared))
    }

    /// Every service's name and descriptors, sorted by name.
    #[cfg(feature = "reflection")]
    pub(crate) fn service_descriptors(&self) -> Vec<(String, Option<&'static [u8]>)> {
        let state = self.state();
        let mut services: Vec<_> =
            state.services.values().map(|s| (s.name().to_owned(), s.file_descriptor_set())).collect();
        services.sort();
        services
    }

    /// Runs `hook` when [`stop`](Self::stop) begins, before the server drains.
    #[cfg(feature = "health")]
    pub(crate) fn on_stop(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.state().on_stop.push(Box::new(hook));
    }

    /// Listens without TLS on `address` (`[::]:50051`, `0.0.0.0:0`, `localhost:8080`,
    /// `unix:/path`) and returns the bound port; port 0 picks a free one. The port is bound at
    /// once; calls are served after [`start`](Self::start).
    pub fn add_insecure_port(&self, address: &str) -> Result<u16, Error> {
        self.add_port(address, None)
    }

    /// Listens with TLS on `address`, presenting `credentials`; returns the bound port.
    pub fn add_secure_port(&self, address: &str, credentials: ServerCredentials) -> Result<u16, Error> {
        // A gRPC-Web server also offers HTTP/1.1 (ALPN), for browsers and proxies that ask.
        #[cfg(feature = "grpc-web")]
        let http1 = self.shared.config.grpc_web.is_some();
        #[cfg(not(feature = "grpc-web"))]
        let http1 = false;
        let acceptor = credentials.acceptor(http1)?;
        self.add_port(address, Some(acceptor))
    }

    fn add_port(&self, address: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Result<u16, Error> {
        if self.state().started {
            return Err(Error::new(ErrorKind::State, format!("port {address} added after the server started")));
        }
        let (listeners, port) = listener::bind(address, tls)?;
        self.state().listeners.extend(listeners);
        Ok(port)
    }

    /// Starts serving on every port. Returns once the server is accepting connections; the
    /// server runs on the current Tokio runtime until [`stop`](Self::stop).
    pub fn start(&self) -> Result<(), Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            Error::new(ErrorKind::Runtime, "Server::start must be called inside a Tokio runtime").with_source(e)
        })?;
        let mut state = self.state();
        if state.started {
            return Err(Error::new(ErrorKind::State, "the server was already started"));
        }
        if state.listeners.is_empty() {
            return Err(Error::new(
                ErrorKind::State,
                "the server has no ports: call add_insecure_port or add_secure_port first",
            ));
        }
        let config = &self.shared.config;
        let shutdown = &self.shared.shutdown;
        let router = Arc::new(Router::new(
            &state.services,
            Limits {
                max_receive_message_length: config.max_receive_message_length,
                max_send_message_length: config.max_send_message_length,
            },
            shutdown.stopped.clone(),
            config.compression,
            config.max_concurrent_rpcs,
            &config.interceptors,
        ));
        let _enter = runtime.enter();
        let accepting = state.listeners.drain(..).map(Listener::listen).collect::<Result<Vec<_>, _>>()?;
        for socket in accepting {
            shutdown.tasks.spawn(socket.run(router.clone(), config.clone(), shutdown.clone()));
        }
        state.started = true;
        Ok(())
    }

    /// Stops the server. New connections and calls are refused at once; calls in flight get
    /// `grace` to finish (`None`: none), after which they end with UNAVAILABLE and connections
    /// close (each gets up to a second more to deliver those statuses). Returns when
    /// everything has ended. Calling it again only waits.
    pub async fn stop(&self, grace: Option<Duration>) {
        for hook in std::mem::take(&mut self.state().on_stop) {
            hook();
        }
        let shutdown = &self.shared.shutdown;
        shutdown.draining.cancel();
        shutdown.tasks.close();
        let grace = grace.unwrap_or(Duration::ZERO);
        if tokio::time::timeout(grace, shutdown.tasks.wait()).await.is_err() {
            shutdown.stopped.stop();
            shutdown.tasks.wait().await;
        }
        shutdown.stopped.stop();
        shutdown.terminated.cancel();
    }

    /// Waits until the server has stopped, or until `timeout` passes. Returns `true` when the
    /// server has terminated, `false` on timeout.
    pub async fn wait_for_termination(&self, timeout: Option<Duration>) -> bool {
        match timeout {
            None => {
                self.shared.shutdown.terminated.cancelled().await;
                true
            }
            Some(t) => tokio::time::timeout(t, self.shared.shutdown.terminated.cancelled()).await.is_ok(),
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Server")
            .field("services", &state.services.keys().collect::<Vec<_>>())
            .field("started", &state.started)
            .finish()
    }
}
