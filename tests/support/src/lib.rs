//! Helpers the test crates (`tests/codegen`, `tests/googleapis`, `tests/interop`) share, std
//! only: the repository's paths ([`repo`], [`target_dir`]), npm packages fetched into
//! `<repo>/.cache/npm` ([`npm_package`], [`buf`]), and the interop venv's Python ([`python`])
//! with [`Peer`], a child process whose stdout is read line by line under a timeout, and
//! [`Dnsmasq`], a real DNS server on loopback.

mod dnsmasq;
mod npm;
mod peer;

use std::path::{Path, PathBuf};

pub use dnsmasq::{Dnsmasq, dnsmasq_binary};
pub use npm::{BUF_VERSION, buf, npm_package};
pub use peer::{Peer, python};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The workspace's target directory: `$CARGO_TARGET_DIR` when set, else `<repo>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"))
}
