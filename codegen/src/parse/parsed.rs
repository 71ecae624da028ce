//! What a front end hands the generator.

use std::path::PathBuf;

use prost_types::FileDescriptorProto;

/// Parsed files: every file, imports first.
pub(crate) struct Parsed {
    pub(crate) files: Vec<FileDescriptorProto>,
    /// Every file read from disk, for `cargo:rerun-if-changed`.
    pub(crate) paths: Vec<PathBuf>,
}
