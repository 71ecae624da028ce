//! The resolver a channel uses: the built-in one for its target, or the user's.

use std::sync::Arc;

use crate::client::resolver::resolve::Resolver;
use crate::client::resolver::{dns, static_list};
use crate::client::target::Target;
use crate::error::{Error, ErrorKind};

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

#[cfg(test)]
mod tests {
    use crate::ChannelBuilder;

    #[cfg(not(feature = "dns"))]
    #[test]
    fn a_dns_server_target_needs_the_dns_feature() {
        let error = ChannelBuilder::new("dns://127.0.0.1:53/svc.test:50051").build().expect_err("no DNS client");
        assert!(error.is_invalid_target());
        assert!(error.to_string().contains("feature \"dns\""), "{error}");
        // The system's resolver needs no feature.
        ChannelBuilder::new("dns:///svc.test:50051").build().expect("system resolver");
    }

    #[cfg(feature = "dns")]
    #[test]
    fn a_dns_server_target_builds_with_the_dns_feature() {
        ChannelBuilder::new("dns://127.0.0.1:53/svc.test:50051").build().expect("a DNS client");
    }
}
