//! What both sides need of a connection: the byte stream it runs on, its HTTP/2 settings, the
//! write coalescing its task runs under, its frame headers read in passing, its TLS (when the
//! crate has it), the names in a peer's certificate, and TLS failures explained.

pub(crate) mod coalesce;
pub(crate) mod frames;
pub(crate) mod http2;
pub(crate) mod io;
pub(crate) mod memory;
pub(crate) mod tls;
#[cfg(feature = "tls")]
pub(crate) mod tls_failure;
// Without TLS there are no certificates to read: `AuthContext` stays, but nothing makes one.
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) mod x509;
