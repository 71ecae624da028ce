//! The front ends that turn `.proto` files into descriptors for the generator: protox (pure
//! Rust, the default) or protoc (a program on the machine, [`Builder::protoc`](crate::Builder::protoc),
//! and the only one when the crate is built without its `protox` feature).

mod parsed;
mod protoc;
#[cfg(feature = "protox")]
mod protox;

use std::path::{Path, PathBuf};

pub(crate) use parsed::Parsed;

use crate::Error;

/// Parses `protos` (paths) against the include directories `includes`: with protoc at `protoc`
/// when given, else with protox (or, without the `protox` feature, with protoc from `$PROTOC`
/// or `PATH`).
pub(crate) fn parse(protoc: Option<&Path>, protos: &[PathBuf], includes: &[PathBuf]) -> Result<Parsed, Error> {
    match protoc {
        Some(protoc) => protoc::parse(protoc, protos, includes),
        #[cfg(feature = "protox")]
        None => protox::parse(protos, includes),
        #[cfg(not(feature = "protox"))]
        None => protoc::parse(&protoc::from_environment(std::env::var_os("PROTOC")), protos, includes),
    }
}
