//! Channel targets: the names gRPC users pass to `insecure_channel` (grpc/grpc `doc/naming.md`),
//! parsed into what the channel's resolver looks up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use crate::client::resolver::address::Address;
use crate::error::{Error, ErrorKind};
use crate::transport::memory::Dialer;

/// What a channel connects to, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A host name (or IP literal) and port, looked up through DNS: `host:port`, `dns:///`,
    /// `dns://server/`, `http(s)://`. `server` is the DNS server of a `dns://server/` target.
    Dns { server: Option<SocketAddr>, host: String, port: u16, authority: String },
    /// Fixed addresses: `ipv4:`, `ipv6:` lists, `unix:` paths, an in-process server. `host` is
    /// the TLS server name.
    Static { addresses: Vec<Address>, host: String, authority: String },
}

/// The `:authority` of an in-process channel's requests.
pub(crate) const IN_PROCESS_AUTHORITY: &str = "in-process";

/// The port gRPC assumes when a target names none.
const DEFAULT_PORT: u16 = 443;

/// The port of a DNS server named without one.
const DNS_PORT: u16 = 53;

impl Target {
    /// Parses `host:port`, `dns:///host:port`, `dns://server[:port]/host:port`, `dns:host:port`,
    /// `ipv4:a.b.c.d:port,...`, `ipv6:[::1]:port,...`, `[::1]:port`, `unix:/path`,
    /// `unix:///path` and `http(s)://host:port`.
    pub(crate) fn parse(target: &str) -> Result<Target, Error> {
        let invalid =
            |why: &str| Error::new(ErrorKind::InvalidTarget, format!("invalid channel target {target:?}: {why}"));
        if let Some(path) = target.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(invalid("unix:// needs an absolute path, as in unix:///tmp/sock"));
            }
            return Ok(Target::unix(PathBuf::from(path)));
        }
        if let Some(path) = target.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(invalid("unix: needs a path"));
            }
            return Ok(Target::unix(PathBuf::from(path)));
        }
        if let Some(list) = target.strip_prefix("ipv4:") {
            return ip_list(list, false).map_err(|why| invalid(&why));
        }
        if let Some(list) = target.strip_prefix("ipv6:") {
            return ip_list(list, true).map_err(|why| invalid(&why));
        }
        let mut server = None;
        let rest = if let Some(rest) = target.strip_prefix("dns://") {
            // `dns:///name` (the system's resolver) or `dns://server/name`.
            let (authority, name) = rest
                .split_once('/')
                .ok_or_else(|| invalid("dns:// needs a '/' before the name, as in dns:///host:port"))?;
            if !authority.is_empty() {
                server = Some(dns_server(authority).map_err(|why| invalid(&why))?);
            }
            name
        } else {
            ["dns:", "http://", "https://"].iter().find_map(|prefix| target.strip_prefix(prefix)).unwrap_or(target)
        };
        let rest = rest.trim_end_matches('/');
        let default_port = if target.starts_with("http://") { 80 } else { DEFAULT_PORT };
        let (host, port) = host_port(rest, default_port).map_err(|why| invalid(&why))?;
        let authority = join(&host, port);
        Ok(Target::Dns { server, host, port, authority })
    }

    fn unix(path: PathBuf) -> Target {
        Target::Static { addresses: vec![Address::unix(path)], host: "localhost".into(), authority: "localhost".into() }
    }

    /// An in-process server's target.
    pub(crate) fn memory(dialer: Dialer) -> Target {
        Target::Static {
            addresses: vec![Address::memory(dialer)],
            host: IN_PROCESS_AUTHORITY.into(),
            authority: IN_PROCESS_AUTHORITY.into(),
        }
    }

    /// `target` as a URI with its scheme, as gRPC names a channel's target in its metrics
    /// (gRFC A66's `grpc.target`): a bare `host:port` is `dns:///host:port`.
    pub(crate) fn canonical(target: &str) -> String {
        let schemes = ["unix:", "dns:", "ipv4:", "ipv6:", "http://", "https://"];
        if schemes.iter().any(|scheme| target.starts_with(scheme)) {
            target.to_owned()
        } else {
            format!("dns:///{target}")
        }
    }

    /// The `:authority` of requests.
    pub(crate) fn authority(&self) -> &str {
        match self {
            Target::Dns { authority, .. } | Target::Static { authority, .. } => authority,
        }
    }

    /// The name TLS checks the server's certificate against by default.
    pub(crate) fn tls_host(&self) -> &str {
        match self {
            Target::Dns { host, .. } | Target::Static { host, .. } => host,
        }
    }
}

/// `host:port` with brackets around an IPv6 host.
fn join(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// Splits `host[:port]` (`[v6]:port` for IPv6 literals).
fn host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    if text.is_empty() {
        return Err("no host".into());
    }
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("an IPv6 literal needs a closing ']'")?;
        host.parse::<Ipv6Addr>().map_err(|_| "not an IPv6 address inside [...]")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("expected ':' after ']'")?),
        };
        (host.to_owned(), port)
    } else if text.matches(':').count() > 1 {
        return Err("IPv6 literals must be in brackets, as in [::1]:50051".into());
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (text.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().map_err(|_| format!("the port {p:?} is not a number from 0 to 65535"))?,
    };
    Ok((host, port))
}

/// A `dns://server/` authority: an IP address, with a port or DNS's 53.
fn dns_server(text: &str) -> Result<SocketAddr, String> {
    let (host, port) = host_port(text, DNS_PORT)?;
    let ip = host
        .parse::<IpAddr>()
        .map_err(|_| format!("the DNS server {text:?} must be an IP address, as in dns://8.8.8.8/host:port"))?;
    Ok(SocketAddr::new(ip, port))
}

/// An `ipv4:` or `ipv6:` list: comma-separated addresses, each with an optional port.
fn ip_list(list: &str, v6: bool) -> Result<Target, String> {
    let family = if v6 { "ipv6" } else { "ipv4" };
    let mut addresses = Vec::new();
    let mut first = None;
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("{family}: needs addresses, separated by commas"));
        }
        let (host, port) = if v6 && !item.starts_with('[') {
            // A bare IPv6 address, without a port.
            (item.to_owned(), DEFAULT_PORT)
        } else {
            host_port(item, DEFAULT_PORT)?
        };
        let ip: IpAddr = if v6 {
            IpAddr::V6(host.parse::<Ipv6Addr>().map_err(|_| format!("{item:?} is not an IPv6 address"))?)
        } else {
            IpAddr::V4(host.parse::<Ipv4Addr>().map_err(|_| format!("{item:?} is not an IPv4 address"))?)
        };
        first.get_or_insert((host, port));
        addresses.push(Address::from(SocketAddr::new(ip, port)));
    }
    let (host, port) = first.ok_or_else(|| format!("{family}: needs addresses"))?;
    let authority = join(&host, port);
    Ok(Target::Static { addresses, host, authority })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(host: &str, port: u16) -> Target {
        Target::Dns { server: None, host: host.into(), port, authority: join(host, port) }
    }

    fn ips(list: &[&str], host: &str, port: u16) -> Target {
        Target::Static {
            addresses: list.iter().map(|a| Address::from(a.parse::<SocketAddr>().expect(a))).collect(),
            host: host.into(),
            authority: join(host, port),
        }
    }

    #[test]
    fn accepts_the_usual_forms() {
        let cases = [
            ("localhost:50051", dns("localhost", 50051)),
            ("dns:///example.com:443", dns("example.com", 443)),
            ("dns:example.com:8080", dns("example.com", 8080)),
            ("[::1]:50051", dns("::1", 50051)),
            ("127.0.0.1:9", dns("127.0.0.1", 9)),
            ("http://127.0.0.1:80", dns("127.0.0.1", 80)),
            ("http://example.com", dns("example.com", 80)),
            ("https://example.com", dns("example.com", 443)),
            ("example.com", dns("example.com", 443)),
            (
                "dns://127.0.0.1:5353/svc.test:7",
                Target::Dns {
                    server: Some("127.0.0.1:5353".parse().expect("addr")),
                    host: "svc.test".into(),
                    port: 7,
                    authority: "svc.test:7".into(),
                },
            ),
            (
                "dns://[::1]/svc:7",
                Target::Dns {
                    server: Some("[::1]:53".parse().expect("addr")),
                    host: "svc".into(),
                    port: 7,
                    authority: "svc:7".into(),
                },
            ),
            ("ipv4:127.0.0.1:1", ips(&["127.0.0.1:1"], "127.0.0.1", 1)),
            ("ipv4:127.0.0.1:1,127.0.0.2:2", ips(&["127.0.0.1:1", "127.0.0.2:2"], "127.0.0.1", 1)),
            ("ipv4:10.0.0.1", ips(&["10.0.0.1:443"], "10.0.0.1", 443)),
            ("ipv6:[::1]:7", ips(&["[::1]:7"], "::1", 7)),
            ("ipv6:[::1]:7,[::2]:8", ips(&["[::1]:7", "[::2]:8"], "::1", 7)),
            ("ipv6:::1", ips(&["[::1]:443"], "::1", 443)),
            ("unix:/tmp/a.sock", Target::unix("/tmp/a.sock".into())),
            ("unix:///tmp/a.sock", Target::unix("/tmp/a.sock".into())),
            ("unix:relative.sock", Target::unix("relative.sock".into())),
        ];
        for (text, want) in cases {
            assert_eq!(Target::parse(text).expect(text), want, "{text}");
        }
    }

    #[test]
    fn refuses_malformed_targets_with_a_reason() {
        let cases = [
            ("", "no host"),
            (":50051", "no host"),
            ("::1:50051", "brackets"),
            ("[::1:50051", "closing"),
            ("[zz]:1", "IPv6"),
            ("host:port", "port"),
            ("host:99999", "port"),
            ("unix:", "path"),
            ("unix://rel", "absolute"),
            ("dns://", "'/'"),
            ("dns://dns.google/x:1", "IP address"),
            ("dns://1.2.3.4:x/x:1", "port"),
            ("dns:///", "no host"),
            ("ipv4:", "addresses"),
            ("ipv4:1.2.3.4:1,", "addresses"),
            ("ipv4:[::1]:1", "IPv4"),
            ("ipv4:example.com:1", "IPv4"),
            ("ipv6:127.0.0.1", "IPv6"),
            ("ipv6:[::1]:99999", "port"),
        ];
        for (bad, why) in cases {
            let err = Target::parse(bad).expect_err(bad);
            assert!(err.is_invalid_target());
            assert!(err.to_string().contains("invalid channel target"), "{err}");
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }
}
