//! Message size limits: the default, and how each side's limits are named in errors.

/// The default limit on the size of a received message: 4 MiB, as in every gRPC implementation.
pub(crate) const DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH: usize = 4 * 1024 * 1024;

/// A limit as errors name it: which message it is on, and whose limit it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limit {
    /// "request" or "response".
    pub(crate) what: &'static str,
    /// The limit's name, as in "the server's receive limit".
    pub(crate) name: &'static str,
}

impl Limit {
    /// The channel's limit on the requests it sends.
    pub(crate) const CLIENT_SEND: Limit = Limit { what: "request", name: "the channel's send limit" };
    /// The channel's limit on the responses it reads.
    pub(crate) const CLIENT_RECEIVE: Limit = Limit { what: "response", name: "the channel's receive limit" };
    /// The server's limit on the responses it sends.
    pub(crate) const SERVER_SEND: Limit = Limit { what: "response", name: "the server's send limit" };
    /// The server's limit on the requests it reads.
    pub(crate) const SERVER_RECEIVE: Limit = Limit { what: "request", name: "the server's receive limit" };
}
