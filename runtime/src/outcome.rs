//! `CallOutcome`: how a call ended, as interceptors on either side are told.

use std::time::Duration;

use crate::{Code, Metadata, RpcError};

/// How a call ended: its status, the trailing metadata, and how long it took. Interceptors get
/// one when a call completes ([`ServerInterceptor::completed`](crate::ServerInterceptor::completed),
/// [`ClientInterceptor::completed`](crate::ClientInterceptor::completed)).
#[derive(Debug)]
pub struct CallOutcome<'a> {
    pub(crate) error: Option<&'a RpcError>,
    pub(crate) trailing_metadata: &'a Metadata,
    pub(crate) duration: Duration,
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
}
