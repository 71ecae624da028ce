//! Code generation errors: one variant per way generation can fail, each naming what failed.

use std::path::PathBuf;

/// Why code generation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A `.proto` file did not parse or did not check; `location` is `file:line:column`.
    Proto {
        /// Where: `file:line:column`, or the file name when no position is known.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A generator option was unknown or malformed.
    InvalidOption {
        /// The option's name.
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request named a file to generate that it did not describe.
    MissingFile(String),
    /// A descriptor handed to the plugin is not one protoc would send: a name that is not an
    /// identifier, or a type reference that resolves to nothing.
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
    Inexpressible {
        /// Where: `file:line:column`.
        location: String,
        /// Why.
        reason: String,
    },
    /// prost-build refused the descriptors.
    Messages(String),
    /// Code generated for a service or package did not parse as Rust: a generator bug.
    InvalidOutput {
        /// What the code was for: `service pkg.Svc` or `package pkg`.
        item: String,
        /// The parser's complaint.
        error: String,
        /// The generated code, line-numbered.
        code: String,
    },
    /// Formatting a package's generated code failed (the formatter panicked): a generator bug.
    Format {
        /// The proto package (empty for files without a package).
        package: String,
        /// What went wrong.
        reason: String,
    },
    /// [`Builder::compile`](crate::Builder::compile) had nowhere to write: no
    /// [`Builder::out_dir`](crate::Builder::out_dir) and no `OUT_DIR` in the environment.
    OutDirNotSet,
    /// Reading or writing a file failed.
    Io {
        /// What was being done: `reading`, `writing`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A protocol buffer message could not be decoded (plugin input).
    Decode {
        /// Which message.
        what: &'static str,
        /// The cause.
        source: prost::DecodeError,
    },
    /// protoc (the front end of [`Builder::protoc`](crate::Builder::protoc), or the only one
    /// without the `protox` feature) could not be run, or failed without naming a position.
    Protoc {
        /// The program run.
        program: PathBuf,
        /// What went wrong, with protoc's own message when it printed one.
        reason: String,
    },
    /// Several errors, all reported at once.
    Many(Vec<Error>),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Proto { location, message } => write!(f, "{location}: {message}"),
            Error::InvalidOption { option, reason } => write!(f, "invalid option {option}: {reason}"),
            Error::MissingFile(file) => write!(f, "file {file} was asked for but not described in the request"),
            Error::Descriptor { file, element, reason } => write!(f, "{file}: {element}: {reason}"),
            Error::Inexpressible { location, reason } => write!(f, "{location}: {reason}"),
            Error::Messages(why) => write!(f, "generating message types failed: {why}"),
            Error::InvalidOutput { item, error, code } => write!(
                f,
                "generated code for {item} does not parse ({error}); please report this with the .proto:\n{code}"
            ),
            Error::Format { package, reason } => write!(
                f,
                "formatting the generated code for package {package:?} failed: {reason}; please report this with \
                 the .proto"
            ),
            Error::OutDirNotSet => f.write_str(
                "no output directory: OUT_DIR is not set; call this from build.rs, where cargo sets OUT_DIR, or set \
                 one with Builder::out_dir",
            ),
            Error::Io { action, path, source } => write!(f, "{action} {}: {source}", path.display()),
            Error::Decode { what, source } => write!(f, "could not decode {what}: {source}"),
            Error::Protoc { program, reason } => write!(
                f,
                "protoc ({}) failed: {reason}; install protoc, set PROTOC to its path, or build rust-rpc-codegen \
                 with its `protox` feature (the default), which needs no protoc",
                program.display()
            ),
            Error::Many(errors) => {
                for (i, error) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Decode { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The message of a caught panic, when it is text.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
