//! What both sides need of a connection: the byte stream it runs on, its HTTP/2 settings, the
//! write coalescing its task runs under, its frame headers read in passing, the names in a
//! peer's certificate, and TLS failures explained.

pub(crate) mod coalesce;
pub(crate) mod frames;
pub(crate) mod http2;
pub(crate) mod io;
pub(crate) mod memory;
pub(crate) mod tls_failure;
pub(crate) mod x509;
