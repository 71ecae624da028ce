//! The client side: channels and calls.

pub(crate) mod call;
pub(crate) mod channel;
pub(crate) mod executor;
pub(crate) mod request_body;
