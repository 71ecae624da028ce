//! The HTTP/2 settings both sides share, with their defaults.

use std::time::Duration;

/// The largest header list a client accepts: 16 MiB, as grpc-go, so large metadata gets
/// through. (A server's is one of its limits, `server/limits.rs`.)
pub(crate) const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024 * 1024;

/// Flow-control windows and keepalive pings of a connection; `ChannelBuilder` and
/// `ServerBuilder` each hold one.
#[derive(Clone, Debug)]
pub(crate) struct Http2Settings {
    /// The initial window of each stream, in bytes (default 1 MiB).
    pub(crate) stream_window: u32,
    /// The initial window of the connection, in bytes (default 2 MiB).
    pub(crate) connection_window: u32,
    /// Send a PING at this interval (default: never).
    pub(crate) keepalive_interval: Option<Duration>,
    /// Close the connection when a PING is not answered within this (default 20 s, as gRPC's).
    pub(crate) keepalive_timeout: Duration,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            stream_window: 1024 * 1024,
            connection_window: 2 * 1024 * 1024,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
        }
    }
}

impl Http2Settings {
    /// `(interval, timeout)` when keepalive pings are on.
    pub(crate) fn keepalive(&self) -> Option<(Duration, Duration)> {
        self.keepalive_interval.map(|interval| (interval, self.keepalive_timeout))
    }
}
