//! # rust-rpc
//!
//! A gRPC runtime with the API gRPC users already know from Python's `grpc` module, made
//! idiomatic async Rust: [`insecure_channel`] and [`secure_channel`] give a [`Channel`]; a
//! [`Server`] takes services and ports ([`Server::add_insecure_port`] returns the bound port),
//! then [`start`](Server::start), [`stop`](Server::stop) and
//! [`wait_for_termination`](Server::wait_for_termination); failed calls are [`RpcError`]s
//! carrying a [`Code`], details and [`Metadata`].
//!
//! Typed stubs come from the `rust-rpc-codegen` crate (the `protoc-gen-rust-rpc` plugin, or
//! `build.rs`). Generated code depends on this crate alone.
//!
//! ## A client
//!
//! ```no_run
//! # mod helloworld {
//! #     #[derive(Clone, PartialEq, prost::Message)] pub struct HelloRequest { #[prost(string, tag = "1")] pub name: String }
//! #     #[derive(Clone, PartialEq, prost::Message)] pub struct HelloReply { #[prost(string, tag = "1")] pub message: String }
//! #     pub struct GreeterClient(rust_rpc::Channel);
//! #     impl GreeterClient {
//! #         pub fn new(c: rust_rpc::Channel) -> Self { Self(c) }
//! #         pub fn say_hello(&self, r: HelloRequest) -> rust_rpc::UnaryCall<HelloRequest, HelloReply> { self.0.unary("/helloworld.Greeter/SayHello", r) }
//! #     }
//! # }
//! use std::time::Duration;
//! use helloworld::{GreeterClient, HelloRequest}; // generated
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let channel = rust_rpc::insecure_channel("localhost:50051")?;
//! let client = GreeterClient::new(channel);
//! let reply = client
//!     .say_hello(HelloRequest { name: "world".into() })
//!     .timeout(Duration::from_secs(1))
//!     .await?;
//! println!("{}", reply.message);
//! # Ok(()) }
//! ```
//!
//! Without async, from a plain `fn main()`: the generated `GreeterBlockingClient` makes the
//! same calls and returns their answers (`client.say_hello(request)?`), server streams as
//! iterators; [`blocking`] holds what it runs on, and makes any async call blocking.
//!
//! ## A server
//!
//! ```no_run
//! # mod helloworld {
//! #     #[derive(Clone, PartialEq, prost::Message)] pub struct HelloRequest { #[prost(string, tag = "1")] pub name: String }
//! #     #[derive(Clone, PartialEq, prost::Message)] pub struct HelloReply { #[prost(string, tag = "1")] pub message: String }
//! #     pub trait GreeterServicer: Send + Sync + 'static {
//! #         fn say_hello(&self, r: HelloRequest, c: rust_rpc::ServicerContext) -> impl std::future::Future<Output = rust_rpc::Result<HelloReply>> + Send;
//! #     }
//! #     pub fn add_greeter_servicer_to_server<S: GreeterServicer>(s: S, server: &rust_rpc::Server) -> Result<(), rust_rpc::Error> {
//! #         server.add_service(rust_rpc::ServiceDefinition::builder("helloworld.Greeter", s)
//! #             .unary("SayHello", |s: std::sync::Arc<S>, r, c| async move { s.say_hello(r, c).await }).build())
//! #     }
//! # }
//! use helloworld::{GreeterServicer, HelloReply, HelloRequest}; // generated
//! use rust_rpc::{Result, RpcError, ServicerContext};
//!
//! struct MyGreeter;
//!
//! impl GreeterServicer for MyGreeter {
//!     async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
//!         if request.name.is_empty() {
//!             return Err(RpcError::invalid_argument("name must not be empty"));
//!         }
//!         Ok(HelloReply { message: format!("Hello {}", request.name) })
//!     }
//! }
//!
//! # async fn demo() -> Result<(), rust_rpc::Error> {
//! let server = rust_rpc::Server::new();
//! helloworld::add_greeter_servicer_to_server(MyGreeter, &server)?;
//! let port = server.add_insecure_port("[::]:50051")?;
//! server.start()?;
//! server.wait_for_termination(None).await;
//! # Ok(()) }
//! ```
//!
//! ## Behaviour
//!
//! Defaults and wire behaviour follow grpc-go, grpc-java and Python grpc: received messages are
//! limited to 4 MiB; an expired deadline is DEADLINE_EXCEEDED on both sides; a refused
//! connection is UNAVAILABLE; an unknown method or service is UNIMPLEMENTED; a malformed
//! request message is INTERNAL; a handler that panics (or whose response stream panics) fails
//! only its call, with UNKNOWN; a message over the limit is RESOURCE_EXHAUSTED; gzip (and zstd,
//! with the `zstd` feature) compression is negotiated through `grpc-accept-encoding`.
//!
//! A [`Channel`] resolves its target as gRPC names them (`host:port`, `dns:///`, `dns://server/`,
//! `ipv4:`, `ipv6:`, `unix:`; or a [`Resolver`] of your own), balances calls over the addresses
//! with `pick_first` (the default) or `round_robin` ([`LoadBalancing`]), reconnects with gRPC's
//! connection backoff, and reports its [`ConnectivityState`] ([`Channel::state`],
//! [`Channel::subscribe`], [`Channel::wait_for_state_change`]).
//!
//! A call made while serving another inherits nothing unless asked:
//! [`Call::propagate`]`(&context)` (or [`CallOptions::propagate`]) gives it the incoming call's
//! deadline, when earlier than its own, and cancels it when the incoming call ends first (see
//! [`Propagation`]). A server can send its connections away so clients rebalance over
//! replicas (gRFC A9): [`ServerBuilder::max_connection_age`],
//! [`max_connection_age_grace`](ServerBuilder::max_connection_age_grace) and
//! [`max_connection_idle`](ServerBuilder::max_connection_idle), all off by default.
//!
//! ## Service config and retries
//!
//! A channel can take a gRPC service config (JSON, as gRPC's DNS or xDS would give it):
//! per-method timeouts, wait-for-ready and message limits, and gRFC A6's retry and hedging
//! policies with retry throttling. An invalid config fails the channel's build with an error
//! naming the field:
//!
//! ```
//! let channel = rust_rpc::ChannelBuilder::new("localhost:50051")
//!     .service_config(r#"{"methodConfig": [{
//!         "name": [{"service": "helloworld.Greeter"}],
//!         "timeout": "5s",
//!         "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
//!                         "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#)
//!     .build()?;
//! # Ok::<(), rust_rpc::Error>(())
//! ```
//!
//! See [`ChannelBuilder::service_config`] for the fields and how retries behave.
//!
//! ## Cargo features
//!
//! On by default; `default-features = false` leaves them out (health and reflection take about
//! 0.8 s and 1.5 s of a 5.5 s release build of this crate, BENCHMARKS.md):
//!
//! - `tls`: TLS on both sides (rustls with the ring provider): [`secure_channel`],
//!   `Server::add_secure_port`, the credentials types, `https://` targets and the contents of
//!   [`AuthContext`]. Plaintext-only programs (behind a mesh proxy, say) can leave it out: a
//!   cold build then skips rustls and ring's C build (BENCHMARKS.md, "Lighter builds"), and an
//!   `https://` target is an error saying the feature is off.
//! - `health`: `rust_rpc::health`, the standard `grpc.health.v1.Health` service.
//! - `reflection`: `rust_rpc::reflection`, server reflection (`grpc.reflection.v1` and `v1alpha`).
//! - `signal`: `Server::stop_on_signals`, a graceful stop on SIGTERM and Ctrl-C (tokio's
//!   `signal` feature).
//!
//! Off by default:
//!
//! - `tracing`: `rust_rpc::telemetry::Tracing`, a `tracing` span per call on either side.
//! - `opentelemetry` (implies `tracing`): `rust_rpc::telemetry::Metrics`, gRPC's OpenTelemetry
//!   metrics (gRFC A66), and trace context propagation through metadata
//!   (`Tracing::propagate_context`).
//! - `tower`: `ServerBuilder::layer`, tower layers (tower-http's, say) around the server's HTTP
//!   service.
//! - `tonic`: conversions between `RpcError` and `tonic::Status`.
//! - `zstd`: zstd message compression ([`Compression::Zstd`]); gzip is always there. Off by
//!   default as in grpc-go and grpc-java, which have gzip alone built in: the zstd C library is
//!   the slowest part of a cold build (BENCHMARKS.md). Without it, `zstd` is an unknown
//!   encoding: never advertised, UNIMPLEMENTED when a peer sends it.
//! - `dns`: `dns://SERVER/name:port` targets, whose names are looked up by asking that DNS
//!   server (hickory-resolver). `dns:///name:port` and `name:port` use the system's resolver
//!   without it.
//!
//! None costs anything on the call path of a server or channel that does not use it: tracing
//! and metrics are interceptors, and a server without layers runs the path it runs without the
//! feature.

#![warn(clippy::unwrap_used)]

mod client;
mod code;
#[cfg(feature = "tls")]
mod credentials;
mod error;
pub mod error_details;
#[cfg(test)]
mod fuzz;
mod generated;
#[cfg(feature = "health")]
pub mod health;
mod in_process;
mod metadata;
mod observe;
mod options;
mod outcome;
mod propagate;
#[cfg(feature = "reflection")]
pub mod reflection;
#[cfg(feature = "tls")]
mod reloadable;
mod server;
#[cfg(feature = "tracing")]
pub mod telemetry;
#[cfg(feature = "tonic")]
mod tonic;
mod transport;
mod wire;

pub use client::builder::ChannelBuilder;
pub use client::call::{
    BidiStreamingCall, Call, ClientStreamingCall, Many, ServerStreamingCall, Single, SingleRequest, UnaryCall,
};
pub use client::call_credentials::{AccessToken, CallCredentials};
#[cfg(feature = "tls")]
pub use client::channel::secure_channel;
pub use client::channel::{Channel, insecure_channel};
pub use client::connectivity::ConnectivityState;
pub use client::generic::{
    GenericBidiStreamingCall, GenericClient, GenericClientStreamingCall, GenericRequests, GenericServerStreamingCall,
    GenericStreaming, GenericUnaryCall,
};
pub use client::interceptor::{ClientCall, ClientInterceptor};
pub use client::lb::LoadBalancing;
pub use client::message_compression::MessageCompression;
pub use client::resolver::address::Address;
pub use client::resolver::resolve::{ResolveFuture, Resolver};
pub use client::response::Response;
pub use client::streaming::Streaming;
pub use code::Code;
#[cfg(feature = "tls")]
pub use credentials::{ChannelCredentials, ServerCredentials};
pub use error::{Error, Result, RichStatus, RpcError};
pub use in_process::in_process_channel;
pub use metadata::{Metadata, MetadataError, MetadataValue};
pub use observe::{Direction, MessageEvent};
pub use options::CallOptions;
pub use outcome::CallOutcome;
pub use propagate::Propagation;
#[cfg(feature = "tls")]
pub use reloadable::ReloadableCredentials;
pub use server::Server;
pub use server::builder::ServerBuilder;
pub use server::context::ServicerContext;
pub use server::interceptor::ServerInterceptor;
#[cfg(feature = "tower")]
pub use server::layer::{HttpBody, HttpService};
pub use server::peer::AuthContext;
pub use server::service::{ServiceBuilder, ServiceDefinition};
pub use server::stop::Stop;
pub use server::stream::{RequestStream, ResponseSender, ResponseStream};
#[cfg(feature = "grpc-web")]
pub use server::web::GrpcWeb;
pub use wire::codec::{BytesCodec, Codec, ProstCodec};
pub use wire::compress::Compression;

/// The bytes crate: generic calls and fallback handlers take and give messages as
/// [`bytes::Bytes`].
pub use bytes;
/// The prost crate generated messages are built on: `prost::Message` gives `encode_to_vec` and
/// `decode`. Re-exported so generated code and its users need no separate dependency.
pub use prost;
/// Protobuf's well-known types (`Timestamp`, `Duration`, `Any`, ...), as generated code uses them.
pub use prost_types;

/// Streams of request messages for client-streaming calls: `stream::iter(vec)` turns any
/// iterator into one.
pub mod stream {
    pub use futures_core::Stream;
    pub use tokio_stream::{StreamExt, iter, once};
}

/// Blocking calls, for code without async: a plain `fn main()`, a script, a sync codebase.
///
/// Generated `…BlockingClient`s are built on these; they also make any call of an async stub
/// blocking ([`blocking::call`], [`blocking::stream`]). Calls run on a shared Tokio runtime made
/// on first use and driven by one background thread (`rust-rpc-blocking`) for the life of the
/// process; nothing needs to be set up. Inside a Tokio runtime, blocking calls fail at once
/// with FAILED_PRECONDITION (they would block, or deadlock, that runtime): use the async client
/// there.
///
/// ```no_run
/// # fn demo(call: rust_rpc::UnaryCall<(), ()>) -> rust_rpc::Result<()> {
/// // Any call of an async stub, with its options, made blocking:
/// let reply = rust_rpc::blocking::call(call.timeout(std::time::Duration::from_secs(1)))?;
/// # Ok(()) }
/// ```
pub mod blocking {
    pub use crate::client::blocking::{Requests, Responses, block_on, call, requests, stream, with_call};
}

/// Everything generated code uses, behind one path. Not for hand-written code: it changes with
/// the code generator.
#[doc(hidden)]
pub mod __codegen {
    pub use crate::stream::Stream;
    pub use crate::{
        BidiStreamingCall, CallOptions, Channel, ClientStreamingCall, Error, RequestStream, ResponseStream, Result,
        RpcError, Server, ServerStreamingCall, ServiceDefinition, ServicerContext, UnaryCall,
    };
    pub use std::future::Future;
    pub use std::sync::Arc;

    /// What generated blocking clients call.
    pub use crate::blocking;

    /// Generated code names this constant; a mismatch means the generator and the runtime come
    /// from different releases: use the same version of `rust-rpc` and `rust-rpc-codegen`.
    pub const RUNTIME_SUPPORTS_CODEGEN_V1: () = ();

    /// The default body of a servicer method that was not implemented.
    pub fn unimplemented<T>(method: &str) -> std::future::Ready<Result<T>> {
        std::future::ready(Err(RpcError::unimplemented(format!("method {method} is not implemented"))))
    }
}

/// Includes the code generated for a proto package by `rust-rpc-codegen` in `build.rs`.
///
/// `include_proto!("helloworld")` includes `$OUT_DIR/helloworld.rs`.
///
/// ```ignore
/// pub mod helloworld {
///     rust_rpc::include_proto!("helloworld");
/// }
/// ```
#[macro_export]
macro_rules! include_proto {
    ($package:tt) => {
        include!(concat!(env!("OUT_DIR"), concat!("/", $package, ".rs")));
    };
}
