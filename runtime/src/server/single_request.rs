//! Reading the one request message of a unary or server-streaming call: straight off the body
//! when it is not compressed, else with the stream decoder.
//!
//! Why not a stream decoder always (tonic's `Streaming`, which this replaced): it is a state
//! machine over a buffer, with a boxed decoder and a per-frame status check, read twice per
//! call to learn that no second message follows. Streams, and compressed single requests, are
//! read by `wire/deframe.rs`.

use hyper::body::Incoming;

use crate::observe::Tally;
use crate::server::stream::RequestStream;
use crate::wire::frame::{self, CollectError};
use crate::wire::limits::Limit;
use crate::wire::status;
use crate::{Result, RpcError};

/// Reads the one request message of a unary or server-streaming call.
pub(crate) async fn single_request<M: prost::Message + Default>(requests: &mut RequestStream<M>) -> Result<M> {
    if let Some(unread) = requests.take_unread() {
        if unread.encoding.is_none() {
            return read_single(unread.body, unread.limit, unread.tally.as_deref()).await;
        }
        *requests = RequestStream::new(unread);
    }
    let first = requests.message().await?.ok_or_else(|| RpcError::internal("the client sent no request message"))?;
    if requests.message().await?.is_some() {
        return Err(RpcError::internal("the client sent more than one request message to a single-request method"));
    }
    Ok(first)
}

/// Reads the whole request body and decodes its one uncompressed message. Errors are those of
/// gRPC: RESOURCE_EXHAUSTED over `limit` (found from the prefix, before the message is
/// buffered), INTERNAL for no message, two messages, a truncated or undecodable one, or a
/// compressed flag without `grpc-encoding`; a failed body (the client reset the stream) gives
/// the status of that failure.
async fn read_single<M: prost::Message + Default>(
    mut body: Incoming,
    limit: usize,
    tally: Option<&Tally>,
) -> Result<M> {
    let (data, _trailers) = frame::collect(&mut body, limit).await.map_err(|err| match err {
        CollectError::Body(err) => status::from_hyper(&err),
        CollectError::Frame(err) => err.into_rpc_error(Limit::SERVER_RECEIVE),
    })?;
    frame::decode_single(data, limit, tally).map_err(|err| err.into_rpc_error(Limit::SERVER_RECEIVE))
}
