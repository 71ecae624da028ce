//! The header names of the gRPC protocol, each parsed once.
//!
//! A `&str` key makes `HeaderMap::insert` parse and validate the name on every call, which
//! showed up in server profiles, per header and call; these are built at compile time.

use http::HeaderName;

/// The call's final status code (trailers, or the headers of a trailers-only response).
pub(crate) static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// The status message, percent-encoded.
pub(crate) static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
/// A serialized `google.rpc.Status` with the status details.
pub(crate) static GRPC_STATUS_DETAILS_BIN: HeaderName = HeaderName::from_static("grpc-status-details-bin");
/// The compression of the messages that follow.
pub(crate) static GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");
/// The compressions the sender can read.
pub(crate) static GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");
/// The time the client allows the call.
pub(crate) static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// On a retried or hedged attempt (gRFC A6): how many attempts came before it.
pub(crate) static GRPC_PREVIOUS_RPC_ATTEMPTS: HeaderName = HeaderName::from_static("grpc-previous-rpc-attempts");
/// A server's pushback on retries, in milliseconds; negative means do not retry (gRFC A6).
pub(crate) static GRPC_RETRY_PUSHBACK_MS: HeaderName = HeaderName::from_static("grpc-retry-pushback-ms");

/// Headers the protocol owns, never metadata: metadata under these names is not sent, and
/// request headers under them are not shown to handlers as metadata.
pub(crate) static PROTOCOL_HEADERS: [&HeaderName; 9] = [
    &http::header::TE,
    &http::header::CONTENT_TYPE,
    &http::header::CONTENT_LENGTH,
    &GRPC_STATUS,
    &GRPC_MESSAGE,
    &GRPC_STATUS_DETAILS_BIN,
    &GRPC_ENCODING,
    &GRPC_ACCEPT_ENCODING,
    &GRPC_TIMEOUT,
];
