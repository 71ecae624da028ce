//! The gRPC protocol on HTTP/2, as both sides speak it: header names, the status, timeouts,
//! message framing and compression, and message size limits. Nothing here knows whether it runs
//! in a client or a server; `client/` and `server/` both build on it.

pub(crate) mod batch;
pub(crate) mod codec;
pub(crate) mod compress;
pub(crate) mod deframe;
pub(crate) mod frame;
pub(crate) mod headers;
pub(crate) mod limits;
pub(crate) mod status;
pub(crate) mod timeout;
