//! `CallOutcome`: how a call ended, as interceptors on either side are told.

use std::time::Duration;

use crate::observe::{Counts, Tally};
use crate::{Code, Metadata, RpcError};

/// How a call ended: its status, the trailing metadata, how long it took, and the messages that
/// went each way. Interceptors get one when a call completes
/// ([`ServerInterceptor::completed`](crate::ServerInterceptor::completed),
/// [`ClientInterceptor::completed`](crate::ClientInterceptor::completed)).
#[derive(Debug)]
pub struct CallOutcome<'a> {
    pub(crate) error: Option<&'a RpcError>,
    pub(crate) trailing_metadata: &'a Metadata,
    pub(crate) duration: Duration,
    pub(crate) counts: Counts,
    /// The call's shared state: the client's span lives there.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) tally: &'a Tally,
    /// The channel's target, on the client; empty on the server.
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code))]
    pub(crate) target: &'a str,
}

impl CallOutcome<'_> {
    /// The status code: [`Code::Ok`] unless the call failed.
    pub fn code(&self) -> Code {
        self.error.map_or(Code::Ok, RpcError::code)
    }

    /// The error the call ended with; `None` for OK.
    pub fn error(&self) -> Option<&RpcError> {
        self.error
    }

    /// The trailing metadata sent (server) or received (client) with an OK status; an error's
    /// metadata is on the error.
    pub fn trailing_metadata(&self) -> &Metadata {
        self.trailing_metadata
    }

    /// From the start of the call (before the first interceptor ran) to its end.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// How many messages this side sent (requests on the client, responses on the server) and
    /// encoded for sending; with a failure, the last may not have reached the peer.
    pub fn messages_sent(&self) -> u64 {
        self.counts.sent
    }

    /// How many messages this side received and read whole.
    pub fn messages_received(&self) -> u64 {
        self.counts.received
    }

    /// The total wire size of the messages sent: each as it went out, compressed if it was,
    /// without the 5-byte gRPC prefix or metadata (gRFC A66's `sent_total_compressed_message_size`).
    pub fn sent_message_bytes(&self) -> u64 {
        self.counts.sent_bytes
    }

    /// The total wire size of the messages received, counted as [`sent_message_bytes`](Self::sent_message_bytes).
    pub fn received_message_bytes(&self) -> u64 {
        self.counts.received_bytes
    }
}
