//! What both sides need of a connection: the byte stream it runs on, its HTTP/2 settings, and
//! the write coalescing its task runs under.

pub(crate) mod coalesce;
pub(crate) mod http2;
pub(crate) mod io;
