//! What both sides need of a connection: the byte stream it runs on, its HTTP/2 settings, the
//! write coalescing its task runs under, its frame headers read in passing, and the names in a peer's certificate.

pub(crate) mod coalesce;
pub(crate) mod frames;
pub(crate) mod http2;
pub(crate) mod io;
pub(crate) mod memory;
pub(crate) mod x509;
