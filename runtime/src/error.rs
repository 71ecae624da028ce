//! The error of a failed RPC, and the error of setting up channels and servers.

use std::fmt;

use bytes::Bytes;

use crate::{Code, Metadata};

/// The result of an RPC: the value, or the [`RpcError`] the call ended with.
pub type Result<T, E = RpcError> = std::result::Result<T, E>;

/// An RPC that ended with a status other than OK.
///
/// It carries the status [`Code`], the human-readable `details` text (`grpc-message`), the
/// metadata that came with the failure (response headers and trailers on the client, the
/// trailers to send on the server) and the binary `grpc-status-details-bin` payload, which is an
/// encoded `google.rpc.Status` when a peer sends rich error details.
///
/// A servicer returns one to fail a call; a client receives one when a call fails. OK is never
/// an error: constructing one with [`Code::Ok`] gives [`Code::Unknown`].
///
/// ```
/// use rust_rpc::{Code, RpcError};
///
/// let err = RpcError::not_found("no feature at 0,0");
/// assert_eq!(err.code(), Code::NotFound);
/// assert_eq!(err.details(), "no feature at 0,0");
/// assert_eq!(err.to_string(), "NOT_FOUND: no feature at 0,0");
/// ```
#[derive(Clone)]
pub struct RpcError(Box<Inner>);

#[derive(Clone)]
struct Inner {
    code: Code,
    details: String,
    metadata: Metadata,
    status_details: Bytes,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(details: impl Into<String>) -> RpcError {
                RpcError::new(Code::$code, details)
            }
        )*
    };
}

impl RpcError {
    /// An error with `code` and `details`.
    pub fn new(code: Code, details: impl Into<String>) -> RpcError {
        let code = if code == Code::Ok { Code::Unknown } else { code };
        RpcError(Box::new(Inner {
            code,
            details: details.into(),
            metadata: Metadata::new(),
            status_details: Bytes::new(),
        }))
    }

    constructors! {
        /// A [`Code::Cancelled`] error.
        cancelled => Cancelled,
        /// A [`Code::Unknown`] error.
        unknown => Unknown,
        /// A [`Code::InvalidArgument`] error.
        invalid_argument => InvalidArgument,
        /// A [`Code::DeadlineExceeded`] error.
        deadline_exceeded => DeadlineExceeded,
        /// A [`Code::NotFound`] error.
        not_found => NotFound,
        /// A [`Code::AlreadyExists`] error.
        already_exists => AlreadyExists,
        /// A [`Code::PermissionDenied`] error.
        permission_denied => PermissionDenied,
        /// A [`Code::ResourceExhausted`] error.
        resource_exhausted => ResourceExhausted,
        /// A [`Code::FailedPrecondition`] error.
        failed_precondition => FailedPrecondition,
        /// A [`Code::Aborted`] error.
        aborted => Aborted,
        /// A [`Code::OutOfRange`] error.
        out_of_range => OutOfRange,
        /// A [`Code::Unimplemented`] error.
        unimplemented => Unimplemented,
        /// A [`Code::Internal`] error.
        internal => Internal,
        /// A [`Code::Unavailable`] error.
        unavailable => Unavailable,
        /// A [`Code::DataLoss`] error.
        data_loss => DataLoss,
        /// A [`Code::Unauthenticated`] error.
        unauthenticated => Unauthenticated,
    }

    /// Adds metadata: sent as trailers when a servicer returns this error.
    pub fn with_metadata(mut self, metadata: Metadata) -> RpcError {
        self.0.metadata.extend(metadata);
        self
    }

    /// Sets the binary status details (`grpc-status-details-bin`), usually an encoded
    /// `google.rpc.Status`.
    pub fn with_status_details(mut self, details: impl Into<Bytes>) -> RpcError {
        self.0.status_details = details.into();
        self
    }

    /// The status code; never [`Code::Ok`].
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The details text (`grpc-message`).
    pub fn details(&self) -> &str {
        &self.0.details
    }

    /// The metadata sent with the error: on the client, the response's headers and trailers.
    pub fn metadata(&self) -> &Metadata {
        &self.0.metadata
    }

    /// Mutable access to the metadata.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.0.metadata
    }

    /// The raw `grpc-status-details-bin` payload; empty when the peer sent none.
    pub fn status_details(&self) -> &[u8] {
        &self.0.status_details
    }

    /// The parts, for writing the status: code, details, metadata, status details.
    pub(crate) fn into_parts(self) -> (Code, String, Metadata, Bytes) {
        let inner = *self.0;
        (inner.code, inner.details, inner.metadata, inner.status_details)
    }

    /// The `grpc-status-details-bin` payload decoded as a `google.rpc.Status`, when present.
    pub fn rich_status(&self) -> Option<RichStatus> {
        if self.0.status_details.is_empty() {
            return None;
        }
        prost::Message::decode(self.0.status_details.as_ref()).ok()
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.details.is_empty() {
            write!(f, "{}", self.0.code)
        } else {
            write!(f, "{}: {}", self.0.code, self.0.details)
        }
    }
}

impl fmt::Debug for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RpcError");
        d.field("code", &self.0.code).field("details", &self.0.details);
        if !self.0.metadata.is_empty() {
            d.field("metadata", &self.0.metadata);
        }
        if !self.0.status_details.is_empty() {
            d.field("status_details", &self.0.status_details.len());
        }
        d.finish()
    }
}

impl std::error::Error for RpcError {}

/// A metadata key or value refused while building a request (or a response): INVALID_ARGUMENT,
/// naming the key or value, and local: nothing was sent, so it never reads as the peer failing.
impl From<crate::MetadataError> for RpcError {
    fn from(err: crate::MetadataError) -> Self {
        RpcError::invalid_argument(format!("{err} (nothing was sent)"))
    }
}

impl From<prost::DecodeError> for RpcError {
    fn from(err: prost::DecodeError) -> Self {
        RpcError::internal(format!("failed to decode protobuf message: {err}"))
    }
}

/// The `google.rpc.Status` message that rich error details travel in
/// (`grpc-status-details-bin`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RichStatus {
    /// The status code; should match the call's.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Typed details, such as `google.rpc.BadRequest`.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// An error setting up a channel or server (not an RPC failure: those are [`RpcError`]).
///
/// The message is for people; match on the predicates (`is_*`), not on the text.
///
/// The two convert into each other, so `?` works on both in one function, whichever of the two
/// it returns: a setup error becomes the [`RpcError`] whose code says what to fix
/// (INVALID_ARGUMENT for a bad target, setting or certificate, UNAVAILABLE for a port that
/// cannot be bound, FAILED_PRECONDITION for a call out of order), and an [`RpcError`] becomes
/// an `Error` that [`is_rpc`](Error::is_rpc) and gives it back whole through
/// [`rpc_error`](Error::rpc_error).
///
/// ```no_run
/// use std::time::Duration;
///
/// // Setup and calls in one function returning `rust_rpc::Error`...
/// async fn connect(target: &str) -> Result<rust_rpc::Channel, rust_rpc::Error> {
///     let channel = rust_rpc::insecure_channel(target)?; // Error
///     channel.ready(Duration::from_secs(5)).await?; // RpcError, converted
///     Ok(channel)
/// }
///
/// // ...or returning `rust_rpc::Result` (RpcError).
/// async fn connect_rpc(target: &str) -> rust_rpc::Result<rust_rpc::Channel> {
///     let channel = rust_rpc::insecure_channel(target)?; // Error, converted
///     channel.ready(Duration::from_secs(5)).await?;
///     Ok(channel)
/// }
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// The failed call, for an error made from an [`RpcError`].
    rpc: Option<RpcError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    InvalidTarget,
    InvalidSetting,
    Bind,
    Tls,
    State,
    Runtime,
    Signal,
    Rpc,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), source: None, rpc: None }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// The channel target could not be parsed.
    pub fn is_invalid_target(&self) -> bool {
        self.kind == ErrorKind::InvalidTarget
    }

    /// A builder setting was refused (a user agent that is not a valid header value, say).
    pub fn is_invalid_setting(&self) -> bool {
        self.kind == ErrorKind::InvalidSetting
    }

    /// A server port could not be bound.
    pub fn is_bind(&self) -> bool {
        self.kind == ErrorKind::Bind
    }

    /// A certificate, key or TLS setting was refused.
    pub fn is_tls(&self) -> bool {
        self.kind == ErrorKind::Tls
    }

    /// The call does not fit the object's state (a port added after `start`, say).
    pub fn is_state(&self) -> bool {
        self.kind == ErrorKind::State
    }

    /// The call needs a Tokio runtime and was made outside one.
    pub fn is_runtime(&self) -> bool {
        self.kind == ErrorKind::Runtime
    }

    /// The process's signals could not be listened for (`Server::stop_on_signals`).
    pub fn is_signal(&self) -> bool {
        self.kind == ErrorKind::Signal
    }

    /// A call failed: the error was made from an [`RpcError`] (with `?`).
    pub fn is_rpc(&self) -> bool {
        self.kind == ErrorKind::Rpc
    }

    /// The failed call's error, for an error made from an [`RpcError`].
    pub fn rpc_error(&self) -> Option<&RpcError> {
        self.rpc.as_ref()
    }

    /// The status code this error stands for: the failed call's, or the code a setup error
    /// converts to (see [`Error`]).
    pub fn code(&self) -> Code {
        match self.kind {
            ErrorKind::Rpc => self.rpc.as_ref().map_or(Code::Unknown, RpcError::code),
            ErrorKind::InvalidTarget | ErrorKind::InvalidSetting | ErrorKind::Tls => Code::InvalidArgument,
            ErrorKind::Bind => Code::Unavailable,
            ErrorKind::State | ErrorKind::Runtime => Code::FailedPrecondition,
            ErrorKind::Signal => Code::Internal,
        }
    }
}

impl From<RpcError> for Error {
    fn from(err: RpcError) -> Error {
        Error { kind: ErrorKind::Rpc, message: err.to_string(), source: None, rpc: Some(err) }
    }
}

impl From<Error> for RpcError {
    fn from(err: Error) -> RpcError {
        if let Some(rpc) = err.rpc {
            return rpc;
        }
        let code = err.code();
        let details = match &err.source {
            Some(source) => format!("{}: {source}", err.message),
            None => err.message,
        };
        RpcError::new(code, details)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_never_an_error() {
        assert_eq!(RpcError::new(Code::Ok, "x").code(), Code::Unknown);
    }

    #[test]
    fn errors_convert_both_ways() {
        let call = RpcError::not_found("no such thing").with_status_details(&b"\x08\x05"[..]);
        let setup = Error::from(call.clone());
        assert!(setup.is_rpc());
        assert_eq!(setup.code(), Code::NotFound);
        assert_eq!(setup.to_string(), call.to_string());
        // Back again, whole.
        let back = RpcError::from(setup);
        assert_eq!(
            (back.code(), back.details(), back.status_details()),
            (call.code(), call.details(), call.status_details())
        );

        let target = Error::new(ErrorKind::InvalidTarget, "invalid channel target \"a b\"");
        assert!(target.rpc_error().is_none());
        let converted = RpcError::from(target);
        assert_eq!(converted.code(), Code::InvalidArgument);
        assert!(converted.details().contains("a b"), "{converted}");
        assert_eq!(RpcError::from(Error::new(ErrorKind::Bind, "port taken")).code(), Code::Unavailable);
        assert_eq!(RpcError::from(Error::new(ErrorKind::State, "started")).code(), Code::FailedPrecondition);
    }

    #[test]
    fn a_bad_metadata_key_is_a_local_invalid_argument_naming_it() {
        let err = RpcError::from(crate::Metadata::new().insert("Bad Key", "v").expect_err("a space is not allowed"));
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.details().contains("\"Bad Key\""), "{err}");
        assert!(err.details().contains("nothing was sent"), "{err}");
    }
}
