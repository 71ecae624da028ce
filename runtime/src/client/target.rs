//! Channel targets: the address forms gRPC users pass to `insecure_channel`.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind};
use crate::transport::memory::Dialer;

/// Where a channel connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A host name or IP literal and a port; `authority` is `host:port` as sent in `:authority`.
    Tcp { host: String, port: u16, authority: String },
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// A server in this process, reached through in-memory pipes.
    Memory(Dialer),
}

/// The `:authority` of an in-process channel's requests.
pub(crate) const IN_PROCESS_AUTHORITY: &str = "in-process";

/// The port gRPC assumes when a target names none.
const DEFAULT_PORT: u16 = 443;

impl Target {
    /// Parses `host:port`, `dns:///host:port`, `dns:host:port`, `ipv4:a.b.c.d:port`,
    /// `ipv6:[::1]:port`, `[::1]:port`, `unix:/path`, `unix:///path` and `http(s)://host:port`.
    pub(crate) fn parse(target: &str) -> Result<Target, Error> {
        let invalid =
            |why: &str| Error::new(ErrorKind::InvalidTarget, format!("invalid channel target {target:?}: {why}"));
        if let Some(path) = target.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(invalid("unix:// needs an absolute path, as in unix:///tmp/sock"));
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        if let Some(path) = target.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(invalid("unix: needs a path"));
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        let rest = ["dns:///", "dns:", "ipv4:", "ipv6:", "http://", "https://"]
            .iter()
            .find_map(|prefix| target.strip_prefix(prefix))
            .unwrap_or(target);
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Err(invalid("no host"));
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) =
                bracketed.split_once(']').ok_or_else(|| invalid("an IPv6 literal needs a closing ']'"))?;
            host.parse::<std::net::Ipv6Addr>().map_err(|_| invalid("not an IPv6 address inside [...]"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| invalid("expected ':' after ']'"))?),
            };
            (host.to_owned(), port)
        } else if rest.matches(':').count() > 1 {
            return Err(invalid("IPv6 literals must be in brackets, as in [::1]:50051"));
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (rest.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            // A plaintext URL's own default; gRPC's (443) otherwise.
            None if target.starts_with("http://") => 80,
            None => DEFAULT_PORT,
            Some(p) => p.parse::<u16>().map_err(|_| invalid("the port is not a number from 0 to 65535"))?,
        };
        let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        Ok(Target::Tcp { host, port, authority })
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

    /// The `:authority` of requests, and the default TLS server name's source.
    pub(crate) fn authority(&self) -> &str {
        match self {
            Target::Tcp { authority, .. } => authority,
            Target::Unix(_) => "localhost",
            Target::Memory(_) => IN_PROCESS_AUTHORITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Target {
        let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        Target::Tcp { host: host.into(), port, authority }
    }

    #[test]
    fn accepts_the_usual_forms() {
        let cases = [
            ("localhost:50051", tcp("localhost", 50051)),
            ("dns:///example.com:443", tcp("example.com", 443)),
            ("dns:example.com:8080", tcp("example.com", 8080)),
            ("ipv4:127.0.0.1:1", tcp("127.0.0.1", 1)),
            ("[::1]:50051", tcp("::1", 50051)),
            ("ipv6:[::1]:7", tcp("::1", 7)),
            ("http://127.0.0.1:80", tcp("127.0.0.1", 80)),
            ("http://example.com", tcp("example.com", 80)),
            ("https://example.com", tcp("example.com", 443)),
            ("example.com", tcp("example.com", 443)),
            ("unix:/tmp/a.sock", Target::Unix("/tmp/a.sock".into())),
            ("unix:///tmp/a.sock", Target::Unix("/tmp/a.sock".into())),
            ("unix:relative.sock", Target::Unix("relative.sock".into())),
        ];
        for (text, want) in cases {
            assert_eq!(Target::parse(text).expect(text), want, "{text}");
        }
    }

    #[test]
    fn refuses_malformed_targets_with_a_reason() {
        for bad in ["", ":50051", "::1:50051", "[::1:50051", "[zz]:1", "host:port", "host:99999", "unix:", "unix://rel"]
        {
            let err = Target::parse(bad).expect_err(bad);
            assert!(err.is_invalid_target());
            assert!(err.to_string().contains("invalid channel target"), "{err}");
        }
    }
}
