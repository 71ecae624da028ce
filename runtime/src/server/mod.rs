//! `Server`: ports, services, start, stop and wait, as in Python's `grpc.server()`.

pub(crate) mod context;
pub(crate) mod dispatch;
pub(crate) mod router;
pub(crate) mod service;
pub(crate) mod stop;
pub(crate) mod stream;
pub(crate) mod stream_body;
pub(crate) mod unary_body;
pub(crate) mod unary_request;

/// The server's limits, as its errors name them.
pub(crate) const SEND_LIMIT: &str = "the server's send limit";
pub(crate) const RECEIVE_LIMIT: &str = "the server's receive limit";

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::channel::{DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH, IoStream};
use crate::coalesce::{Coalesce, OpenCalls};
use crate::error::{Error, ErrorKind};
use crate::server::dispatch::Limits;
use crate::server::router::Router;
use crate::server::stop::StopSignal;
use crate::{Compression, ServerCredentials, ServiceDefinition};

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
    config: ServerBuilder,
    state: Mutex<State>,
    /// Stop accepting and drain: connections are told GOAWAY, in-flight calls go on.
    draining: CancellationToken,
    /// The grace period is over: in-flight calls end with UNAVAILABLE and connections close.
    stopped: StopSignal,
    /// Everything has ended.
    terminated: CancellationToken,
    tasks: TaskTracker,
}

#[derive(Default)]
struct State {
    services: HashMap<String, ServiceDefinition>,
    listeners: Vec<Listener>,
    started: bool,
}

struct Listener {
    socket: Socket,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

enum Socket {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener, PathBuf),
}

/// Server settings; [`Server::new`] takes the defaults, which follow gRPC's.
///
/// ```
/// let server = rust_rpc::Server::builder()
///     .max_receive_message_length(16 * 1024 * 1024)
///     .max_concurrent_rpcs(1000)
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    max_receive_message_length: usize,
    max_send_message_length: usize,
    max_concurrent_streams: Option<u32>,
    max_concurrent_rpcs: Option<usize>,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
    initial_stream_window: u32,
    initial_connection_window: u32,
    compression: Option<Compression>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            max_receive_message_length: DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
            max_send_message_length: usize::MAX,
            max_concurrent_streams: None,
            max_concurrent_rpcs: None,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            initial_stream_window: 1024 * 1024,
            initial_connection_window: 2 * 1024 * 1024,
            compression: None,
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
        self.keepalive_interval = Some(interval);
        self.keepalive_timeout = timeout;
        self
    }

    /// The HTTP/2 flow-control windows: per stream and per connection, in bytes.
    pub fn http2_windows(mut self, stream: u32, connection: u32) -> Self {
        self.initial_stream_window = stream;
        self.initial_connection_window = connection;
        self
    }

    /// Compresses responses with `compression` when the client accepts it, unless a handler
    /// chooses otherwise through its context.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// The server, with no services or ports yet.
    pub fn build(self) -> Server {
        Server {
            shared: Arc::new(Shared {
                config: self,
                state: Mutex::new(State::default()),
                draining: CancellationToken::new(),
                stopped: StopSignal::default(),
                terminated: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

fn bind_error(addr: &str, err: std::io::Error) -> Error {
    Error::new(ErrorKind::Bind, format!("could not bind {addr}: {err}")).with_source(err)
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

    /// Listens without TLS on `address` (`[::]:50051`, `0.0.0.0:0`, `localhost:8080`,
    /// `unix:/path`) and returns the bound port; port 0 picks a free one. The port is bound at
    /// once; calls are served after [`start`](Self::start).
    pub fn add_insecure_port(&self, address: &str) -> Result<u16, Error> {
        self.add_port(address, None)
    }

    /// Listens with TLS on `address`, presenting `credentials`; returns the bound port.
    pub fn add_secure_port(&self, address: &str, credentials: ServerCredentials) -> Result<u16, Error> {
        let acceptor = credentials.acceptor()?;
        self.add_port(address, Some(acceptor))
    }

    fn add_port(&self, address: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Result<u16, Error> {
        if self.state().started {
            return Err(Error::new(ErrorKind::State, format!("port {address} added after the server started")));
        }
        let mut bound = Vec::new();
        let port = if let Some(path) = address.strip_prefix("unix:") {
            let path = PathBuf::from(path.strip_prefix("//").unwrap_or(path));
            let listener = std::os::unix::net::UnixListener::bind(&path).map_err(|e| bind_error(address, e))?;
            listener.set_nonblocking(true).map_err(|e| bind_error(address, e))?;
            bound.push(Socket::Unix(listener, path));
            0
        } else {
            let addrs: Vec<SocketAddr> =
                std::net::ToSocketAddrs::to_socket_addrs(address).map_err(|e| bind_error(address, e))?.collect();
            let mut port = None;
            let mut last_error = None;
            for mut addr in addrs {
                if let Some(port) = port {
                    // Every address of a name like `localhost` gets the port the first one got.
                    addr.set_port(port);
                }
                match std::net::TcpListener::bind(addr) {
                    Ok(listener) => {
                        listener.set_nonblocking(true).map_err(|e| bind_error(address, e))?;
                        let local = listener.local_addr().map_err(|e| bind_error(address, e))?;
                        port.get_or_insert(local.port());
                        bound.push(Socket::Tcp(listener));
                    }
                    Err(e) => last_error = Some(e),
                }
            }
            match (port, last_error) {
                (Some(port), _) => port,
                (None, Some(e)) => return Err(bind_error(address, e)),
                (None, None) => {
                    return Err(Error::new(ErrorKind::Bind, format!("could not bind {address}: it names no address")));
                }
            }
        };
        let mut state = self.state();
        state.listeners.extend(bound.into_iter().map(|socket| Listener { socket, tls: tls.clone() }));
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
        let router = Arc::new(Router::new(
            &state.services,
            Limits {
                max_receive_message_length: config.max_receive_message_length,
                max_send_message_length: config.max_send_message_length,
            },
            self.shared.stopped.clone(),
            config.compression,
            config.max_concurrent_rpcs,
        ));
        let _enter = runtime.enter();
        let mut listeners = Vec::new();
        for listener in state.listeners.drain(..) {
            let socket = match listener.socket {
                Socket::Tcp(l) => tokio::net::TcpListener::from_std(l).map(Accept::Tcp),
                Socket::Unix(l, path) => tokio::net::UnixListener::from_std(l).map(|l| Accept::Unix(l, path)),
            }
            .map_err(|e| Error::new(ErrorKind::Bind, format!("could not listen: {e}")).with_source(e))?;
            listeners.push((socket, listener.tls));
        }
        for (socket, tls) in listeners {
            let server = self.clone();
            let router = router.clone();
            self.shared.tasks.spawn(async move { server.accept_loop(socket, tls, router).await });
        }
        state.started = true;
        Ok(())
    }

    async fn accept_loop(self, socket: Accept, tls: Option<tokio_rustls::TlsAcceptor>, router: Arc<Router>) {
        loop {
            let accepted = tokio::select! {
                _ = self.shared.draining.cancelled() => break,
                accepted = socket.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let server = self.clone();
            let router = router.clone();
            let tls = tls.clone();
            self.shared.tasks.spawn(async move {
                let io: Box<dyn IoStream> = match tls {
                    None => stream,
                    Some(acceptor) => {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => Box::new(tls),
                            _ => return,
                        }
                    }
                };
                // Responses ready together go out in one write (see coalesce.rs).
                let calls = OpenCalls::default();
                Coalesce::new(server.serve_connection(io, peer, router, calls.clone()), calls).await;
            });
        }
        if let Accept::Unix(_, path) = &socket {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Serves one connection; `calls` counts its calls from their request to their response's
    /// headers (so the connection task knows when there is something to batch).
    async fn serve_connection(
        &self,
        io: Box<dyn IoStream>,
        peer: Option<SocketAddr>,
        router: Arc<Router>,
        calls: OpenCalls,
    ) {
        let config = &self.shared.config;
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            // gRPC has no use for a `date` header (grpc-go and grpc-java send none); hyper's
            // adds a header to every response and a clock read and format each second.
            .auto_date_header(false)
            .initial_stream_window_size(config.initial_stream_window)
            .initial_connection_window_size(config.initial_connection_window)
            .max_header_list_size(16 * 1024 * 1024);
        if let Some(streams) = config.max_concurrent_streams {
            builder.max_concurrent_streams(streams);
        }
        if let Some(interval) = config.keepalive_interval {
            builder.keep_alive_interval(interval).keep_alive_timeout(config.keepalive_timeout);
        }
        let service = hyper::service::service_fn(move |request| {
            let open = calls.open();
            let response = router.route(request, peer);
            async move {
                let response = response.await;
                drop(open);
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = self.shared.draining.cancelled() => {}
        }
        connection.as_mut().graceful_shutdown();
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = self.shared.stopped.stopped() => {}
        }
        // Grace is over: every call on the connection now ends with UNAVAILABLE (its handler is
        // dropped, its response body stops). Drive the connection a little longer so those
        // statuses reach the clients, instead of cutting the socket under them, but not for
        // long: a client that stopped reading must not hold the stop up for more than a second.
        let _ = tokio::time::timeout(FINAL_FLUSH, connection.as_mut()).await;
    }

    /// Stops the server. New connections and calls are refused at once; calls in flight get
    /// `grace` to finish (`None`: none), after which they end with UNAVAILABLE and connections
    /// close (each gets up to a second more to deliver those statuses). Returns when
    /// everything has ended. Calling it again only waits.
    pub async fn stop(&self, grace: Option<Duration>) {
        let shared = &self.shared;
        shared.draining.cancel();
        shared.tasks.close();
        let grace = grace.unwrap_or(Duration::ZERO);
        if tokio::time::timeout(grace, shared.tasks.wait()).await.is_err() {
            shared.stopped.stop();
            shared.tasks.wait().await;
        }
        shared.stopped.stop();
        shared.terminated.cancel();
    }

    /// Waits until the server has stopped, or until `timeout` passes. Returns `true` when the
    /// server has terminated, `false` on timeout.
    pub async fn wait_for_termination(&self, timeout: Option<Duration>) -> bool {
        match timeout {
            None => {
                self.shared.terminated.cancelled().await;
                true
            }
            Some(t) => tokio::time::timeout(t, self.shared.terminated.cancelled()).await.is_ok(),
        }
    }
}

/// How long a stopping server keeps driving a connection after grace, for the calls' final
/// UNAVAILABLE statuses to go out. A status may wait behind a stream's queued data (up to its
/// flow-control window) that the client has yet to read; 100 ms proved too short for that on a
/// loaded machine.
const FINAL_FLUSH: Duration = Duration::from_secs(1);

enum Accept {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Accept {
    async fn accept(&self) -> std::io::Result<(Box<dyn IoStream>, Option<SocketAddr>)> {
        match self {
            Accept::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok((Box::new(stream), Some(peer)))
            }
            Accept::Unix(listener, _) => {
                let (stream, _) = listener.accept().await?;
                Ok((Box::new(stream), None))
            }
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
