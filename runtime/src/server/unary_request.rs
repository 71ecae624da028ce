//! Reading the one request message of a unary or server-streaming call straight off the body,
//! when it is not compressed.
//!
//! Why not tonic's `Streaming` for these: it is a stream decoder (a state machine over a
//! buffer, a boxed decoder, a per-frame status check), read twice per call to learn that no
//! second message follows. Streams, and compressed single requests, are read by `deframe.rs`.

use hyper::body::Incoming;

use crate::Result;
use crate::frame::{self, CollectError};
use crate::server::RECEIVE_LIMIT;
use crate::server::stream::body_error;

/// Reads the whole request body and decodes its one uncompressed message. Errors are those of
/// gRPC: RESOURCE_EXHAUSTED over `limit` (found from the prefix, before the message is
/// buffered), INTERNAL for no message, two messages, a truncated or undecodable one, or a
/// compressed flag without `grpc-encoding`; a failed body (the client reset the stream) gives
/// the status tonic maps that failure to.
pub(crate) async fn read_single<M: prost::Message + Default>(mut body: Incoming, limit: usize) -> Result<M> {
    let (data, _trailers) = frame::collect(&mut body, limit).await.map_err(|err| match err {
        CollectError::Body(err) => body_error(err),
        CollectError::Frame(err) => err.into_rpc_error("request", RECEIVE_LIMIT),
    })?;
    frame::decode_single(data, limit).map_err(|err| err.into_rpc_error("request", RECEIVE_LIMIT))
}
