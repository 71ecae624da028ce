//! A subchannel: the connection to one address, made on demand and remade after it is lost,
//! with backoff between failed attempts. A channel has one today; a load balancer will pick
//! among several.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::client::backoff::Backoff;
use crate::client::connect::{self, ConnectFailure};
use crate::client::connection::ClientConnection;
use crate::client::keepalive::KeepaliveBackoff;
use crate::client::target::Target;
use crate::credentials::ChannelCredentials;
use crate::transport::http2::Http2Settings;

/// One address's connection and what it takes to make it.
pub(crate) struct Subchannel {
    target: Target,
    tls: Option<ChannelCredentials>,
    connect_timeout: Duration,
    http2: Http2Settings,
    /// The keepalive interval's doublings asked for by servers (gRFC A8).
    keepalive_backoff: KeepaliveBackoff,
    state: Mutex<State>,
    /// Serializes connection attempts, so concurrent callers share one.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    connection: Option<ClientConnection>,
    /// When the last attempt failed, the error, and when the next attempt may start.
    failure: Option<(String, Instant)>,
    backoff: Backoff,
    closed: bool,
}

impl Subchannel {
    pub(crate) fn new(
        target: Target,
        tls: Option<ChannelCredentials>,
        connect_timeout: Duration,
        http2: Http2Settings,
    ) -> Self {
        Subchannel {
            target,
            tls,
            connect_timeout,
            http2,
            keepalive_backoff: KeepaliveBackoff::default(),
            state: Mutex::new(State::default()),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// The address, as `host:port` (`localhost` for Unix sockets).
    pub(crate) fn authority(&self) -> &str {
        self.target.authority()
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update of plain data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether there is a live connection right now.
    pub(crate) fn is_connected(&self) -> bool {
        self.lock_state().connection.as_ref().is_some_and(ClientConnection::is_alive)
    }

    /// The error of the last failed attempt, if the last attempt failed.
    pub(crate) fn last_failure(&self) -> Option<String> {
        self.lock_state().failure.as_ref().map(|(error, _)| error.clone())
    }

    /// Drops the connection for good: calls in flight fail, later ones get UNAVAILABLE.
    pub(crate) fn close(&self) {
        let mut state = self.lock_state();
        state.closed = true;
        if let Some(connection) = state.connection.take() {
            connection.close();
        }
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
            let _turn = self.connecting.lock().await;
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
                    state.backoff.reset();
                    return Ok(connection);
                }
                Err(error) => {
                    let mut state = self.lock_state();
                    let delay = state.backoff.failed();
                    state.failure = Some((error.0.clone(), Instant::now() + delay));
                    if !wait_for_ready {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// One attempt: the byte stream, then the HTTP/2 handshake.
    async fn connect(&self) -> Result<ClientConnection, ConnectFailure> {
        let authority = self.authority();
        let io = tokio::time::timeout(self.connect_timeout, connect::open(&self.target, self.tls.as_ref(), authority))
            .await
            .map_err(|_| ConnectFailure(format!("connecting to {authority} timed out")))??;
        ClientConnection::handshake(io, &self.http2, self.keepalive_backoff.clone())
            .await
            .map_err(|e| ConnectFailure(format!("HTTP/2 handshake with {authority} failed: {e}")))
    }

    /// Drops the connection if it is `failed`, so the next call reconnects.
    pub(crate) fn forget(&self, failed: &ClientConnection) {
        let mut state = self.lock_state();
        if state.connection.as_ref().is_some_and(|c| c.same_as(failed)) {
            state.connection = None;
        }
    }
}
