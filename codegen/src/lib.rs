//! # rust-rpc-codegen
//!
//! Generates Rust code for gRPC services from `.proto` files: prost message types plus, per
//! service, a client stub, a servicer trait and registration functions for the
//! [`rust-rpc`](https://docs.rs/rust-rpc) runtime. One file per proto package.
//!
//! Two front ends share one pipeline (descriptors -> model -> tokens -> formatted file):
//!
//! - **build.rs**, with no `protoc` needed (protox parses the files, by default):
//!
//!   ```no_run
//!   // build.rs
//!   fn main() -> Result<(), Box<dyn std::error::Error>> {
//!       rust_rpc_codegen::compile_protos(&["protos/helloworld.proto"], &["protos"])?;
//!       Ok(())
//!   }
//!   ```
//!
//!   then, in the crate: `pub mod helloworld { rust_rpc::include_proto!("helloworld"); }`.
//!   [`Builder::protoc`] parses with protoc instead; without this crate's default feature
//!   `protox` (a lighter build), protoc is the only front end: `$PROTOC`, else `protoc` from
//!   `PATH`.
//!
//! - **the protoc plugin** `protoc-gen-rust-rpc`:
//!   `protoc --rust-rpc_out=OUT --rust-rpc_opt=module_tree=mod.rs -I protos protos/*.proto`.
//!
//! For the same input both produce the same code. Options are one [`Options`] struct, spelled
//! as plugin parameters or [`Builder`] methods.
//!
//! ## Names
//!
//! For `service Greeter` in package `helloworld`: `GreeterClient`, `GreeterServicer`,
//! `greeter_service(servicer)`, `add_greeter_servicer_to_server(servicer, &server)`, and
//! `GreeterClient::SERVICE_NAME` / `GreeterClient::SAY_HELLO_PATH`. Methods become snake case
//! (`SayHello` -> `say_hello`); Rust keywords become raw identifiers (`r#type`) or get a `_`
//! suffix where Rust forbids raw ones (`self_`). Names that collide after conversion keep
//! declaration order: the first keeps the name, later ones get `_2`, `_3`, ... (type names:
//! `2`, `3`, ...), and generated type names steer clear of the package's message and enum names.
//!
//! Message types are prost-build's. Where its names would collide or be no Rust identifier
//! (fields `fooBar` and `foo_bar`, messages `HTTPRequest` and `HttpRequest`, packages `foo.Bar`
//! and `foo.bar`, enum values `COLOR_RED` and `RED`, names of underscores only, user types in
//! package `google.protobuf`, ...), prost-build gets a renamed copy of the descriptors; each
//! rename is a [`Warning`] naming its `.proto` line ([`generate_with_warnings`],
//! [`Builder::generate_with_warnings`]; `cargo:warning=` from [`Builder::compile`], stderr from
//! the plugin). The wire format and the embedded descriptors keep the original names.

#![warn(clippy::unwrap_used)]

mod builder;
mod descriptors;
mod docs;
mod error;
mod files;
mod format;
mod generate;
mod ident;
mod layout;
mod model;
mod options;
mod parse;
mod plugin;
mod rename;
mod render;
mod validate;
mod warning;

pub use builder::{Builder, compile_protos, write_files};
pub use error::Error;
pub use files::Files;
pub use generate::{Generated, generate, generate_with_warnings};
pub use options::Options;
pub use plugin::{execute, respond, respond_with_warnings};
pub use warning::Warning;
