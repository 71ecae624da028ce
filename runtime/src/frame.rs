//! gRPC message framing for calls that carry one uncompressed message each way: a compressed
//! flag, a 4-byte big-endian length, then the message.
//!
//! The unary paths of the client (`client/unary.rs`) and the server (`server/unary_request.rs`,
//! `server/unary_body.rs`) use these instead of tonic's stream codec, which was about a tenth of
//! each side's instructions per unary call. Compressed messages and streams still go through
//! tonic's codec.

use std::pin::Pin;
use std::result::Result;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Body;

use crate::RpcError;

/// The length prefix of a message frame.
pub(crate) const HEADER_LEN: usize = 5;

/// Why a body is not exactly one acceptable uncompressed message.
#[derive(Debug)]
pub(crate) enum FrameError {
    TooLarge { len: usize, limit: usize },
    Empty,
    Truncated,
    MoreThanOne,
    CompressedWithoutEncoding,
    BadFlag(u8),
    Decode(prost::DecodeError),
}

impl FrameError {
    /// The status gRPC gives it: RESOURCE_EXHAUSTED over a limit, INTERNAL otherwise. `what` is
    /// "request" or "response", `limit` names the limit ("the server's receive limit").
    pub(crate) fn into_rpc_error(self, what: &str, limit_name: &str) -> RpcError {
        match self {
            FrameError::TooLarge { len, limit } => RpcError::resource_exhausted(format!(
                "the {what} message is {len} bytes, over {limit_name} of {limit} bytes"
            )),
            FrameError::Empty => RpcError::internal(format!("no {what} message was sent")),
            FrameError::Truncated => RpcError::internal(format!("the {what} ended inside a message")),
            FrameError::MoreThanOne => {
                RpcError::internal(format!("more than one {what} message was sent to a single-message method"))
            }
            FrameError::CompressedWithoutEncoding => RpcError::internal(format!(
                "protocol error: the {what} message is marked compressed but there is no grpc-encoding"
            )),
            FrameError::BadFlag(flag) => RpcError::internal(format!("protocol error: invalid compressed flag {flag}")),
            FrameError::Decode(err) => RpcError::internal(format!("failed to decode the {what} message: {err}")),
        }
    }
}

/// Encodes `message` as one uncompressed frame, unless it is over `limit` bytes.
pub(crate) fn encode<M: prost::Message>(message: &M, limit: usize) -> Result<Bytes, FrameError> {
    let len = message.encoded_len();
    let prefix = u32::try_from(len).ok().filter(|_| len <= limit).ok_or(FrameError::TooLarge { len, limit })?;
    let mut frame = BytesMut::with_capacity(HEADER_LEN + len);
    frame.put_u8(0);
    frame.put_u32(prefix);
    message.encode(&mut frame).map_err(|_| FrameError::TooLarge { len, limit })?;
    Ok(frame.freeze())
}

/// Why [`collect`] stopped.
pub(crate) enum CollectError<E> {
    /// The body failed (a reset stream, a lost connection).
    Body(E),
    /// The data cannot be a single message under the limit.
    Frame(FrameError),
}

/// Reads `body` to its end: its data (at most one message's worth, checked against `limit` as
/// soon as the prefix is in, so an oversized message is never buffered) and its trailers. Data
/// that arrives in one DATA frame, the usual case, is kept without a copy.
pub(crate) async fn collect<B>(
    body: &mut B,
    limit: usize,
) -> Result<(Bytes, Option<http::HeaderMap>), CollectError<B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut received = Received::None;
    let mut trailers = None;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
        let frame = frame.map_err(CollectError::Body)?;
        let frame = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if let Ok(map) = frame.into_trailers() {
                    trailers = Some(map);
                }
                continue;
            }
        };
        received.push(frame);
        if let Some(len) = message_len(received.as_slice()) {
            if len > limit {
                return Err(CollectError::Frame(FrameError::TooLarge { len, limit }));
            }
            if received.as_slice().len() > HEADER_LEN + len {
                return Err(CollectError::Frame(FrameError::MoreThanOne));
            }
        }
    }
    Ok((received.into_bytes(), trailers))
}

/// Decodes the one uncompressed message that `data` (from [`collect`]) must hold.
pub(crate) fn decode_single<M: prost::Message + Default>(mut data: Bytes, limit: usize) -> Result<M, FrameError> {
    if data.is_empty() {
        return Err(FrameError::Empty);
    }
    let len = message_len(&data).ok_or(FrameError::Truncated)?;
    match data.first() {
        Some(0) => {}
        Some(1) => return Err(FrameError::CompressedWithoutEncoding),
        Some(&flag) => return Err(FrameError::BadFlag(flag)),
        None => return Err(FrameError::Empty),
    }
    if len > limit {
        return Err(FrameError::TooLarge { len, limit });
    }
    match data.len().cmp(&(HEADER_LEN + len)) {
        std::cmp::Ordering::Less => return Err(FrameError::Truncated),
        std::cmp::Ordering::Greater => return Err(FrameError::MoreThanOne),
        std::cmp::Ordering::Equal => {}
    }
    data.advance(HEADER_LEN);
    M::decode(data).map_err(FrameError::Decode)
}

/// The length in a frame's prefix, once `frame` holds the prefix.
fn message_len(frame: &[u8]) -> Option<usize> {
    let len: [u8; 4] = frame.get(1..HEADER_LEN)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(len)).ok()
}

/// The data so far: nothing, one chunk kept as it came, or chunks copied together.
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

    fn into_bytes(self) -> Bytes {
        match self {
            Received::None => Bytes::new(),
            Received::One(bytes) => bytes,
            Received::Many(bytes) => bytes.freeze(),
        }
    }
}
