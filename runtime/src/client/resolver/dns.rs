//! DNS: `dns:///name:port` and plain `name:port` through the system's resolver
//! (`getaddrinfo`, on tokio's blocking pool), `dns://server/name:port` by asking that server
//! (feature `dns`, with hickory-resolver).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::client::resolver::address::Address;
use crate::client::resolver::resolve::{ResolveFuture, Resolver};

/// A name looked up with the system's resolver. IP literals are answered without a lookup.
pub(crate) struct SystemDns {
    name: String,
}

impl SystemDns {
    pub(crate) fn new(host: &str, port: u16) -> SystemDns {
        let name = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        SystemDns { name }
    }
}

impl Resolver for SystemDns {
    fn resolve(&self) -> ResolveFuture<'_> {
        Box::pin(async move {
            let found = tokio::net::lookup_host(self.name.as_str())
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("DNS lookup of {} failed: {e}", self.name)))?;
            let mut addresses: Vec<Address> = Vec::new();
            for address in found.map(Address::from) {
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
            Ok(addresses)
        })
    }
}

/// The resolver of a `dns://server/name:port` target.
#[cfg(feature = "dns")]
pub(crate) fn server_resolver(server: SocketAddr, host: &str, port: u16) -> Result<Arc<dyn Resolver>, String> {
    Ok(Arc::new(ServerDns::new(server, host, port)?))
}

/// Without the `dns` feature there is no DNS client to ask a given server.
#[cfg(not(feature = "dns"))]
pub(crate) fn server_resolver(server: SocketAddr, _host: &str, _port: u16) -> Result<Arc<dyn Resolver>, String> {
    Err(format!(
        "asking the DNS server {server} needs rust-rpc's cargo feature \"dns\"; \
         dns:///name:port uses the system's resolver without it"
    ))
}

/// A name looked up by asking one DNS server, over UDP (TCP when the answer is truncated).
#[cfg(feature = "dns")]
struct ServerDns {
    server: SocketAddr,
    host: String,
    port: u16,
    resolver: hickory_resolver::TokioResolver,
}

#[cfg(feature = "dns")]
impl ServerDns {
    fn new(server: SocketAddr, host: &str, port: u16) -> Result<ServerDns, String> {
        use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
        use hickory_resolver::net::runtime::TokioRuntimeProvider;

        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
        name_server.connections = vec![udp, tcp];
        let config = ResolverConfig::from_name_servers(vec![name_server]);
        let mut builder = hickory_resolver::TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        // The channel decides when to look again; every lookup asks the server.
        builder.options_mut().cache_size = 0;
        let resolver = builder.build().map_err(|e| format!("cannot make a DNS client for {server}: {e}"))?;
        Ok(ServerDns { server, host: host.to_owned(), port, resolver })
    }
}

#[cfg(feature = "dns")]
impl Resolver for ServerDns {
    fn resolve(&self) -> ResolveFuture<'_> {
        Box::pin(async move {
            if let Ok(ip) = self.host.parse::<std::net::IpAddr>() {
                return Ok(vec![Address::from(SocketAddr::new(ip, self.port))]);
            }
            // A fully qualified name: the search domains of the system play no part.
            let name = if self.host.ends_with('.') { self.host.clone() } else { format!("{}.", self.host) };
            let found =
                self.resolver.lookup_ip(name.as_str()).await.map_err(|e| {
                    io::Error::other(format!("DNS lookup of {} at {} failed: {e}", self.host, self.server))
                })?;
            Ok(found.iter().map(|ip| Address::from(SocketAddr::new(ip, self.port))).collect())
        })
    }
}
