//! Code generation errors: one variant per way generation can fail, each naming what failed.

use std::path::PathBuf;

/// Why code generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `.proto` file did not parse or did not check; `location` is `file:line:column`.
    #[error("{location}: {message}")]
    Proto {
        /// Where: `file:line:column`, or the file name when no position is known.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A generator option was unknown or malformed.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request named a file to generate that it did not describe.
    #[error("file {0} was asked for but not described in the request")]
    MissingFile(String),
    /// A descriptor handed to the plugin is not one protoc would send: a name that is not an
    /// identifier, or a type reference that resolves to nothing.
    #[error("{file}: {element}: {reason}")]
    Descriptor {
        /// The `.proto` file the descriptor describes.
        file: String,
        /// The element: `method helloworld.Greeter.SayHello`, `field pkg.Msg.name`, ...
        element: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `.proto` that no Rust code can express, even with renames: `location` is
    /// `file:line:column`.
    #[error("{location}: {reason}")]
    Inexpressible {
        /// Where: `file:line:column`.
        location: String,
        /// Why.
        reason: String,
    },
    /// prost-build refused the descriptors.
    #[error("generating message types failed: {0}")]
    Messages(String),
    /// Code generated for a service or package did not parse as Rust: a generator bug.
    #[error("generated code for {item} does not parse ({error}); please report this with the .proto:\n{code}")]
    InvalidOutput {
        /// What the code was for: `service pkg.Svc` or `package pkg`.
        item: String,
        /// The parser's complaint.
        error: String,
        /// The generated code, line-numbered.
        code: String,
    },
    /// Formatting a package's generated code failed (the formatter panicked): a generator bug.
    #[error(
        "formatting the generated code for package {package:?} failed: {reason}; please report this with the .proto"
    )]
    Format {
        /// The proto package (empty for files without a package).
        package: String,
        /// What went wrong.
        reason: String,
    },
    /// [`Builder::compile`](crate::Builder::compile) had nowhere to write: no
    /// [`Builder::out_dir`](crate::Builder::out_dir) and no `OUT_DIR` in the environment.
    #[error(
        "no output directory: OUT_DIR is not set; call this from build.rs, where cargo sets OUT_DIR, or set one with \
         Builder::out_dir"
    )]
    OutDirNotSet,
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done: `reading`, `writing`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A protocol buffer message could not be decoded (plugin input).
    #[error("could not decode {what}: {source}")]
    Decode {
        /// Which message.
        what: &'static str,
        /// The cause.
        source: prost::DecodeError,
    },
    /// protoc (the front end of [`Builder::protoc`](crate::Builder::protoc), or the only one
    /// without the `protox` feature) could not be run, or failed without naming a position.
    #[error(
        "protoc ({}) failed: {reason}; install protoc, set PROTOC to its path, or build rust-rpc-codegen with its \
         `protox` feature (the default), which needs no protoc",
        program.display()
    )]
    Protoc {
        /// The program run.
        program: PathBuf,
        /// What went wrong, with protoc's own message when it printed one.
        reason: String,
    },
    /// Several errors, all reported at once.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),
}

/// The message of a caught panic, when it is text.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
