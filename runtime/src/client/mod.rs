//! The client side: channels and calls.

pub(crate) mod call;
pub(crate) mod channel;
