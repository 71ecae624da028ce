//! Reading the one request message of a unary or server-streaming call straight off the body,
//! when it is not compressed.
//!
//! Why not tonic's `Streaming` for these: it is a stream decoder (a state machine over a
//! buffer, a boxed decoder, a per-frame status check), read twice per call to learn that no
//! second message follows; that was about a tenth of the server's instructions per unary call.
//! A body that arrives in one DATA frame, the usual case, is decoded in place without a copy.
//! Compressed requests and the streaming kinds still go through `Streaming`.

use bytes::{Buf, Bytes, BytesMut};
use http_body::Body as _;
use hyper::body::Incoming;

use crate::{Result, RpcError};

/// The length prefix of a gRPC message frame: a compressed flag and a big-endian length.
const FRAME_HEADER_LEN: usize = 5;

/// Reads the whole request body and decodes its one uncompressed message. Errors are those of
/// gRPC: RESOURCE_EXHAUSTED over `limit` (found from the prefix, before the message is
/// buffered), INTERNAL for no message, two messages, a truncated or undecodable one, or a
/// compressed flag without `grpc-encoding`; a failed body (the client reset the stream) gives
/// the status tonic maps that failure to.
pub(crate) async fn read_single<M: prost::Message + Default>(mut body: Incoming, limit: usize) -> Result<M> {
    let mut received = Received::None;
    while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|err| RpcError::from_tonic(tonic::Status::from_error(Box::new(err))))?;
        let Ok(data) = frame.into_data() else { continue };
        received.push(data);
        if let Some(len) = received.message_len() {
            check_len(len, limit)?;
            if received.len() > FRAME_HEADER_LEN + len {
                return Err(more_than_one());
            }
        }
    }
    let mut bytes = received.into_bytes();
    if bytes.is_empty() {
        return Err(RpcError::internal("the client sent no request message"));
    }
    let Some(len) = frame_len(&bytes) else {
        return Err(truncated());
    };
    match bytes.first() {
        Some(0) => {}
        Some(1) => {
            return Err(RpcError::internal(
                "protocol error: the request message is marked compressed but the request has no grpc-encoding",
            ));
        }
        flag => return Err(RpcError::internal(format!("protocol error: invalid compressed flag {flag:?}"))),
    }
    check_len(len, limit)?;
    if bytes.len() < FRAME_HEADER_LEN + len {
        return Err(truncated());
    }
    if bytes.len() > FRAME_HEADER_LEN + len {
        return Err(more_than_one());
    }
    bytes.advance(FRAME_HEADER_LEN);
    M::decode(bytes).map_err(|err| RpcError::internal(format!("failed to decode the request message: {err}")))
}

/// The body so far: nothing, one chunk kept as it came, or chunks copied together.
enum Received {
    None,
    One(Bytes),
    Many(BytesMut),
}

impl Received {
    fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        *self = match std::mem::replace(self, Received::None) {
            Received::None => Received::One(data),
            Received::One(first) => {
                let mut joined = BytesMut::with_capacity(first.len() + data.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&data);
                Received::Many(joined)
            }
            Received::Many(mut joined) => {
                joined.extend_from_slice(&data);
                Received::Many(joined)
            }
        };
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Received::None => &[],
            Received::One(bytes) => bytes,
            Received::Many(bytes) => bytes,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// The first message's length, once its prefix is in.
    fn message_len(&self) -> Option<usize> {
        frame_len(self.as_slice())
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Received::None => Bytes::new(),
            Received::One(bytes) => bytes,
            Received::Many(bytes) => bytes.freeze(),
        }
    }
}

/// The length in a frame's prefix, once `frame` holds the prefix.
fn frame_len(frame: &[u8]) -> Option<usize> {
    let len: [u8; 4] = frame.get(1..FRAME_HEADER_LEN)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(len)).ok()
}

fn check_len(len: usize, limit: usize) -> Result<()> {
    if len > limit {
        return Err(RpcError::resource_exhausted(format!(
            "the request message is {len} bytes, over the server's receive limit of {limit} bytes"
        )));
    }
    Ok(())
}

fn truncated() -> RpcError {
    RpcError::internal("the request ended inside a message")
}

fn more_than_one() -> RpcError {
    RpcError::internal("the client sent more than one request message to a single-request method")
}
