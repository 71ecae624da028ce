//! A subchannel: one connection, to the first of its addresses that answers (pick_first gives
//! it every address, round_robin one each), made by a task of its own and remade after failed
//! attempts with gRPC's connection backoff. Its state changes wake the channel's balancer
//! (`lb/mod.rs`), which decides when it connects.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;

use crate::client::backoff::{Backoff, BackoffConfig};
use crate::client::connect::{self, ConnectFailure};
use crate::client::connection::ClientConnection;
use crate::client::keepalive::KeepaliveBackoff;
use crate::client::resolver::address::Address;
use crate::transport::http2::Http2Settings;
use crate::transport::tls::ClientTls;

/// What every subchannel of a channel connects with.
pub(crate) struct Connector {
    pub(crate) tls: Option<ClientTls>,
    /// The name the server's certificate must carry.
    pub(crate) tls_host: String,
    /// The channel's target, as `host:port`, for errors.
    pub(crate) authority: String,
    /// gRPC's minimum connect timeout: how long one attempt may take at least.
    pub(crate) connect_timeout: Duration,
    pub(crate) http2: Http2Settings,
    pub(crate) backoff: BackoffConfig,
    /// The keepalive interval's doublings asked for by servers (gRFC A8).
    pub(crate) keepalive_backoff: KeepaliveBackoff,
}

/// Where a subchannel stands.
#[derive(Clone)]
pub(crate) enum SubchannelState {
    /// Not connected, and not trying.
    Idle,
    /// An attempt is under way; `failed_before` after failed ones (the channel stays in
    /// TRANSIENT_FAILURE then).
    Connecting { failed_before: bool },
    /// Connected, to `address`.
    Ready { connection: ClientConnection, address: Address },
    /// The last attempt failed with this error; the next starts after the backoff.
    TransientFailure(String),
    /// Shut down by the balancer; never connects again.
    Shutdown,
}

pub(crate) struct Subchannel {
    connector: Arc<Connector>,
    addresses: Mutex<Vec<Address>>,
    state: Mutex<SubchannelState>,
    /// Set when a ready connection was lost: the balancer asks the resolver again.
    lost: AtomicBool,
    /// The balancer's wake-up.
    changed: Arc<Notify>,
    task: Mutex<Option<AbortHandle>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-update of plain data.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Subchannel {
    pub(crate) fn new(connector: Arc<Connector>, addresses: Vec<Address>, changed: Arc<Notify>) -> Arc<Self> {
        Arc::new(Subchannel {
            connector,
            addresses: Mutex::new(addresses),
            state: Mutex::new(SubchannelState::Idle),
            lost: AtomicBool::new(false),
            changed,
            task: Mutex::new(None),
        })
    }

    pub(crate) fn state(&self) -> SubchannelState {
        lock(&self.state).clone()
    }

    /// Whether this subchannel connects to exactly `address` (round_robin's subchannels).
    pub(crate) fn is_for(&self, address: &Address) -> bool {
        lock(&self.addresses).as_slice() == std::slice::from_ref(address)
    }

    /// Whether a ready connection was lost since the last call.
    pub(crate) fn take_lost(&self) -> bool {
        self.lost.swap(false, Ordering::AcqRel)
    }

    /// Replaces the addresses; a connection to an address no longer listed is dropped (true
    /// then).
    pub(crate) fn set_addresses(&self, addresses: Vec<Address>) -> bool {
        let mut current = lock(&self.addresses);
        if *current == addresses {
            return false;
        }
        let mut dropped = false;
        let mut state = lock(&self.state);
        if let SubchannelState::Ready { connection, address } = &*state
            && !addresses.contains(address)
        {
            connection.close();
            *state = SubchannelState::Idle;
            self.abort_task();
            self.lost.store(true, Ordering::Release);
            self.changed.notify_one();
            dropped = true;
        }
        *current = addresses;
        dropped
    }

    /// Starts connecting if idle.
    pub(crate) fn connect(self: &Arc<Self>) {
        let mut state = lock(&self.state);
        if !matches!(*state, SubchannelState::Idle) {
            return;
        }
        *state = SubchannelState::Connecting { failed_before: false };
        drop(state);
        let task = tokio::spawn(self.clone().run());
        *lock(&self.task) = Some(task.abort_handle());
    }

    fn abort_task(&self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }

    /// Sets the state unless shut down; false if it was.
    fn set(&self, new: SubchannelState) -> bool {
        let mut state = lock(&self.state);
        if matches!(*state, SubchannelState::Shutdown) {
            return false;
        }
        *state = new;
        drop(state);
        self.changed.notify_one();
        true
    }

    /// Connects, with backoff between failed attempts, until a connection is made; then waits
    /// for its end and goes idle.
    async fn run(self: Arc<Self>) {
        let mut backoff = Backoff::new(self.connector.backoff);
        let mut failed_before = false;
        // gRPC's connection backoff: each attempt may take the minimum connect timeout, or the
        // current backoff delay if that is longer.
        let mut timeout = self.connector.connect_timeout;
        loop {
            if !self.set(SubchannelState::Connecting { failed_before }) {
                return;
            }
            match self.connect_once(timeout).await {
                Ok((connection, address)) => {
                    if !self.set(SubchannelState::Ready { connection: connection.clone(), address }) {
                        connection.close();
                        return;
                    }
                    connection.ended().await;
                    let mut state = lock(&self.state);
                    if let SubchannelState::Ready { connection: current, .. } = &*state
                        && current.same_as(&connection)
                    {
                        *state = SubchannelState::Idle;
                        self.lost.store(true, Ordering::Release);
                        drop(state);
                        self.changed.notify_one();
                    }
                    return;
                }
                Err(ConnectFailure(error)) => {
                    failed_before = true;
                    if !self.set(SubchannelState::TransientFailure(error)) {
                        return;
                    }
                    let delay = backoff.failed();
                    timeout = self.connector.connect_timeout.max(delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt over the addresses, in order: the first connection made.
    async fn connect_once(&self, timeout: Duration) -> Result<(ClientConnection, Address), ConnectFailure> {
        let addresses = lock(&self.addresses).clone();
        let mut last = ConnectFailure(format!("no addresses to connect to for {}", self.connector.authority));
        for address in &addresses {
            match self.connect_to(address, timeout).await {
                Ok(connection) => return Ok((connection, address.clone())),
                Err(failure) => last = failure,
            }
        }
        if addresses.len() > 1 {
            let (count, target) = (addresses.len(), &self.connector.authority);
            last = ConnectFailure(format!(
                "failed to connect to all {count} addresses of {target}; last error: {}",
                last.0
            ));
        }
        Err(last)
    }

    /// The byte stream, then the HTTP/2 handshake.
    async fn connect_to(&self, address: &Address, timeout: Duration) -> Result<ClientConnection, ConnectFailure> {
        let connector = &*self.connector;
        let io = tokio::time::timeout(
            timeout,
            connect::open(address, connector.tls.as_ref(), &connector.tls_host, &connector.authority),
        )
        .await
        .map_err(|_| ConnectFailure(format!("connecting to {address} timed out")))??;
        ClientConnection::handshake(io, &connector.http2, connector.keepalive_backoff.clone())
            .await
            .map_err(|e| ConnectFailure(format!("HTTP/2 handshake with {address} failed: {e}")))
    }

    /// Drops the connection if it is `failed` (it refused a new stream), so the balancer
    /// connects again. Calls still running on it go on.
    pub(crate) fn forget(&self, failed: &ClientConnection) -> bool {
        let mut state = lock(&self.state);
        let SubchannelState::Ready { connection, .. } = &*state else { return false };
        if !connection.same_as(failed) {
            return false;
        }
        *state = SubchannelState::Idle;
        drop(state);
        self.abort_task();
        self.lost.store(true, Ordering::Release);
        self.changed.notify_one();
        true
    }

    /// Stops for good; `close_connection` also ends the calls on its connection.
    pub(crate) fn shutdown(&self, close_connection: bool) {
        let old = std::mem::replace(&mut *lock(&self.state), SubchannelState::Shutdown);
        self.abort_task();
        if let (true, SubchannelState::Ready { connection, .. }) = (close_connection, old) {
            connection.close();
        }
    }
}
