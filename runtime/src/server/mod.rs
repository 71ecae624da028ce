//! `Server`: ports, services, start, stop and wait, as in Python's `grpc.server()`.
//!
//! A call's way through: `listener.rs` accepts the connection, `connection.rs` serves it with
//! hyper, `router.rs` checks each request and finds its method's handler (registered through
//! `service.rs`), and `dispatch.rs` runs the handler with a `ServicerContext` (`context.rs`),
//! reading the request (`single_request.rs`, or the `RequestStream` of `stream.rs`) and
//! answering with a body (`unary_body.rs` or `stream_body.rs`) whose head `response.rs` builds.
//! `env.rs` holds what every call shares; `stop.rs` the stages of a stop; `signals.rs` stopping
//! on SIGTERM and Ctrl-C.

pub(crate) mod builder;
pub(crate) mod connection;
pub(crate) mod context;
pub(crate) mod dispatch;
pub(crate) mod env;
pub(crate) mod fallback;
pub(crate) mod guard;
pub(crate) mod in_process;
pub(crate) mod inline;
pub(crate) mod interceptor;
#[cfg(feature = "tower")]
pub(crate) mod layer;
pub(crate) mod lifetime;
pub(crate) mod limits;
pub(crate) mod listener;
pub(crate) mod panic;
pub(crate) mod peer;
pub(crate) mod response;
pub(crate) mod router;
pub(crate) mod service;
#[cfg(feature = "signal")]
pub(crate) mod signals;
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

use crate::ServiceDefinition;
use crate::error::{Error, ErrorKind};
use crate::server::builder::ServerBuilder;
use crate::server::env::Limits;
use crate::server::in_process::InProcess;
use crate::server::limits::ConnectionSlots;
use crate::server::listener::Listener;
use crate::server::router::Router;
use crate::server::stop::{Shutdown, Stop};
use crate::transport::memory::Dialer;
use crate::transport::tls::Acceptor;

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
    /// In-process channels' connections to the server.
    in_process: Arc<InProcess>,
}

/// What `stop` does first, before it drains: set by services that must tell clients (the health
/// service turns every status to NOT_SERVING).
type StopHook = Box<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct State {
    services: HashMap<String, ServiceDefinition>,
    listeners: Vec<Listener>,
    started: bool,
    /// The runtime the server was started on: a stop started outside it runs there.
    runtime: Option<tokio::runtime::Handle>,
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
        let shutdown = Shutdown::default();
        Server {
            shared: Arc::new(Shared {
                config: Arc::new(self),
                state: Mutex::new(State::default()),
                in_process: Arc::new(InProcess::new(shutdown.clone())),
                shutdown,
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

    /// What an in-process channel dials to reach this server; from now on the server may start
    /// without ports.
    pub(crate) fn in_process_dialer(&self) -> Dialer {
        in_process::dialer(&self.shared.in_process)
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
    #[cfg(feature = "tls")]
    pub fn add_secure_port(&self, address: &str, credentials: crate::ServerCredentials) -> Result<u16, Error> {
        // A gRPC-Web server also offers HTTP/1.1 (ALPN), for browsers and proxies that ask.
        #[cfg(feature = "grpc-web")]
        let http1 = self.shared.config.grpc_web.is_some();
        #[cfg(not(feature = "grpc-web"))]
        let http1 = false;
        let acceptor = credentials.acceptor(http1)?;
        self.add_port(address, Some(acceptor))
    }

    fn add_port(&self, address: &str, tls: Option<Acceptor>) -> Result<u16, Error> {
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
        if state.listeners.is_empty() && !self.shared.in_process.is_wanted() {
            return Err(Error::new(
                ErrorKind::State,
                "the server has no ports: call add_insecure_port or add_secure_port first \
                 (or make an in-process channel to it)",
            ));
        }
        let config = &self.shared.config;
        let shutdown = &self.shared.shutdown;
        #[allow(unused_mut)]
        let mut router = Router::new(
            &state.services,
            Limits {
                max_receive_message_length: config.max_receive_message_length,
                max_send_message_length: config.max_send_message_length,
            },
            shutdown.stopped.clone(),
            config.compression,
            config.max_concurrent_rpcs,
            &config.interceptors,
            config.fallback.clone(),
        );
        #[cfg(feature = "tower")]
        {
            router.front = config.layers.build();
        }
        let router = Arc::new(router);
        self.shared.in_process.serve(router.clone(), config.clone(), shutdown.clone(), runtime.clone());
        let _enter = runtime.enter();
        let accepting = state.listeners.drain(..).map(Listener::listen).collect::<Result<Vec<_>, _>>()?;
        // One count of open connections across every port.
        let slots = ConnectionSlots::new(config.limits.max_connections);
        for socket in accepting {
            shutdown.tasks.spawn(socket.run(router.clone(), config.clone(), shutdown.clone(), slots.clone()));
        }
        state.started = true;
        state.runtime = Some(runtime);
        Ok(())
    }

    /// Stops the server (Python's `stop(grace)`). New connections and calls are refused at
    /// once; calls in flight get `grace` to finish (`None`: none), after which they end with
    /// UNAVAILABLE and connections close (each gets up to a second more to deliver those
    /// statuses).
    ///
    /// The stop starts before this returns, on the runtime the server runs on, so it can be
    /// called from sync code or a signal-handling thread without awaiting. The returned [`Stop`]
    /// resolves once everything has ended; await it, or drop it. Calling `stop` again with a
    /// shorter grace ends the calls sooner; a longer one does not extend the first.
    ///
    /// ```no_run
    /// # async fn demo(server: rust_rpc::Server) {
    /// use std::time::Duration;
    /// server.stop(Some(Duration::from_secs(5))).await; // stopped, and waited for
    /// # }
    /// ```
    pub fn stop(&self, grace: Option<Duration>) -> Stop {
        let hooks = std::mem::take(&mut self.state().on_stop);
        for hook in hooks {
            hook();
        }
        let shutdown = self.shared.shutdown.clone();
        shutdown.draining.cancel();
        shutdown.tasks.close();
        let stop = Stop::new(&shutdown.terminated);
        let Some(runtime) = self.state().runtime.clone() else {
            // Never started: nothing runs, so it has terminated.
            shutdown.stopped.stop();
            shutdown.terminated.cancel();
            return stop;
        };
        runtime.spawn(async move {
            let grace = grace.unwrap_or(Duration::ZERO);
            if tokio::time::timeout(grace, shutdown.tasks.wait()).await.is_err() {
                shutdown.stopped.stop();
                shutdown.tasks.wait().await;
            }
            shutdown.stopped.stop();
            shutdown.terminated.cancel();
        });
        stop
    }

    /// Waits until the server has terminated, or until `timeout` passes (Python's
    /// `wait_for_termination`). Returns `true` if it timed out, `false` once the server has
    /// terminated.
    pub async fn wait_for_termination(&self, timeout: Option<Duration>) -> bool {
        let terminated = self.shared.shutdown.terminated.cancelled();
        match timeout {
            None => {
                terminated.await;
                false
            }
            Some(t) => tokio::time::timeout(t, terminated).await.is_err(),
        }
    }

    /// Whether the server has terminated: stopped, with every call and connection ended.
    pub fn is_terminated(&self) -> bool {
        self.shared.shutdown.terminated.is_cancelled()
    }

    /// The runtime the server was started on, once started.
    #[cfg(feature = "signal")]
    pub(crate) fn runtime(&self) -> Option<tokio::runtime::Handle> {
        self.state().runtime.clone()
    }

    /// Cancelled once the server has terminated.
    #[cfg(feature = "signal")]
    pub(crate) fn terminated_token(&self) -> tokio_util::sync::CancellationToken {
        self.shared.shutdown.terminated.clone()
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
