//! The TLS types the transport carries whether or not the crate has TLS (feature `tls`, on by
//! default). Without it they have no values, so every `Option` of them is `None`: no port
//! and no channel can ask for TLS, and the code that would run it is not compiled.

/// A port's TLS: rustls' acceptor, with the server's certificate.
#[cfg(feature = "tls")]
pub(crate) type Acceptor = tokio_rustls::TlsAcceptor;

/// A port's TLS, in a build without it: no value exists.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(crate) enum Acceptor {}

/// A channel's TLS: its credentials.
#[cfg(feature = "tls")]
pub(crate) type ClientTls = crate::credentials::ChannelCredentials;

/// A channel's TLS, in a build without it: no value exists.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Debug)]
pub(crate) enum ClientTls {}
