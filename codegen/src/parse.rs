//! The pure-Rust front end: `.proto` files parsed and checked by protox, no protoc needed.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use prost_types::FileDescriptorProto;

use crate::Error;

/// Parsed files: every file, imports first.
pub(crate) struct Parsed {
    pub(crate) files: Vec<FileDescriptorProto>,
    /// Every file read from disk, for `cargo:rerun-if-changed`.
    pub(crate) paths: Vec<PathBuf>,
}

/// Parses `protos` (paths) against the include directories `includes`.
pub(crate) fn parse(protos: &[PathBuf], includes: &[PathBuf]) -> Result<Parsed, Error> {
    let mut compiler = protox::Compiler::new(includes).map_err(proto_error)?;
    compiler.include_source_info(true).include_imports(true);
    for proto in protos {
        compiler.open_file(proto).map_err(proto_error)?;
    }
    let paths = compiler.files().filter_map(|f| f.path().map(Path::to_path_buf)).collect();
    let files = compiler.file_descriptor_set().file;
    Ok(Parsed { files, paths })
}

/// Turns a protox error into `file:line:column: message`.
fn proto_error(err: protox::Error) -> Error {
    let message = err.to_string();
    let file = err.file().unwrap_or("<input>").to_owned();
    let position = err.labels().and_then(|mut labels| labels.next()).and_then(|label| {
        let source = err.source_code()?;
        let span = source.read_span(label.inner(), 0, 0).ok()?;
        Some((span.line() + 1, span.column() + 1))
    });
    let location = match position {
        Some((line, column)) => format!("{file}:{line}:{column}"),
        None => file,
    };
    Error::Proto { location, message }
}
