//! `Channel`: one lazily connected, self-healing HTTP/2 connection to a target.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::connection::{ClientConnection, ConnectionSettings};
use crate::client::response_body::ResponseBody;
use crate::client::send_body::{BoxBody, SendBody, SendBodyError};
use crate::client::status::{status_from_h2, status_from_http};
use crate::credentials::ChannelCredentials;
use crate::error::{Error, ErrorKind};
use crate::headers::GRPC_STATUS;
use crate::options::CallOptions;
use crate::target::Target;

/// Default limit on the size of a received message: 4 MiB, as in every gRPC implementation.
pub(crate) const DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH: usize = 4 * 1024 * 1024;

/// The first reconnect backoff and its ceiling (gRPC's connection-backoff defaults are 1 s and
/// 120 s; we start at 1 s and cap lower, since targets here are usually local services).
const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The `user-agent` every request carries, after the application's own product if it set one.
const USER_AGENT: &str = concat!("grpc-rust-rpc/", env!("CARGO_PKG_VERSION"));

/// A virtual connection to a gRPC server, shared by every stub made from it.
///
/// A channel connects lazily on its first call (or on [`Channel::ready`]), keeps one HTTP/2
/// connection, and reconnects after the connection is lost, for example when the server
/// restarts. Clones are cheap and share the connection: clone it into as many tasks and stubs as
/// you like.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let channel = rust_rpc::insecure_channel("localhost:50051")?;
/// channel.ready(std::time::Duration::from_secs(5)).await?; // optional: connect now
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    origin: http::Uri,
    tls: Option<ChannelCredentials>,
    settings: ChannelBuilder,
    /// The `user-agent` header of every request.
    user_agent: http::HeaderValue,
    state: Mutex<State>,
    /// Serializes connection attempts, so concurrent callers share one.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    connection: Option<ClientConnection>,
    /// When the last attempt failed, the error, and when the next attempt may start.
    failure: Option<(String, Instant)>,
    backoff: Option<Duration>,
    closed: bool,
}

/// Settings for a [`Channel`], for when [`insecure_channel`] and [`secure_channel`] defaults do not
/// fit.
///
/// ```
/// let channel = rust_rpc::ChannelBuilder::new("localhost:50051")
///     .max_receive_message_length(16 * 1024 * 1024)
///     .connect_timeout(std::time::Duration::from_secs(3))
///     .build()?;
/// # Ok::<(), rust_rpc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ChannelBuilder {
    target: String,
    credentials: Option<ChannelCredentials>,
    pub(crate) max_receive_message_length: usize,
    pub(crate) max_send_message_length: Option<usize>,
    pub(crate) default_options: CallOptions,
    connect_timeout: Duration,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
    initial_stream_window: u32,
    initial_connection_window: u32,
    user_agent: Option<String>,
}

impl ChannelBuilder {
    /// Settings for `target` with the defaults: plaintext, 4 MiB receive limit, no send limit.
    pub fn new(target: impl Into<String>) -> Self {
        ChannelBuilder {
            target: target.into(),
            credentials: None,
            max_receive_message_length: DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
            max_send_message_length: None,
            default_options: CallOptions::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            initial_stream_window: 1024 * 1024,
            initial_connection_window: 2 * 1024 * 1024,
            user_agent: None,
        }
    }

    /// Uses TLS with these credentials.
    pub fn credentials(mut self, credentials: ChannelCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Refuses received messages larger than `bytes` with RESOURCE_EXHAUSTED (default 4 MiB). A
    /// compressed message is measured both as sent and as it decompresses.
    pub fn max_receive_message_length(mut self, bytes: usize) -> Self {
        self.max_receive_message_length = bytes;
        self
    }

    /// Refuses to send messages larger than `bytes`, before any compression, with
    /// RESOURCE_EXHAUSTED (default: no limit).
    pub fn max_send_message_length(mut self, bytes: usize) -> Self {
        self.max_send_message_length = Some(bytes);
        self
    }

    /// Options applied to every call on the channel, under each call's own.
    pub fn default_call_options(mut self, options: CallOptions) -> Self {
        self.default_options = options;
        self
    }

    /// How long one connection attempt may take (default 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sends HTTP/2 PINGs at this interval and drops the connection when one is not answered
    /// within `timeout` (default: no keepalive).
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

    /// Puts `product` (e.g. `"my-app/1.2"`) in front of the `user-agent` the channel sends, as
    /// grpc-go's `WithUserAgent` and Python's `grpc.primary_user_agent` option do. Without it the
    /// header is `grpc-rust-rpc/` and this crate's version. Metadata cannot set this header.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Makes the channel. It does not connect yet: the first call (or [`Channel::ready`]) does.
    pub fn build(self) -> Result<Channel, Error> {
        let target = Target::parse(&self.target)?;
        let scheme = if self.credentials.is_some() { "https" } else { "http" };
        let origin =
            http::Uri::builder().scheme(scheme).authority(target.authority()).path_and_query("/").build().map_err(
                |e| Error::new(ErrorKind::InvalidTarget, format!("invalid channel target {:?}: {e}", self.target)),
            )?;
        let user_agent = match &self.user_agent {
            None => http::HeaderValue::from_static(USER_AGENT),
            Some(product) => format!("{product} {USER_AGENT}").parse().map_err(|_| {
                Error::new(ErrorKind::InvalidSetting, format!("user agent {product:?} is not a valid header value"))
            })?,
        };
        let tls = self.credentials.clone();
        if let (Some(creds), Target::Tcp { host, .. }) = (&tls, &target) {
            // Check the credentials now, so a bad certificate fails here and not on every call.
            creds.connector(host)?;
        }
        Ok(Channel {
            inner: Arc::new(Inner {
                target,
                origin,
                tls,
                settings: self,
                user_agent,
                state: Mutex::new(State::default()),
                connecting: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// A channel without TLS to `target` (`host:port`, `dns:///host:port`, `[::1]:port`,
/// `unix:/path`, ...). It connects on first use.
///
/// ```
/// let channel = rust_rpc::insecure_channel("localhost:50051")?;
/// # Ok::<(), rust_rpc::Error>(())
/// ```
pub fn insecure_channel(target: &str) -> Result<Channel, Error> {
    ChannelBuilder::new(target).build()
}

/// A TLS channel to `target`, verifying the server with `credentials`.
///
/// ```no_run
/// let ca = std::fs::read("ca.pem")?;
/// let creds = rust_rpc::ChannelCredentials::with_root_ca(ca);
/// let channel = rust_rpc::secure_channel("example.com:443", creds)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn secure_channel(target: &str, credentials: ChannelCredentials) -> Result<Channel, Error> {
    ChannelBuilder::new(target).credentials(credentials).build()
}

/// Why a connection could not be had; calls report it as UNAVAILABLE.
pub(crate) struct ConnectFailure(pub(crate) String);

impl Channel {
    /// The target this channel was made for, as `host:port` (`localhost` for Unix sockets).
    pub fn authority(&self) -> &str {
        self.inner.target.authority()
    }

    pub(crate) fn origin(&self) -> &http::Uri {
        &self.inner.origin
    }

    pub(crate) fn settings(&self) -> &ChannelBuilder {
        &self.inner.settings
    }

    /// Connects now if not connected, waiting up to `timeout` (through reconnect backoff) for the
    /// channel to be ready. Python's `grpc.channel_ready_future(channel).result(timeout)`.
    /// Fails with DEADLINE_EXCEEDED (naming the last connection error) when `timeout` passes,
    /// and with UNAVAILABLE when the channel was closed.
    pub async fn ready(&self, timeout: Duration) -> Result<(), crate::RpcError> {
        match tokio::time::timeout(timeout, self.connection(true)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(failure)) => {
                Err(crate::RpcError::unavailable(format!("channel to {} not ready: {}", self.authority(), failure.0)))
            }
            Err(_) => {
                let last = self.lock_state().failure.clone().map(|(error, _)| format!(": {error}"));
                Err(crate::RpcError::deadline_exceeded(format!(
                    "channel to {} not ready within {timeout:?}{}",
                    self.authority(),
                    last.unwrap_or_default()
                )))
            }
        }
    }

    /// Whether the channel has a live connection right now.
    pub fn is_connected(&self) -> bool {
        self.lock_state().connection.as_ref().is_some_and(ClientConnection::is_alive)
    }

    /// Closes the connection. Calls in flight fail, and later calls fail with UNAVAILABLE;
    /// clones share the closed state.
    pub fn close(&self) {
        let mut state = self.lock_state();
        state.closed = true;
        state.connection = None;
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of plain data.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live_connection(&self) -> Result<Option<ClientConnection>, ConnectFailure> {
        let state = self.lock_state();
        if state.closed {
            return Err(ConnectFailure("the channel was closed".into()));
        }
        Ok(state.connection.as_ref().filter(|c| c.is_alive()).cloned())
    }

    /// A live connection, connecting if needed. Without `wait_for_ready` a failed or
    /// backing-off connection fails the call at once; with it, attempts go on (with backoff)
    /// until the caller gives up: the call's deadline drops this future.
    pub(crate) async fn connection(&self, wait_for_ready: bool) -> Result<ClientConnection, ConnectFailure> {
        if let Some(connection) = self.live_connection()? {
            return Ok(connection);
        }
        // Boxed: connecting (TCP, TLS, the HTTP/2 handshake) keeps kilobytes of state, which
        // every call's future would otherwise carry and move around.
        Box::pin(self.establish(wait_for_ready)).await
    }

    /// Connects, or waits for the attempt another call is making; fails fast unless
    /// `wait_for_ready`.
    async fn establish(&self, wait_for_ready: bool) -> Result<ClientConnection, ConnectFailure> {
        loop {
            let attempt_started = Instant::now();
            let _turn = self.inner.connecting.lock().await;
            if let Some(connection) = self.live_connection()? {
                return Ok(connection);
            }
            let failure = self.lock_state().failure.clone();
            if let Some((error, retry_at)) = failure {
                let now = Instant::now();
                let failed_while_waiting = retry_at > attempt_started;
                if retry_at > now || failed_while_waiting {
                    if !wait_for_ready {
                        return Err(ConnectFailure(error));
                    }
                    drop(_turn);
                    let wake = retry_at.max(now + Duration::from_millis(10));
                    tokio::time::sleep_until(wake.into()).await;
                    continue;
                }
            }
            match self.connect().await {
                Ok(connection) => {
                    let mut state = self.lock_state();
                    state.connection = Some(connection.clone());
                    state.failure = None;
                    state.backoff = None;
                    return Ok(connection);
                }
                Err(error) => {
                    let mut state = self.lock_state();
                    let backoff = state.backoff.map_or(INITIAL_BACKOFF, |b| (b * 8 / 5).min(MAX_BACKOFF));
                    state.backoff = Some(backoff);
                    state.failure = Some((error.0.clone(), Instant::now() + backoff));
                    if !wait_for_ready {
                        return Err(error);
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<ClientConnection, ConnectFailure> {
        let settings = &self.inner.settings;
        let io = tokio::time::timeout(settings.connect_timeout, self.open_transport())
            .await
            .map_err(|_| ConnectFailure(format!("connecting to {} timed out", self.authority())))??;
        let connection_settings = ConnectionSettings {
            initial_stream_window: settings.initial_stream_window,
            initial_connection_window: settings.initial_connection_window,
            keepalive: settings.keepalive_interval.map(|interval| (interval, settings.keepalive_timeout)),
        };
        ClientConnection::handshake(io, &connection_settings)
            .await
            .map_err(|e| ConnectFailure(format!("HTTP/2 handshake with {} failed: {e}", self.authority())))
    }

    async fn open_transport(&self) -> Result<Box<dyn IoStream>, ConnectFailure> {
        let fail = |e: std::io::Error| ConnectFailure(format!("failed to connect to {}: {e}", self.authority()));
        match &self.inner.target {
            Target::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| ConnectFailure(format!("failed to connect to unix:{}: {e}", path.display())))?;
                self.maybe_tls(stream, "localhost").await
            }
            Target::Tcp { host, port, .. } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await.map_err(fail)?;
                let _ = stream.set_nodelay(true);
                self.maybe_tls(stream, host).await
            }
        }
    }

    async fn maybe_tls<S: IoStream>(&self, stream: S, host: &str) -> Result<Box<dyn IoStream>, ConnectFailure> {
        let Some(creds) = &self.inner.tls else {
            return Ok(Box::new(stream));
        };
        let (connector, name) = creds.connector(host).map_err(|e| ConnectFailure(e.to_string()))?;
        let tls = connector
            .connect(name, stream)
            .await
            .map_err(|e| ConnectFailure(format!("TLS handshake with {} failed: {e}", self.authority())))?;
        Ok(Box::new(tls))
    }
}

/// A connected byte stream: TCP, Unix, or either under TLS.
pub(crate) trait IoStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> IoStream for T {}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.settings.target)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// What a request sends after its headers.
pub(crate) enum Outgoing {
    /// The messages of a streaming or compressed call (`message_body.rs`).
    Body(BoxBody),
    /// The one message frame of a unary call (see `unary.rs`), sent with END_STREAM.
    Frame(bytes::Bytes),
}

impl Channel {
    /// Sends a request and gives the response once its headers arrive. `wait` waits for the
    /// channel to connect instead of failing fast.
    pub(crate) async fn send(
        &self,
        mut head: http::request::Parts,
        body: Outgoing,
        wait: bool,
    ) -> Result<http::Response<ResponseBody>, tonic::Status> {
        strip_connection_headers(&mut head.headers);
        head.headers.insert(http::header::USER_AGENT, self.inner.user_agent.clone());
        let mut head = Some(head);
        // A request the connection cannot take (it is closing: GOAWAY, e.g. the server
        // restarted, or it is gone) is retried once on a fresh connection, as gRPC's transparent
        // retry allows.
        for _attempt in 0..2 {
            let connection = self.connection(wait).await.map_err(|f| tonic::Status::unavailable(f.0))?;
            let mut sender = connection.sender();
            if std::future::poll_fn(|cx| sender.poll_ready(cx)).await.is_err() {
                self.forget(&connection);
                continue;
            }
            let Some(head) = head.take() else { break };
            let end_of_stream = match &body {
                Outgoing::Body(body) => body.is_end_stream(),
                Outgoing::Frame(_) => false,
            };
            let open = connection.open_call();
            // `poll_ready` just succeeded in this same poll, so this fails only if the connection
            // broke in between (on another thread); the head is gone then, and the call fails
            // UNAVAILABLE without a retry.
            let (response, stream) = match sender.send_request(http::Request::from_parts(head, ()), end_of_stream) {
                Ok(sent) => sent,
                Err(err) => {
                    self.forget(&connection);
                    return Err(status_from_h2(err, Some(self.authority())));
                }
            };
            drop(sender);
            let request_sender = match body {
                _ if end_of_stream => None,
                Outgoing::Body(body) => send_body(body, stream).await?,
                Outgoing::Frame(frame) => {
                    let mut stream = stream;
                    // Needs no capacity: h2 holds the frame until the stream opens and sends it
                    // with the headers (see `SendBody`). A failure here is the response's too.
                    let _ = stream.send_data(frame, true);
                    None
                }
            };
            let response = response.await.map_err(|err| status_from_h2(err, Some(self.authority())))?;
            if response.status() != http::StatusCode::OK && !response.headers().contains_key(&GRPC_STATUS) {
                return Err(status_from_http(response.status()));
            }
            return Ok(response.map(|stream| ResponseBody::new(stream, request_sender, open)));
        }
        Err(tonic::Status::unavailable(format!(
            "the connection to {} closed before the request was sent",
            self.authority()
        )))
    }

    /// Drops the cached connection if it is `failed`, so the next call reconnects.
    fn forget(&self, failed: &ClientConnection) {
        let mut state = self.lock_state();
        if state.connection.as_ref().is_some_and(|c| c.same_as(failed)) {
            state.connection = None;
        }
    }
}

/// Sends the request body: in place what is ready now, the rest (a streaming request) on a task.
/// Gives the handle that keeps that task going, if there is one.
async fn send_body(
    body: BoxBody,
    stream: h2::SendStream<bytes::Bytes>,
) -> Result<Option<tokio::sync::oneshot::Sender<()>>, tonic::Status> {
    let mut send = SendBody::new(body, stream);
    // One pass with the caller's context: a `Pending` leaves the caller's waker registered
    // with the body and the stream, which only costs a spurious wake-up once the task below
    // takes over.
    match std::future::poll_fn(|cx| Poll::Ready(send.poll_send(cx))).await {
        Poll::Ready(Ok(())) => Ok(None),
        Poll::Ready(Err(SendBodyError::Body(status))) => Err(status),
        // The response future carries the same failure, with the server's status if the server
        // reset the stream after answering.
        Poll::Ready(Err(SendBodyError::Stream)) => Ok(None),
        Poll::Pending => {
            let (request_sender, receiver_gone) = tokio::sync::oneshot::channel();
            send.spawn(receiver_gone);
            Ok(Some(request_sender))
        }
    }
}

/// Removes the headers HTTP/2 forbids (RFC 9113, 8.2.2), as hyper did: h2 refuses a request
/// that has any. Only user metadata could bring one.
///
/// One pass looks for them first: removing each name unconditionally hashed six names per call
/// (about 1,200 instructions), and a request almost never has any.
fn strip_connection_headers(headers: &mut http::HeaderMap) {
    const FORBIDDEN: [&str; 5] = ["connection", "transfer-encoding", "upgrade", "keep-alive", "proxy-connection"];
    let te_other_than_trailers =
        |name: &http::HeaderName, value: &http::HeaderValue| name == http::header::TE && value != "trailers";
    if !headers.iter().any(|(name, value)| FORBIDDEN.contains(&name.as_str()) || te_other_than_trailers(name, value)) {
        return;
    }
    for name in FORBIDDEN {
        headers.remove(name);
    }
    if headers.get(http::header::TE).is_some_and(|te| te != "trailers") {
        headers.remove(http::header::TE);
    }
}
