//! In-memory connections: a byte stream pair in place of a socket, for a channel connected to a
//! server in the same process. Both ends run their usual HTTP/2 code over it, so calls behave
//! as over TCP.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::transport::io::IoStream;

/// How many bytes each direction of a pipe buffers before the writer waits for the reader:
/// HTTP/2's default stream window, so one stream's window fits without a wait.
const PIPE_BUFFER: usize = 64 * 1024;

/// A connected pair of in-memory byte streams: what one end writes, the other reads. Dropping
/// an end is the peer going away: the other end reads EOF and its writes fail.
pub(crate) fn pipe() -> (tokio::io::DuplexStream, tokio::io::DuplexStream) {
    tokio::io::duplex(PIPE_BUFFER)
}

/// A future giving a dialed connection, or why there is none.
pub(crate) type Dialing<'a> = Pin<Box<dyn Future<Output = Result<Box<dyn IoStream>, String>> + Send + 'a>>;

/// Something to open in-memory connections to: an in-process server.
pub(crate) trait Dial: Send + Sync + 'static {
    /// A new connection, served by the other side; an error (the server stopped) is the
    /// connection refused.
    fn dial(&self) -> Dialing<'_>;
}

/// A shared [`Dial`], as a channel's target holds it.
#[derive(Clone)]
pub(crate) struct Dialer(pub(crate) Arc<dyn Dial>);

impl Dialer {
    /// A new connection.
    pub(crate) fn dial(&self) -> Dialing<'_> {
        self.0.dial()
    }
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dialer")
    }
}

impl PartialEq for Dialer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Dialer {}
