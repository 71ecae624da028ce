//! Name resolution: turning a channel's target into the addresses its load-balancing policy
//! connects to. [`Resolver`] is the public trait a user implements to plug in their own
//! discovery; `dns.rs` and `static_list.rs` are the built-in ones.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use crate::client::target::Target;
use crate::error::{Error, ErrorKind};
use crate::transport::memory::Dialer;

pub(crate) mod dns;
pub(crate) mod static_list;

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

/// What [`Resolver::resolve`] returns: the addresses, or why they could not be had.
pub type ResolveFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<Address>>> + Send + 'a>>;

/// Service discovery for a channel: where its target's servers are.
///
/// The channel calls [`resolve`](Resolver::resolve) when it first connects, again
/// periodically (see [`ChannelBuilder::resolution_interval`](crate::ChannelBuilder::resolution_interval))
/// and when a connection is lost, never more often than the minimum interval. A failed lookup
/// keeps the addresses of the last good one; an empty list is a failure too. Set one with
/// [`ChannelBuilder::resolver`](crate::ChannelBuilder::resolver); the channel's target then
/// only names the `:authority` (and the TLS server name) of its requests.
///
/// ```
/// use rust_rpc::{Address, ChannelBuilder, ResolveFuture, Resolver};
///
/// /// Addresses from a service registry; a fixed list here.
/// struct Registry(Vec<std::net::SocketAddr>);
///
/// impl Resolver for Registry {
///     fn resolve(&self) -> ResolveFuture<'_> {
///         Box::pin(async move { Ok(self.0.iter().copied().map(Address::from).collect()) })
///     }
/// }
///
/// let replicas = vec!["127.0.0.1:50051".parse()?, "127.0.0.2:50051".parse()?];
/// let channel = ChannelBuilder::new("my-service:50051")
///     .resolver(Registry(replicas))
///     .load_balancing(rust_rpc::LoadBalancing::RoundRobin)
///     .build()?;
/// # let _ = channel;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Resolver: Send + Sync + 'static {
    /// Looks the target's addresses up once.
    fn resolve(&self) -> ResolveFuture<'_>;
}

/// The resolver a channel uses, and whether its answer can change.
#[derive(Clone)]
pub(crate) struct ChannelResolver {
    pub(crate) resolver: Arc<dyn Resolver>,
    /// A fixed list (`ipv4:`, `unix:`, ...): looked up once, never again.
    pub(crate) fixed: bool,
}

impl ChannelResolver {
    /// The built-in resolver for `target`; a `dns://server/` target needs the `dns` feature.
    pub(crate) fn for_target(target: &Target, text: &str) -> Result<ChannelResolver, Error> {
        match target {
            Target::Static { addresses, .. } => {
                Ok(ChannelResolver { resolver: Arc::new(static_list::StaticList(addresses.clone())), fixed: true })
            }
            Target::Dns { server: None, host, port, .. } => {
                Ok(ChannelResolver { resolver: Arc::new(dns::SystemDns::new(host, *port)), fixed: false })
            }
            Target::Dns { server: Some(server), host, port, .. } => {
                let resolver = dns::server_resolver(*server, host, *port).map_err(|why| {
                    Error::new(ErrorKind::InvalidTarget, format!("invalid channel target {text:?}: {why}"))
                })?;
                Ok(ChannelResolver { resolver, fixed: false })
            }
        }
    }

    /// A user's resolver.
    pub(crate) fn custom(resolver: Arc<dyn Resolver>) -> ChannelResolver {
        ChannelResolver { resolver, fixed: false }
    }
}
