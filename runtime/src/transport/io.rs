//! The byte stream under a connection.

use tokio::io::{AsyncRead, AsyncWrite};

/// A connected byte stream: TCP, Unix, or either under TLS.
pub(crate) trait IoStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> IoStream for T {}
