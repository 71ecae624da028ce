//! The client side: channels and calls.

pub(crate) mod call;
pub(crate) mod channel;
pub(crate) mod connection;
pub(crate) mod decoder;
pub(crate) mod message_body;
pub(crate) mod request_head;
pub(crate) mod response_body;
pub(crate) mod send_body;
pub(crate) mod status;
pub(crate) mod unary;

/// The channel's limits, as its errors name them.
pub(crate) const SEND_LIMIT: &str = "the channel's send limit";
pub(crate) const RECEIVE_LIMIT: &str = "the channel's receive limit";
