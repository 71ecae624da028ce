//! Opening the byte stream under a connection: TCP or a Unix socket, under TLS when the channel
//! has credentials.

use crate::client::resolver::address::{Address, Endpoint};
use crate::transport::io::IoStream;
use crate::transport::tls::ClientTls;

/// Why a connection could not be had; calls report it as UNAVAILABLE.
#[derive(Debug)]
pub(crate) struct ConnectFailure(pub(crate) String);

/// Connects to `address`; TLS checks the server's certificate for `tls_host`, and errors name
/// the channel's target by `authority`.
pub(crate) async fn open(
    address: &Address,
    tls: Option<&ClientTls>,
    tls_host: &str,
    authority: &str,
) -> Result<Box<dyn IoStream>, ConnectFailure> {
    match &address.0 {
        // An in-process channel refuses TLS when it is built (`channel.rs`): nothing to secure.
        Endpoint::Memory(dialer) => dialer.dial().await.map_err(ConnectFailure),
        Endpoint::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| ConnectFailure(format!("failed to connect to unix:{}: {e}", path.display())))?;
            maybe_tls(stream, tls, "localhost", authority).await
        }
        Endpoint::Tcp(socket) => {
            let stream = tokio::net::TcpStream::connect(socket).await.map_err(|e| {
                let named = if socket.to_string() == authority { String::new() } else { format!(" ({authority})") };
                ConnectFailure(format!("failed to connect to {socket}{named}: {e}"))
            })?;
            let _ = stream.set_nodelay(true);
            maybe_tls(stream, tls, tls_host, authority).await
        }
    }
}

#[cfg(not(feature = "tls"))]
async fn maybe_tls<S: IoStream>(
    stream: S,
    tls: Option<&ClientTls>,
    _host: &str,
    _authority: &str,
) -> Result<Box<dyn IoStream>, ConnectFailure> {
    match tls {
        None => Ok(Box::new(stream)),
        Some(never) => match *never {},
    }
}

#[cfg(feature = "tls")]
async fn maybe_tls<S: IoStream>(
    stream: S,
    tls: Option<&ClientTls>,
    host: &str,
    authority: &str,
) -> Result<Box<dyn IoStream>, ConnectFailure> {
    use crate::transport::tls_failure;

    let Some(credentials) = tls else {
        return Ok(Box::new(stream));
    };
    let (connector, name) = credentials.connector(host).map_err(|e| ConnectFailure(e.to_string()))?;
    let checked_name = name.to_str().into_owned();
    let tls = connector.connect(name, stream).await.map_err(|e| {
        // A refused certificate is explained: which one, why, and what to do.
        let why = tls_failure::rustls_error(&e).and_then(|e| tls_failure::explain(e, &checked_name));
        ConnectFailure(format!("TLS handshake with {authority} failed: {}", why.unwrap_or_else(|| e.to_string())))
    })?;
    Ok(Box::new(tls))
}
