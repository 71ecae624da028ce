//! `Address`: one place a channel can connect to, as resolvers give them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::transport::memory::Dialer;

/// One address a channel can connect to: a TCP socket address or a Unix socket path.
///
/// ```
/// use rust_rpc::Address;
/// let tcp = Address::from("127.0.0.1:50051".parse::<std::net::SocketAddr>().unwrap());
/// let unix = Address::unix("/run/app.sock");
/// assert_ne!(tcp, unix);
/// assert_eq!(tcp.to_string(), "127.0.0.1:50051");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Address(pub(crate) Endpoint);

/// What an [`Address`] is.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Tcp(SocketAddr),
    Unix(PathBuf),
    /// A server in this process, reached through in-memory pipes.
    Memory(Dialer),
}

impl Address {
    /// The Unix domain socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Address {
        Address(Endpoint::Unix(path.into()))
    }

    pub(crate) fn memory(dialer: Dialer) -> Address {
        Address(Endpoint::Memory(dialer))
    }
}

impl From<SocketAddr> for Address {
    fn from(address: SocketAddr) -> Address {
        Address(Endpoint::Tcp(address))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Endpoint::Tcp(address) => write!(f, "{address}"),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Memory(_) => f.write_str("in-process"),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
