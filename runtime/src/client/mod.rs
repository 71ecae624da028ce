//! The client side: a `Channel` and the calls made on it.
//!
//! A unary call: `stub.rs` (`Channel::unary`, what generated stubs call) gives a `Call`
//! (`call.rs`); awaiting it runs `unary.rs`, which encodes the request (`wire/frame.rs`), builds
//! the headers (`request_head.rs`) and sends them through `exchange.rs`. That takes a connection
//! from the channel's balancer (`lb/`: the target parsed by `target.rs` and looked up by a
//! `resolver/`, subchannels per the policy, each a `subchannel.rs` made by `connect.rs` and
//! `connection.rs`, remade with `backoff.rs`; the state in `connectivity.rs`), sends, and gives the response, whose body (`response_body.rs`) is read into
//! the message and the status (`wire/status.rs`). A streaming call goes the same way with a
//! request body (`request_body.rs`, sent by `send_body.rs`) and a `Streaming` (`streaming.rs`)
//! reading the response through `decoder.rs`; `until.rs` ends either kind at its deadline or
//! on cancellation. `blocking.rs` runs calls for code without async, on a shared runtime.

pub(crate) mod background;
pub(crate) mod backoff;
pub(crate) mod blocking;
pub(crate) mod builder;
pub(crate) mod call;
pub(crate) mod call_credentials;
pub(crate) mod channel;
pub(crate) mod connect;
pub(crate) mod connection;
pub(crate) mod connectivity;
pub(crate) mod decoder;
pub(crate) mod exchange;
pub(crate) mod generic;
pub(crate) mod interceptor;
pub(crate) mod keepalive;
pub(crate) mod lb;
pub(crate) mod message_compression;
pub(crate) mod path;
pub(crate) mod request_body;
pub(crate) mod request_head;
pub(crate) mod resolver;
pub(crate) mod response;
pub(crate) mod response_body;
pub(crate) mod retry;
pub(crate) mod send_body;
pub(crate) mod service_config;
pub(crate) mod streaming;
pub(crate) mod stub;
pub(crate) mod subchannel;
pub(crate) mod target;
pub(crate) mod unary;
pub(crate) mod until;
