//! Load balancing: the channel's resolver, its subchannels and the picker calls take a
//! connection from. `Balancer` runs one control task per channel while the channel is not
//! idle: it asks the resolver (at first, periodically, and after a connection is lost, never
//! more often than the minimum interval), keeps one subchannel per address (round_robin) or
//! one over all of them (pick_first), connects them, and publishes the ready connections to
//! the picker and the channel's connectivity state to its watchers.
//!
//! Calls only touch the picker: one short lock and a clone of a ready connection
//! ([`Balancer::pick_ready`]); everything else happens on the control task.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot, watch};
use tokio::task::AbortHandle;

use crate::RpcError;
use crate::client::connection::ClientConnection;
use crate::client::connectivity::ConnectivityState;
use crate::client::resolver::address::Address;
use crate::client::resolver::channel_resolver::ChannelResolver;
use crate::client::subchannel::{Connector, Subchannel, SubchannelState};

pub(crate) mod pick_first;
pub(crate) mod round_robin;

/// How a channel spreads its calls over its target's addresses.
///
/// ```
/// use rust_rpc::{ChannelBuilder, LoadBalancing};
/// let channel = ChannelBuilder::new("ipv4:127.0.0.1:50051,127.0.0.2:50051")
///     .load_balancing(LoadBalancing::RoundRobin)
///     .build()?;
/// # let _ = channel;
/// # Ok::<(), rust_rpc::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoadBalancing {
    /// gRPC's default (`pick_first`, gRFC A62): the addresses are tried in order and every call
    /// goes to the first that connects, until that connection is lost.
    #[default]
    PickFirst,
    /// `round_robin`: a connection to every address, calls spread over the ready ones in turn.
    RoundRobin,
}

impl LoadBalancing {
    /// The policy gRPC names `name` (`"pick_first"`, `"round_robin"`), as service config's
    /// `loadBalancingConfig` does.
    pub(crate) fn from_name(name: &str) -> Option<LoadBalancing> {
        match name {
            "pick_first" => Some(LoadBalancing::PickFirst),
            "round_robin" => Some(LoadBalancing::RoundRobin),
            _ => None,
        }
    }

    /// gRPC's name of the policy.
    pub fn name(self) -> &'static str {
        match self {
            LoadBalancing::PickFirst => "pick_first",
            LoadBalancing::RoundRobin => "round_robin",
        }
    }
}

/// The balancer's timing settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    /// How long a channel without calls stays connected.
    pub(crate) idle_timeout: Duration,
    /// How often the resolver is asked again while connected.
    pub(crate) resolution_interval: Duration,
    /// The shortest time between two lookups.
    pub(crate) min_resolution_interval: Duration,
}

/// The ready connections, for calls.
#[derive(Default)]
struct Picker {
    ready: Vec<ClientConnection>,
    /// round_robin's next index.
    next: usize,
}

/// What the control task manages.
#[derive(Default)]
struct Control {
    /// The control task, while the channel is not idle.
    task: Option<AbortHandle>,
    subchannels: Vec<Arc<Subchannel>>,
    /// The last good answer of the resolver.
    addresses: Option<Vec<Address>>,
    /// Why the last lookup failed, if it did.
    resolve_error: Option<String>,
    /// A lookup is wanted as soon as the minimum interval allows.
    resolve_now: bool,
    /// A call wants a connection: pick_first connects its idle subchannel (after losing a
    /// connection it waits for this, as gRFC A62 has it; round_robin reconnects at once).
    connect_requested: bool,
    closed: bool,
}

pub(crate) struct Balancer {
    picker: Mutex<Picker>,
    /// Set by every pick; the idle timer clears it.
    used: AtomicBool,
    policy: LoadBalancing,
    resolver: ChannelResolver,
    connector: Arc<Connector>,
    timing: Timing,
    /// The target as the user wrote it, for errors.
    target: String,
    state: watch::Sender<ConnectivityState>,
    control: Mutex<Control>,
    /// Wakes the control task: a subchannel changed, or a lookup was asked for.
    changed: Arc<Notify>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked mid-update of plain data.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Balancer {
    pub(crate) fn new(
        policy: LoadBalancing,
        resolver: ChannelResolver,
        connector: Connector,
        timing: Timing,
        target: String,
    ) -> Arc<Balancer> {
        Arc::new(Balancer {
            picker: Mutex::new(Picker::default()),
            used: AtomicBool::new(false),
            policy,
            resolver,
            connector: Arc::new(connector),
            timing,
            target,
            state: watch::channel(ConnectivityState::Idle).0,
            control: Mutex::new(Control::default()),
            changed: Arc::new(Notify::new()),
        })
    }

    /// A ready connection, if there is one: the calls' fast path.
    #[inline]
    pub(crate) fn pick_ready(&self) -> Option<ClientConnection> {
        let mut picker = lock(&self.picker);
        let count = picker.ready.len();
        let connection = match count {
            0 => return None,
            1 => &picker.ready[0],
            _ => {
                let start = picker.next;
                picker.next = start.wrapping_add(1);
                let found = (0..count).map(|i| (start + i) % count).find(|i| picker.ready[*i].is_alive())?;
                &picker.ready[found]
            }
        };
        let connection = connection.clone();
        drop(picker);
        // Written only when cleared (once per idle check), so calls on many threads do not
        // keep taking the flag's cache line from each other.
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
        connection.is_alive().then_some(connection)
    }

    /// Whether a ready connection is alive now.
    pub(crate) fn has_live_connection(&self) -> bool {
        lock(&self.picker).ready.iter().any(ClientConnection::is_alive)
    }

    /// A connection for one attempt of a call, waiting while the channel connects. Without
    /// `wait_for_ready`, a channel in TRANSIENT_FAILURE fails the call at once with
    /// UNAVAILABLE; with it, the call waits for a connection until its deadline drops this.
    pub(crate) async fn pick(self: &Arc<Self>, wait_for_ready: bool) -> Result<ClientConnection, RpcError> {
        let mut states = self.state.subscribe();
        loop {
            if let Some(connection) = self.pick_ready() {
                return Ok(connection);
            }
            let state = *states.borrow_and_update();
            match state {
                ConnectivityState::Shutdown => {
                    return Err(RpcError::unavailable(format!("the channel to {} was closed", self.target)));
                }
                ConnectivityState::TransientFailure if !wait_for_ready => {
                    // The failure names the target (or the address, with the target).
                    return Err(RpcError::unavailable(self.failure()));
                }
                // Idle: start. Otherwise a wake-up for the control task (and a new one if the
                // runtime it ran on is gone).
                _ => self.exit_idle()?,
            }
            if states.changed().await.is_err() {
                return Err(RpcError::unavailable(format!("the channel to {} was closed", self.target)));
            }
        }
    }

    /// Why the channel has no connection: the last failed attempt or lookup.
    pub(crate) fn failure(&self) -> String {
        let control = lock(&self.control);
        let connecting = control.subchannels.iter().find_map(|s| match s.state() {
            SubchannelState::TransientFailure(error) => Some(error),
            _ => None,
        });
        connecting.or_else(|| control.resolve_error.clone()).unwrap_or_else(|| "not connected yet".to_owned())
    }

    /// The channel's connectivity state now.
    pub(crate) fn state(&self) -> ConnectivityState {
        *self.state.borrow()
    }

    /// A receiver of every state change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<ConnectivityState> {
        self.state.subscribe()
    }

    /// Starts resolving and connecting, if the channel is idle.
    pub(crate) fn exit_idle(self: &Arc<Self>) -> Result<(), RpcError> {
        let mut control = lock(&self.control);
        if control.closed {
            return Ok(());
        }
        control.connect_requested = true;
        match &control.task {
            Some(task) if !task.is_finished() => {
                drop(control);
                self.changed.notify_one();
                return Ok(());
            }
            // The runtime the task ran on was shut down, and with it the subchannels' tasks:
            // start over on this one.
            Some(_) => {
                for subchannel in control.subchannels.drain(..) {
                    subchannel.shutdown(false);
                }
                control.addresses = None;
                control.resolve_error = None;
                lock(&self.picker).ready.clear();
            }
            None => {}
        }
        let handle = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle,
            Err(_) => crate::client::background::runtime()?.clone(),
        };
        self.state.send_replace(ConnectivityState::Connecting);
        control.task = Some(handle.spawn(self.clone().run()).abort_handle());
        Ok(())
    }

    /// Drops `connection` from the picker: it refused a new stream (a GOAWAY), so the balancer
    /// connects again.
    pub(crate) fn forget(&self, connection: &ClientConnection) {
        lock(&self.picker).ready.retain(|c| !c.same_as(connection));
        let control = lock(&self.control);
        for subchannel in &control.subchannels {
            if subchannel.forget(connection) {
                break;
            }
        }
    }

    /// Ends everything for good: state SHUTDOWN; `close_connections` also fails the calls in
    /// flight (`Channel::close`), else they finish (the channel was dropped).
    pub(crate) fn shutdown(&self, close_connections: bool) {
        let mut control = lock(&self.control);
        control.closed = true;
        if let Some(task) = control.task.take() {
            task.abort();
        }
        for subchannel in control.subchannels.drain(..) {
            subchannel.shutdown(close_connections);
        }
        lock(&self.picker).ready.clear();
        drop(control);
        self.state.send_replace(ConnectivityState::Shutdown);
    }

    /// The control task: lookups, subchannels, the picker and the state, until the channel is
    /// closed or goes idle.
    async fn run(self: Arc<Self>) {
        let mut last_lookup: Option<Instant> = None;
        let mut next_periodic = Instant::now();
        let mut lookup: Option<oneshot::Receiver<io::Result<Vec<Address>>>> = None;
        let mut idle_check = Instant::now() + self.timing.idle_timeout;
        self.used.store(true, Ordering::Relaxed);
        loop {
            let now = Instant::now();
            let (wanted, resolved_once) = {
                let control = lock(&self.control);
                (control.resolve_now, control.addresses.is_some() || control.resolve_error.is_some())
            };
            let due = match last_lookup {
                None => true,
                Some(_) if self.resolver.fixed && resolved_once => false,
                Some(last) => {
                    let allowed = last + self.timing.min_resolution_interval;
                    (wanted || now >= next_periodic) && now >= allowed
                }
            };
            if due && lookup.is_none() {
                last_lookup = Some(now);
                next_periodic = now + self.timing.resolution_interval;
                lock(&self.control).resolve_now = false;
                let (answer, receiver) = oneshot::channel();
                let resolver = self.resolver.resolver.clone();
                tokio::spawn(async move {
                    let _ = answer.send(resolver.resolve().await);
                });
                lookup = Some(receiver);
            }
            self.update();
            // When to look again, if nothing wakes the task before.
            let mut wake = idle_check;
            // (Not while a lookup is under way: its answer wakes the task.)
            if !self.resolver.fixed
                && lookup.is_none()
                && let Some(last) = last_lookup
            {
                let wanted = lock(&self.control).resolve_now;
                let earliest = last + self.timing.min_resolution_interval;
                wake = wake.min(if wanted { earliest } else { next_periodic.max(earliest) });
            }
            let changed = self.changed.notified();
            let looked_up = async {
                match lookup.as_mut() {
                    Some(receiver) => Some(receiver.await),
                    None => std::future::pending().await,
                }
            };
            let answer = tokio::select! {
                _ = changed => None,
                _ = tokio::time::sleep_until(wake.into()) => None,
                answer = looked_up => answer,
            };
            if let Some(answer) = answer {
                lookup = None;
                self.apply(answer.unwrap_or_else(|_| Err(io::Error::other("the lookup task ended"))));
            }
            if Instant::now() >= idle_check {
                idle_check = Instant::now() + self.timing.idle_timeout;
                if !self.used.swap(false, Ordering::Relaxed) && self.open_calls() == 0 && self.go_idle() {
                    return;
                }
            }
        }
    }

    /// Calls open on the ready connections.
    fn open_calls(&self) -> usize {
        lock(&self.picker).ready.iter().map(ClientConnection::open_calls).sum()
    }

    /// Back to IDLE after the idle timeout: connections closed, the task ends. False if the
    /// channel was closed meanwhile.
    fn go_idle(&self) -> bool {
        let mut control = lock(&self.control);
        if control.closed {
            return false;
        }
        control.task = None;
        for subchannel in control.subchannels.drain(..) {
            subchannel.shutdown(true);
        }
        control.addresses = None;
        control.resolve_error = None;
        lock(&self.picker).ready.clear();
        drop(control);
        self.state.send_replace(ConnectivityState::Idle);
        true
    }

    /// A lookup's answer: new subchannels for new addresses, none for gone ones; a failure
    /// keeps the last good list.
    fn apply(&self, answer: io::Result<Vec<Address>>) {
        let mut control = lock(&self.control);
        if control.closed {
            return;
        }
        let addresses = match answer {
            // A failure is retried once the minimum interval has passed.
            Ok(addresses) if addresses.is_empty() => {
                control.resolve_error = Some(format!("name resolution of {} returned no addresses", self.target));
                control.resolve_now = true;
                return;
            }
            Ok(addresses) => addresses,
            Err(error) => {
                control.resolve_error = Some(format!("name resolution of {} failed: {error}", self.target));
                control.resolve_now = true;
                return;
            }
        };
        control.resolve_error = None;
        let control = &mut *control;
        match self.policy {
            LoadBalancing::PickFirst => {
                if pick_first::update(&mut control.subchannels, &addresses, &self.connector, &self.changed) {
                    control.connect_requested = true;
                }
            }
            LoadBalancing::RoundRobin => {
                round_robin::update(&mut control.subchannels, &addresses, &self.connector, &self.changed)
            }
        }
        control.addresses = Some(addresses);
    }

    /// Connects idle subchannels, then publishes the ready connections and the state.
    fn update(&self) {
        let mut control = lock(&self.control);
        if control.closed {
            return;
        }
        let mut ready = Vec::new();
        let (mut any_connecting, mut any_failed, mut any_idle) = (false, false, false);
        let mut resolve_now = false;
        let connect = control.connect_requested || self.policy == LoadBalancing::RoundRobin;
        for subchannel in &control.subchannels {
            resolve_now |= subchannel.take_lost();
            match subchannel.state() {
                SubchannelState::Idle if connect => {
                    subchannel.connect();
                    any_connecting = true;
                }
                SubchannelState::Idle => any_idle = true,
                SubchannelState::Connecting { failed_before: false } => any_connecting = true,
                SubchannelState::Connecting { failed_before: true } => any_failed = true,
                SubchannelState::TransientFailure(_) => {
                    any_failed = true;
                    resolve_now = true;
                }
                SubchannelState::Ready { connection, .. } => ready.push(connection),
                SubchannelState::Shutdown => {}
            }
        }
        control.resolve_now |= resolve_now;
        if !control.subchannels.is_empty() {
            control.connect_requested = false;
        }
        let state = if !ready.is_empty() {
            ConnectivityState::Ready
        } else if any_connecting {
            ConnectivityState::Connecting
        } else if any_failed || control.resolve_error.is_some() {
            ConnectivityState::TransientFailure
        } else if any_idle {
            ConnectivityState::Idle
        } else {
            ConnectivityState::Connecting
        };
        {
            let mut picker = lock(&self.picker);
            picker.ready = ready;
        }
        drop(control);
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_by_their_grpc_names() {
        for policy in [LoadBalancing::PickFirst, LoadBalancing::RoundRobin] {
            assert_eq!(LoadBalancing::from_name(policy.name()), Some(policy));
        }
        assert_eq!(LoadBalancing::from_name("grpclb"), None);
        let mut builder = crate::ChannelBuilder::new("localhost:1");
        assert!(builder.set_load_balancing_name("round_robin"));
        assert_eq!(builder.load_balancing, LoadBalancing::RoundRobin);
        assert!(!builder.set_load_balancing_name("weighted_round_robin"));
        assert_eq!(builder.load_balancing, LoadBalancing::RoundRobin, "unchanged");
    }
}
