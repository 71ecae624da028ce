//! `Resolver`: the public trait of service discovery, which a user implements to plug in their
//! own, and the built-in resolvers implement too.

use std::future::Future;
use std::io;
use std::pin::Pin;

use crate::client::resolver::address::Address;

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
