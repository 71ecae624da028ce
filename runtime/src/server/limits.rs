//! The limits a server puts on each connection and on its peers, with their defaults (README,
//! "Server limits", has the table: each limit, its default, and what a peer sees when it hits
//! it). `ServerBuilder` sets them; `listener.rs`, `connection.rs` and `guard.rs` apply them.

use std::sync::Arc;
use std::time::Duration;

use crate::server::lifetime::ConnectionLifetime;

/// How a server's connections are limited.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionLimits {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (default 200, hyper's): streams beyond it are refused
    /// with REFUSED_STREAM, which clients queue for or retry.
    pub(crate) max_concurrent_streams: u32,
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` (default 16 KiB).
    pub(crate) max_header_list_size: u32,
    /// From accepting a connection to its TLS handshake, the client's preface and its first
    /// frame (default 20 s).
    pub(crate) handshake_timeout: Duration,
    /// Streams a client may open and reset before the server accepted them (default 20, h2's):
    /// the HTTP/2 rapid-reset attack (CVE-2023-44487).
    pub(crate) max_pending_accept_reset_streams: usize,
    /// Streams the server may reset for a client's protocol errors (default 1024, hyper's).
    pub(crate) max_local_error_reset_streams: usize,
    /// Connections open at once across the server's ports (default: no limit).
    pub(crate) max_connections: Option<usize>,
    /// What PINGs a client may send (gRFC A8).
    pub(crate) keepalive_policy: KeepalivePolicy,
    /// When a connection is told GOAWAY for its idleness or age, and closed (gRFC A9; all off
    /// by default).
    pub(crate) lifetime: ConnectionLifetime,
}

/// The shortest interval between a client's PINGs the server tolerates (gRPC's keepalive
/// enforcement policy, gRFC A8).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeepalivePolicy {
    /// PINGs closer together than this are strikes (default 5 minutes, as grpc-go, grpc-java
    /// and gRPC core).
    pub(crate) min_time: Duration,
    /// Whether PINGs are fine while no call is open (default false): without, a PING less
    /// than 2 hours after the last one on an idle connection is a strike.
    pub(crate) permit_without_calls: bool,
}

/// Strikes a client may collect before it is told GOAWAY `too_many_pings`: the third is one
/// too many, as in grpc-go and gRPC core.
pub(crate) const MAX_PING_STRIKES: u32 = 2;

/// The interval gRPC expects between PINGs on a connection without calls when the policy does
/// not permit them (grpc-go's `defaultPingTimeout`).
pub(crate) const IDLE_PING_INTERVAL: Duration = Duration::from_secs(2 * 60 * 60);

impl ConnectionLimits {
    /// When a connection accepted now must have sent its first frame (far off for a timeout
    /// too long to add to the clock).
    pub(crate) fn handshake_deadline(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        now.checked_add(self.handshake_timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86400))
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_concurrent_streams: 200,
            max_header_list_size: 16 * 1024,
            handshake_timeout: Duration::from_secs(20),
            max_pending_accept_reset_streams: 20,
            max_local_error_reset_streams: 1024,
            max_connections: None,
            keepalive_policy: KeepalivePolicy { min_time: Duration::from_secs(5 * 60), permit_without_calls: false },
            lifetime: ConnectionLifetime::default(),
        }
    }
}

/// The connections open on a server, against its `max_connections`: each holds a slot until
/// it closes.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionSlots(Option<Arc<tokio::sync::Semaphore>>);

impl ConnectionSlots {
    /// Slots for at most `max` connections (`None`: no limit, no counting).
    pub(crate) fn new(max: Option<usize>) -> Self {
        ConnectionSlots(max.map(|max| Arc::new(tokio::sync::Semaphore::new(max))))
    }

    /// A slot for one more connection, held until the guard drops; `Err` when all are taken.
    pub(crate) fn take(&self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ()> {
        match &self.0 {
            None => Ok(None),
            Some(slots) => slots.clone().try_acquire_owned().map(Some).map_err(|_| ()),
        }
    }
}
