//! A unary call without tonic's client codec, when the request is not compressed.
//!
//! Why: tonic's `Grpc` rebuilds the request headers per call (the accept-encoding value from a
//! list each time), wraps the message in a stream encoder and the response in a stream decoder
//! that is read three times (message, no second message, trailers). That was about a third of
//! the client's instructions per unary call. Here the message is encoded once, sent as one
//! frame with END_STREAM, and the response body is read to its end and decoded once.
//!
//! Only the plain answer is read here: HTTP 200, no `grpc-status` in the headers
//! (trailers-only), no `grpc-encoding`. A non-200 answer without `grpc-status` has already been
//! turned into its gRPC code by `Channel::send`, for every kind of call; anything else goes to
//! tonic's decoder exactly as the general path would, so error mapping and decompression stay
//! tonic's.

use std::time::Instant;

use http::uri::PathAndQuery;
use tonic::codec::Codec;
use tonic_prost::ProstCodec;

use crate::client::call::{Response, no_response_message, single, with_headers};
use crate::client::channel::Outgoing;
use crate::client::response_body::ResponseBody;
use crate::frame::{self, CollectError};
use crate::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_STATUS, GRPC_TIMEOUT};
use crate::{CallOptions, Channel, Code, Compression, Metadata, Result, RpcError};

const SEND_LIMIT: &str = "the channel's send limit";
const RECEIVE_LIMIT: &str = "the channel's receive limit";

/// Makes a unary call with `options` (the channel's defaults already merged in), whose request
/// is not compressed.
pub(crate) async fn call<Req, Resp>(
    channel: Channel,
    path: &'static str,
    request: Req,
    options: CallOptions,
    deadline: Option<Instant>,
) -> Result<Response<Resp>>
where
    Req: prost::Message,
    Resp: prost::Message + Default + Send + 'static,
{
    let settings = channel.settings();
    let receive_limit = settings.max_receive_message_length;
    let send_limit = settings.max_send_message_length.unwrap_or(usize::MAX);
    let frame = frame::encode(&request, send_limit).map_err(|err| err.into_rpc_error("request", SEND_LIMIT))?;
    drop(request);
    let head = request_head(&channel, path, options.metadata, deadline)?;
    let response =
        channel.send(head, Outgoing::Frame(frame), options.wait_for_ready).await.map_err(RpcError::from_tonic)?;
    let (parts, mut body) = response.into_parts();
    let plain = parts.status == http::StatusCode::OK
        && !parts.headers.contains_key(&GRPC_STATUS)
        && parts.headers.get(&GRPC_ENCODING).is_none_or(|e| e == "identity");
    if !plain {
        return general(parts, body, receive_limit).await;
    }
    let initial = Metadata::from_received_headers(parts.headers);
    let (data, trailers) = frame::collect(&mut body, receive_limit).await.map_err(|err| match err {
        CollectError::Body(status) => with_headers(RpcError::from_tonic(status), &initial),
        CollectError::Frame(err) => with_headers(err.into_rpc_error("response", RECEIVE_LIMIT), &initial),
    })?;
    drop(body);
    let trailers = trailers.unwrap_or_default();
    // OK is read here; tonic's parser (grpc-message decoding, status details, a copy of the
    // trailers as metadata) was about 1.5k instructions a call, only needed for errors.
    if trailers.get(&GRPC_STATUS).is_none_or(|status| status != "0") {
        check_status(&trailers).map_err(|err| with_headers(err, &initial))?;
    }
    let message = frame::decode_single(data, receive_limit).map_err(|err| {
        let err = match err {
            frame::FrameError::Empty => no_response_message(),
            err => err.into_rpc_error("response", RECEIVE_LIMIT),
        };
        with_headers(err, &initial)
    })?;
    Ok(Response::new(message, initial, Metadata::from_received_headers(trailers)))
}

/// The status in `trailers` when it is not a plain `grpc-status: 0`, as tonic reads it.
fn check_status(trailers: &http::HeaderMap) -> Result<()> {
    match tonic::Status::from_header_map(trailers) {
        Some(status) if status.code() == tonic::Code::Ok => Ok(()),
        Some(status) => Err(RpcError::from_tonic(status)),
        // As tonic (and grpc-go) say it: an HTTP 200 that ends without a status.
        None => Err(RpcError::new(
            Code::Unknown,
            "protocol error: missing grpc-status trailer, stream was terminated without a final status",
        )),
    }
}

/// The request's headers, as tonic's `Grpc` writes them for an uncompressed call.
fn request_head(
    channel: &Channel,
    path: &'static str,
    metadata: Metadata,
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
    let mut headers = metadata.into_headers();
    if !headers.is_empty() {
        // tonic strips this one from metadata too (it reserves it for its transport).
        headers.remove(http::header::USER_AGENT);
    }
    headers.insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    headers.insert(&GRPC_ACCEPT_ENCODING, http::HeaderValue::from_static(Compression::ACCEPT_ENCODING));
    if let Some(deadline) = deadline {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if let Ok(value) = crate::deadline::format_grpc_timeout(remaining).parse() {
            headers.insert(&GRPC_TIMEOUT, value);
        }
    }
    head.headers = headers;
    Ok(head)
}

/// Any answer but the plain one, read by tonic's decoder as on the general path.
async fn general<Resp>(parts: http::response::Parts, body: ResponseBody, receive_limit: usize) -> Result<Response<Resp>>
where
    Resp: prost::Message + Default + Send + 'static,
{
    if let Some(status) = tonic::Status::from_header_map(&parts.headers) {
        // Trailers-only.
        if status.code() != tonic::Code::Ok {
            return Err(RpcError::from_tonic(status));
        }
        return Err(no_response_message());
    }
    let encoding = match parts.headers.get(&GRPC_ENCODING).map(|v| v.to_str().unwrap_or("?")) {
        None | Some("identity") => None,
        Some(name) => match Compression::from_name(name) {
            Some(compression) => Some(compression.to_tonic()),
            None => {
                return Err(RpcError::unimplemented(format!(
                    "the response is compressed with {name:?}, which this client does not accept ({})",
                    Compression::ACCEPT_ENCODING
                )));
            }
        },
    };
    let initial = Metadata::from_received_headers(parts.headers);
    let mut codec = ProstCodec::<(), Resp>::default();
    let stream = tonic::Streaming::new_response(codec.decoder(), body, parts.status, encoding, Some(receive_limit));
    single(initial, stream).await
}
