//! gRPC message framing: a compressed flag, a 4-byte big-endian length, then the message.
//!
//! The prefix is written and read here for every path ([`put_prefix`], [`read_prefix`], with
//! the limit check). The rest is for calls that carry one uncompressed message each way: the
//! unary paths of the client (`client/unary.rs`) and the server (`server/single_request.rs`,
//! `server/unary_body.rs`) use these instead of a stream codec, which was about a tenth of
//! the server's and a third of the client's instructions per unary call (tonic's). Streams, and
//! compressed messages of any kind, use `deframe.rs` and `batch.rs`; the error type here is
//! theirs too.

use std::pin::Pin;
use std::result::Result;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Body;

use crate::RpcError;
use crate::observe::Tally;
use crate::wire::limits::Limit;

/// The length prefix of a message frame.
pub(crate) const HEADER_LEN: usize = 5;

/// Why a message could not be framed or read: for a single-message body (here) and for streams,
/// compressed or not (`batch.rs`, `deframe.rs`, `compress.rs`).
#[derive(Debug)]
pub(crate) enum FrameError {
    TooLarge {
        len: usize,
        limit: usize,
    },
    Empty,
    Truncated,
    MoreThanOne,
    CompressedWithoutEncoding,
    BadFlag(u8),
    Decode(prost::DecodeError),
    /// The compressed message would not decompress.
    Decompress(std::io::Error),
    /// The compressed message decompresses to more than the limit.
    DecompressedTooLarge {
        limit: usize,
    },
    /// Compressing a message failed (in memory: not expected).
    Compress(std::io::Error),
}

impl FrameError {
    /// The status gRPC gives it: RESOURCE_EXHAUSTED over a limit, INTERNAL otherwise, worded
    /// for the limit it broke or the side that read it.
    pub(crate) fn into_rpc_error(self, limit: Limit) -> RpcError {
        let Limit { what, name: limit_name } = limit;
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
            FrameError::Decompress(err) => {
                RpcError::internal(format!("failed to decompress the {what} message: {err}"))
            }
            FrameError::DecompressedTooLarge { limit } => RpcError::resource_exhausted(format!(
                "the {what} message decompresses to more than {limit_name} of {limit} bytes"
            )),
            FrameError::Compress(err) => RpcError::internal(format!("failed to compress the {what} message: {err}")),
        }
    }
}

/// The length to write in the prefix of a message of `len` bytes, unless it is over `limit`.
#[inline]
pub(crate) fn checked_len(len: usize, limit: usize) -> Result<u32, FrameError> {
    u32::try_from(len).ok().filter(|_| len <= limit).ok_or(FrameError::TooLarge { len, limit })
}

/// Writes a frame's prefix: the compressed flag and the message length.
#[inline]
pub(crate) fn put_prefix(buf: &mut impl BufMut, compressed: bool, len: u32) {
    buf.put_u8(u8::from(compressed));
    buf.put_u32(len);
}

/// Reads the prefix `data` starts with: whether the message is compressed, and its length;
/// `None` until the five bytes are in. Fails for a compressed flag where the body has no
/// `grpc-encoding` (`compression_allowed` false), for a flag other than 0 and 1, and for a
/// message over `limit` (so an oversized message is refused before it is held).
#[inline]
pub(crate) fn read_prefix(
    data: &[u8],
    limit: usize,
    compression_allowed: bool,
) -> Result<Option<(bool, usize)>, FrameError> {
    let Some(&[flag, a, b, c, d]) = data.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let compressed = match flag {
        0 => false,
        1 if compression_allowed => true,
        1 => return Err(FrameError::CompressedWithoutEncoding),
        flag => return Err(FrameError::BadFlag(flag)),
    };
    let len = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
    if len > limit {
        return Err(FrameError::TooLarge { len, limit });
    }
    Ok(Some((compressed, len)))
}

/// Encodes `message` as one uncompressed frame, unless it is over `limit` bytes.
pub(crate) fn encode<M: prost::Message>(message: &M, limit: usize) -> Result<Bytes, FrameError> {
    let len = message.encoded_len();
    let prefix = checked_len(len, limit)?;
    let mut frame = BytesMut::with_capacity(HEADER_LEN + len);
    put_prefix(&mut frame, false, prefix);
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
        received.push(frame, limit).map_err(CollectError::Frame)?;
    }
    Ok((received.into_bytes(), trailers))
}

/// Decodes the one uncompressed message that `data` (from [`collect`]) must hold, counting it
/// in `tally` if the call has one.
pub(crate) fn decode_single<M: prost::Message + Default>(
    mut data: Bytes,
    limit: usize,
    tally: Option<&Tally>,
) -> Result<M, FrameError> {
    if data.is_empty() {
        return Err(FrameError::Empty);
    }
    let (_, len) = read_prefix(&data, limit, false)?.ok_or(FrameError::Truncated)?;
    match data.len().cmp(&(HEADER_LEN + len)) {
        std::cmp::Ordering::Less => return Err(FrameError::Truncated),
        std::cmp::Ordering::Greater => return Err(FrameError::MoreThanOne),
        std::cmp::Ordering::Equal => {}
    }
    data.advance(HEADER_LEN);
    if let Some(tally) = tally {
        tally.received(&data, len);
    }
    M::decode(data).map_err(FrameError::Decode)
}

/// The length in a frame's prefix, once `frame` holds the prefix (flag not checked: while the
/// data is collected, only its size matters).
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
    /// Adds `data`, failing once the prefix shows a message over `limit` or the data holds more
    /// than one message.
    ///
    /// Data in more than one chunk is copied into one buffer of the message's size, allocated
    /// once the prefix is in: growing it by doubling took a fresh mapping each call for large
    /// messages (a 16 MiB message ends in a 32 MiB buffer, which glibc maps and unmaps every
    /// time), thousands of page faults per 16 MiB call (BENCHMARKS.md, gain 7).
    fn push(&mut self, data: Bytes, limit: usize) -> Result<(), FrameError> {
        if data.is_empty() {
            return Ok(());
        }
        match self {
            Received::None => *self = Received::One(data),
            Received::One(first) => {
                let whole = message_len(first).filter(|&len| len <= limit).map_or(0, |len| HEADER_LEN + len);
                let mut joined = BytesMut::with_capacity(whole.max(first.len() + data.len()));
                joined.extend_from_slice(first);
                joined.extend_from_slice(&data);
                *self = Received::Many(joined);
            }
            Received::Many(joined) => {
                // The prefix may have been split across the first chunks.
                if let Some(len) = message_len(joined).filter(|&len| len <= limit) {
                    joined.reserve((HEADER_LEN + len).saturating_sub(joined.len()));
                }
                joined.extend_from_slice(&data);
            }
        }
        if let Some(len) = message_len(self.as_slice()) {
            if len > limit {
                return Err(FrameError::TooLarge { len, limit });
            }
            if self.as_slice().len() > HEADER_LEN + len {
                return Err(FrameError::MoreThanOne);
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::task::{Context, Poll};

    use super::*;

    /// A body of the given DATA chunks.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|data| Ok(http_body::Frame::data(data))))
        }
    }

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut frame = vec![0];
        frame.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
        frame.extend_from_slice(message);
        frame
    }

    /// Collects `frame` cut at `cuts`, with `limit`.
    fn collect_cut(frame: &[u8], cuts: &[usize], limit: usize) -> Result<Bytes, FrameError> {
        let mut chunks = VecDeque::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([frame.len()].iter()) {
            chunks.push_back(Bytes::copy_from_slice(&frame[start..cut]));
            start = cut;
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(collect(&mut Chunks(chunks), limit)).map(|(data, _)| data).map_err(|err| match err {
            CollectError::Frame(err) => err,
            CollectError::Body(never) => match never {},
        })
    }

    #[test]
    fn chunks_join_into_the_frame_wherever_they_are_cut() {
        let message: Vec<u8> = (0..=255).cycle().take(100_000).collect();
        let frame = framed(&message);
        for cuts in [vec![], vec![1], vec![3, 4], vec![5], vec![2, 5, 6, 70_000], vec![16_384, 32_768]] {
            let data = collect_cut(&frame, &cuts, 1 << 20).expect("collects");
            assert_eq!(&data[..], &frame[..], "cut at {cuts:?}");
        }
    }

    #[test]
    fn a_prefix_over_the_limit_fails_before_the_message_arrives() {
        // Only the prefix and a few bytes of a 4 GiB message: refused, nothing that size held.
        let mut start = vec![0];
        start.extend_from_slice(&u32::MAX.to_be_bytes());
        start.extend_from_slice(b"abc");
        let err = collect_cut(&start, &[2], 1024).expect_err("over the limit");
        assert!(matches!(err, FrameError::TooLarge { limit: 1024, .. }), "{err:?}");
    }

    #[test]
    fn a_second_message_is_refused() {
        let mut two = framed(b"one");
        two.extend_from_slice(&framed(b"two"));
        for cuts in [vec![], vec![8], vec![9], vec![3]] {
            let err = collect_cut(&two, &cuts, 1024).expect_err("two messages");
            assert!(matches!(err, FrameError::MoreThanOne), "cut at {cuts:?}: {err:?}");
        }
    }
}
