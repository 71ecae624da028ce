//! The pure-Rust front end: `.proto` files parsed and checked by protox, no protoc needed.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use protox::file::{ChainFileResolver, GoogleFileResolver, IncludeFileResolver};

use super::parsed::Parsed;
use crate::Error;

/// Parses `protos` (paths) against the include directories `includes`.
pub(crate) fn parse(protos: &[PathBuf], includes: &[PathBuf]) -> Result<Parsed, Error> {
    // The well-known types come from protox's own copies, ahead of the include paths: they map
    // to prost-types anyway, and newer copies vendored in include trees (googleapis ships
    // one) use syntax protox 0.10 does not parse yet (`extensions 5 [declaration = ...]`).
    let mut resolver = ChainFileResolver::new();
    resolver.add(GoogleFileResolver::new());
    for include in includes {
        resolver.add(IncludeFileResolver::new(include.clone()));
    }
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
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
