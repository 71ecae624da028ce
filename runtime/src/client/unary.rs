//! A unary call without a stream encoder and decoder, when the request is not compressed.
//!
//! Why: a stream codec (tonic's `Grpc`, which this replaced) rebuilds the request headers per
//! call, wraps the message in a stream encoder and the response in a stream decoder that is read
//! three times (message, no second message, trailers): a large share of the client's
//! instructions per unary call (BENCHMARKS.md, gain 6). Here the message is encoded once, sent
//! as one frame with END_STREAM, and the response body is read to its end and decoded once.
//!
//! Only the plain answer is read here: HTTP 200, no `grpc-status` in the headers
//! (trailers-only), no `grpc-encoding`. A non-200 answer without `grpc-status` has already been
//! turned into its gRPC code by `Channel::send` (`exchange.rs`), for every kind of call; anything else is read
//! exactly as the streaming path reads it (`decoder.rs`: a trailers-only status, or a
//! compressed answer). A compressed request goes through the streaming path too.

use std::sync::Arc;
use std::time::Instant;

use crate::client::decoder;
use crate::client::exchange::Outgoing;
use crate::client::path::MethodPath;
use crate::client::request_head::request_head;
use crate::client::response::{Response, no_response_message, single, with_headers};
use crate::client::response_body::ResponseBody;
use crate::observe::Tally;
use crate::wire::frame::{self, CollectError};
use crate::wire::headers::{GRPC_ENCODING, GRPC_STATUS};
use crate::wire::limits::Limit;
use crate::wire::status;
use crate::{CallOptions, Channel, Metadata, Result};

/// Makes a unary call with `options` (the channel's defaults already merged in), whose request
/// is not compressed; its messages are counted in `tally` if the call has interceptors.
pub(crate) async fn call<Req, Resp>(
    channel: Channel,
    path: MethodPath,
    request: Req,
    options: CallOptions,
    deadline: Option<Instant>,
    tally: Option<Arc<Tally>>,
) -> Result<Response<Resp>>
where
    Req: prost::Message,
    Resp: prost::Message + Default + Send + 'static,
{
    let settings = channel.settings();
    let mut receive_limit = settings.max_receive_message_length;
    let mut send_limit = settings.max_send_message_length.unwrap_or(usize::MAX);
    let method = channel.method_config(&path);
    if let Some(method) = method {
        (send_limit, receive_limit) = method.limits(send_limit, receive_limit);
    }
    let frame = frame::encode(&request, send_limit).map_err(|err| err.into_rpc_error(Limit::CLIENT_SEND))?;
    drop(request);
    if let Some(tally) = &tally {
        let message = frame.get(frame::HEADER_LEN..).unwrap_or_default();
        tally.sent(message, message.len());
    }
    let head = request_head(&channel, &path, options.metadata, None, deadline)?;
    let wait = options.wait_for_ready.unwrap_or(false);
    let response = match method {
        // Boxed: the fast path's future stays as small as it was.
        Some(method) if method.policy.is_some() => {
            Box::pin(crate::client::retry::send(&channel, head, Outgoing::Frame(frame), wait, method, deadline)).await?
        }
        _ => channel.send(head, Outgoing::Frame(frame), wait).await?,
    };
    let (parts, mut body) = response.into_parts();
    let plain = parts.status == http::StatusCode::OK
        && !parts.headers.contains_key(&GRPC_STATUS)
        && parts.headers.get(&GRPC_ENCODING).is_none_or(|e| e == "identity");
    if !plain {
        return general(parts, body, receive_limit, tally).await;
    }
    let initial = Metadata::from_received_headers(parts.headers);
    let (data, trailers) = frame::collect(&mut body, receive_limit).await.map_err(|err| match err {
        CollectError::Body(err) => with_headers(err, &initial),
        CollectError::Frame(err) => with_headers(err.into_rpc_error(Limit::CLIENT_RECEIVE), &initial),
    })?;
    drop(body);
    let trailers = trailers.unwrap_or_default();
    status::check(&trailers).map_err(|err| with_headers(err, &initial))?;
    let message = frame::decode_single(data, receive_limit, tally.as_deref()).map_err(|err| {
        let err = match err {
            frame::FrameError::Empty => no_response_message(),
            err => err.into_rpc_error(Limit::CLIENT_RECEIVE),
        };
        with_headers(err, &initial)
    })?;
    Ok(Response::new(message, initial, Metadata::from_received_headers(trailers)))
}

/// Any answer but the plain one, read as the streaming path reads it.
async fn general<Resp>(
    parts: http::response::Parts,
    body: ResponseBody,
    receive_limit: usize,
    tally: Option<Arc<Tally>>,
) -> Result<Response<Resp>>
where
    Resp: prost::Message + Default + Send + 'static,
{
    let (initial, decoder) = decoder::open(http::Response::from_parts(parts, body), receive_limit, tally)?;
    single(initial, decoder).await
}
