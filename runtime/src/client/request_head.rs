//! The headers of a request, built once per call from static values (tonic's `Grpc` rebuilt the
//! accept-encoding value from a list on every call).
//!
//! The method path comes from the caller (`Channel::unary` and friends take any `&'static str`,
//! generic calls any string),
//! so it is checked here: a bad one fails the call with INTERNAL instead of panicking.

use std::time::Instant;

use http::uri::PathAndQuery;

use crate::client::path::MethodPath;
use crate::wire::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT};
use crate::wire::timeout;
use crate::{Channel, Compression, Metadata, Result, RpcError};

/// The request's headers: the method, the metadata, the protocol's own headers and, when set,
/// the request compression and the deadline as `grpc-timeout`.
pub(crate) fn request_head(
    channel: &Channel,
    path: &MethodPath,
    metadata: Metadata,
    compression: Option<Compression>,
    deadline: Option<Instant>,
) -> Result<http::request::Parts> {
    let invalid = |err: &dyn std::fmt::Display| {
        let path = path.as_str();
        RpcError::internal(format!("invalid method path {path:?} (a path is /package.Service/Method): {err}"))
    };
    if !path.as_str().starts_with('/') {
        return Err(invalid(&"it does not start with /"));
    }
    let mut uri = channel.origin().clone().into_parts();
    // Not `from_static`, which panics on a bad path; this checks the same without a copy.
    uri.path_and_query = Some(PathAndQuery::from_maybe_shared(path.to_bytes()).map_err(|e| invalid(&e))?);
    let uri = http::Uri::from_parts(uri).map_err(|e| invalid(&e))?;
    let (mut head, ()) = http::Request::post(uri)
        .version(http::Version::HTTP_2)
        .body(())
        .map_err(|err| RpcError::internal(format!("cannot build the request: {err}")))?
        .into_parts();
    // A `user-agent` in the metadata is replaced by the channel's (`Channel::send`).
    let mut headers = metadata.into_headers();
    headers.insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    headers.insert(&GRPC_ACCEPT_ENCODING, http::HeaderValue::from_static(Compression::ACCEPT_ENCODING));
    if let Some(compression) = compression {
        headers.insert(&GRPC_ENCODING, http::HeaderValue::from_static(compression.as_str()));
    }
    if let Some(deadline) = deadline {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if let Ok(value) = timeout::format_grpc_timeout(remaining).parse() {
            headers.insert(&GRPC_TIMEOUT, value);
        }
    }
    head.headers = headers;
    Ok(head)
}
