//! A channel's connectivity state (grpc/grpc `doc/connectivity-semantics-and-api.md`), and the
//! watch that publishes its changes.

use std::fmt;

/// The state of a channel's connections, as gRPC defines it.
///
/// ```
/// use rust_rpc::ConnectivityState;
/// let channel = rust_rpc::insecure_channel("localhost:50051")?;
/// // A new channel has not tried to connect yet.
/// assert_eq!(channel.state(false), ConnectivityState::Idle);
/// # Ok::<(), rust_rpc::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectivityState {
    /// No connection and no attempt under way: a new channel, or one idle for its idle timeout.
    /// A call (or [`Channel::state`](crate::Channel::state) with `try_to_connect`) starts
    /// connecting.
    Idle,
    /// Resolving the target or connecting, with no connection ready yet.
    Connecting,
    /// At least one connection is ready for calls.
    Ready,
    /// Connecting failed and the channel is waiting to try again. Calls without wait-for-ready
    /// fail at once with UNAVAILABLE.
    TransientFailure,
    /// The channel was closed; it will never connect again.
    Shutdown,
}

impl ConnectivityState {
    /// gRPC's name of the state, as in `TRANSIENT_FAILURE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectivityState::Idle => "IDLE",
            ConnectivityState::Connecting => "CONNECTING",
            ConnectivityState::Ready => "READY",
            ConnectivityState::TransientFailure => "TRANSIENT_FAILURE",
            ConnectivityState::Shutdown => "SHUTDOWN",
        }
    }
}

impl fmt::Display for ConnectivityState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
