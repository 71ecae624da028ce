//! The headers of a request, built once per call from static values (tonic's `Grpc` rebuilt the
//! accept-encoding value from a list on every call).

use std::time::Instant;

use http::uri::PathAndQuery;

use crate::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT};
use crate::{Channel, Compression, Metadata, Result, RpcError};

/// The request's headers: the method, the metadata, the protocol's own headers and, when set,
/// the request compression and the deadline as `grpc-timeout`.
pub(crate) fn request_head(
    channel: &Channel,
    path: &'static str,
    metadata: Metadata,
    compression: Option<Compression>,
    deadline: Option<Instant>,
) -> Result<http::request::Parts> {
    let mut uri = channel.origin().clone().into_parts();
    uri.path_and_query = Some(PathAndQuery::from_static(path));
    let uri =
        http::Uri::from_parts(uri).map_err(|err| RpcError::internal(format!("invalid method path {path:?}: {err}")))?;
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
        if let Ok(value) = crate::deadline::format_grpc_timeout(remaining).parse() {
            headers.insert(&GRPC_TIMEOUT, value);
        }
    }
    head.headers = headers;
    Ok(head)
}
