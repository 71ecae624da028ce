//! Per-call options: deadline, metadata, compression, wait-for-ready.

use std::time::{Duration, Instant};

use crate::client::call_credentials::{CallCredentials, SharedCredentials};
use crate::client::message_compression::MessageCompression;
use crate::propagate::Propagation;
use crate::{Compression, Metadata};

/// Options for one call: timeout or deadline, request metadata, compression and wait-for-ready.
///
/// Every generated stub call accepts these through its call builder (`.timeout(..)`,
/// `.metadata(..)`, `.options(..)`); a `CallOptions` value is handy when the same options go to
/// many calls.
///
/// ```
/// use std::time::Duration;
/// use rust_rpc::{CallOptions, Compression, Metadata};
///
/// let mut metadata = Metadata::new();
/// metadata.insert("authorization", "Bearer token")?;
/// let options = CallOptions::new()
///     .timeout(Duration::from_secs(2))
///     .metadata(metadata)
///     .compression(Compression::Gzip)
///     .wait_for_ready(true);
/// assert!(options.effective_deadline().is_some());
/// # Ok::<(), rust_rpc::MetadataError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) metadata: Metadata,
    pub(crate) compression: Option<Compression>,
    /// `None`: not set, so a service config may set it (else fail fast).
    pub(crate) wait_for_ready: Option<bool>,
    pub(crate) call_credentials: Option<SharedCredentials>,
    /// Set by `Call::message_compression`: per call, so not settable here.
    pub(crate) message_compression: Option<MessageCompression>,
    /// The call being served that this one inherits deadline and cancellation from.
    pub(crate) propagation: Option<Propagation>,
}

impl CallOptions {
    /// No deadline, no metadata, no compression, fail fast.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the call with DEADLINE_EXCEEDED if it has not finished `timeout` after it starts.
    /// The server is told through the `grpc-timeout` header.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Fails the call with DEADLINE_EXCEEDED if it has not finished by `deadline`. With both a
    /// timeout and a deadline, the earlier wins.
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sends `metadata` with the request, added to any metadata set before.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata.extend(metadata);
        self
    }

    /// Compresses the request messages with `compression`.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// With `true`, a call made while the channel cannot connect waits (until its deadline) for
    /// the connection instead of failing at once with UNAVAILABLE.
    pub fn wait_for_ready(mut self, wait: bool) -> Self {
        self.wait_for_ready = Some(wait);
        self
    }

    /// Sends `credentials`' metadata with the call, after the channel's interceptors and call
    /// credentials (see [`CallCredentials`]).
    pub fn call_credentials(mut self, credentials: impl CallCredentials) -> Self {
        self.call_credentials = Some(SharedCredentials::new(credentials));
        self
    }

    /// Makes the call inherit the deadline and cancellation of the call being served, from
    /// its [`ServicerContext`](crate::ServicerContext) (see [`Propagation`]): its deadline is
    /// the earlier of its own and the incoming call's, and it is cancelled when the incoming
    /// call ends first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rust_rpc::{CallOptions, ServicerContext};
    ///
    /// fn backend_options(context: &ServicerContext) -> CallOptions {
    ///     // At most 1 s, and never past the client's own deadline.
    ///     CallOptions::new().timeout(Duration::from_secs(1)).propagate(context)
    /// }
    /// ```
    pub fn propagate(mut self, from: impl Into<Propagation>) -> Self {
        self.propagation = Some(from.into());
        self
    }

    /// The deadline a call started now would have: the earliest of `deadline`, now + `timeout`
    /// and a propagated deadline.
    pub fn effective_deadline(&self) -> Option<Instant> {
        let from_timeout = self.timeout.and_then(|t| Instant::now().checked_add(t));
        let own = match (from_timeout, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.propagation.as_ref().and_then(Propagation::deadline) {
            None => own,
            Some(inherited) => Some(own.map_or(inherited, |own| own.min(inherited))),
        }
    }

    /// Combines `self` (defaults) with `other` (this call's options): other's settings win, and
    /// metadata from both is sent.
    pub(crate) fn merged_with(&self, other: CallOptions) -> CallOptions {
        let metadata = if self.metadata.is_empty() {
            // The usual case; skips re-inserting every entry of the call's metadata.
            other.metadata
        } else {
            let mut metadata = self.metadata.clone();
            metadata.extend(other.metadata);
            metadata
        };
        CallOptions {
            timeout: other.timeout.or(self.timeout),
            deadline: other.deadline.or(self.deadline),
            metadata,
            compression: other.compression.or(self.compression),
            wait_for_ready: other.wait_for_ready.or(self.wait_for_ready),
            call_credentials: other.call_credentials.or_else(|| self.call_credentials.clone()),
            message_compression: other.message_compression.or_else(|| self.message_compression.clone()),
            propagation: other.propagation.or_else(|| self.propagation.clone()),
        }
    }
}
