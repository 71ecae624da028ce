//! What every call of a server shares, and what the router learns of each call's request before
//! its handler runs.

use std::sync::Arc;

use crate::Compression;
use crate::server::interceptor::Chain;
use crate::server::stop::StopSignal;
use crate::wire::compress::Accepted;

/// Server-wide limits, shared by every call.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_receive_message_length: usize,
    pub(crate) max_send_message_length: usize,
}

/// What every call of a server shares, behind one `Arc` so a call takes it with one count
/// increment (cloning the stop signal's `CancellationToken` takes a lock).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    /// The server's stop signal.
    pub(crate) stop: StopSignal,
}

/// What a call needs besides its context: limits, the server's stop signal, and the encodings
/// the router read off the request headers.
#[derive(Clone)]
pub(crate) struct CallEnv {
    pub(crate) shared: Arc<Shared>,
    /// The request's `grpc-encoding`.
    pub(crate) request_encoding: Option<Compression>,
    /// What the client's `grpc-accept-encoding` lists.
    pub(crate) accepted: Accepted,
    /// The method's interceptors; `None` for most servers, which then skip all of it.
    pub(crate) interceptors: Option<Chain>,
}
