//! Name resolution: turning a channel's target into the addresses its load-balancing policy
//! connects to. [`Resolver`](resolve::Resolver) (`resolve.rs`) is the public trait a user
//! implements to plug in their own discovery, over [`Address`](address::Address)es
//! (`address.rs`); `dns.rs` and `static_list.rs` are the built-in resolvers, and
//! `channel_resolver.rs` picks one for a target.

pub(crate) mod address;
pub(crate) mod channel_resolver;
pub(crate) mod dns;
pub(crate) mod resolve;
pub(crate) mod static_list;
