//! Reading a stream of messages off a body: the message frames cut out of the DATA chunks as
//! they come, decompressed if they are marked so (see `compress.rs`), then decoded one at a
//! time.
//!
//! Why not tonic's `Streaming`: it copies every chunk into a buffer of its own before cutting
//! the frames out of it, and its state machine and boxed decoder were about a quarter of the
//! server's instructions per ping-pong round trip. Here a frame that lies whole in one chunk
//! is a slice of that chunk, and only a frame cut across chunks is copied, into a buffer of its
//! exact size.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;
use http_body::Body;

use crate::observe::Tally;
use crate::wire::compress::decompress;
use crate::wire::frame::{FrameError, HEADER_LEN, read_prefix};
use crate::wire::limits::Limit;
use crate::{Compression, RpcError};

/// Cuts message frames out of data chunks, checking each prefix before its message is held.
#[derive(Debug)]
pub(crate) struct Deframer {
    /// The chunk received last, from where reading goes on.
    chunk: Bytes,
    /// A frame begun in an earlier chunk, joined until it is whole.
    partial: BytesMut,
    /// The limit on a message's length, both as sent and decompressed.
    limit: usize,
    /// The body's `grpc-encoding`: frames marked compressed are decompressed with it, and are
    /// an error without it.
    compression: Option<Compression>,
    /// Counts each message read, on a call with interceptors.
    tally: Option<Arc<Tally>>,
}

impl Deframer {
    pub(crate) fn new(limit: usize, compression: Option<Compression>, tally: Option<Arc<Tally>>) -> Self {
        Deframer { chunk: Bytes::new(), partial: BytesMut::new(), limit, compression, tally }
    }

    /// Adds a chunk; call it only once [`Deframer::next_message`] has given `None`.
    pub(crate) fn push(&mut self, data: Bytes) {
        if self.chunk.is_empty() {
            self.chunk = data;
        } else {
            // Not reached while callers drain first, but nothing is lost if they do not.
            let mut joined = BytesMut::with_capacity(self.chunk.len() + data.len());
            joined.extend_from_slice(&self.chunk);
            joined.extend_from_slice(&data);
            self.chunk = joined.freeze();
        }
    }

    /// Holds no part of a frame.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunk.is_empty() && self.partial.is_empty()
    }

    /// The next whole message (without its prefix), or `None` until more data is pushed. Leaves
    /// nothing unread when it gives `None`.
    pub(crate) fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.partial.is_empty() {
            if let Some(len) = self.frame_len(&self.chunk)?
                && self.chunk.len() >= HEADER_LEN + len
            {
                let frame = self.chunk.split_to(HEADER_LEN + len);
                return self.message(frame);
            }
            if self.chunk.is_empty() {
                return Ok(None);
            }
        }
        // Join the frame: first its prefix, then (in a buffer of the frame's size) the rest.
        if self.partial.len() < HEADER_LEN {
            let take = (HEADER_LEN - self.partial.len()).min(self.chunk.len());
            self.take_into_partial(take);
        }
        let Some(len) = self.frame_len(&self.partial)? else {
            return Ok(None);
        };
        let whole = HEADER_LEN + len;
        self.partial.reserve(whole - self.partial.len());
        let take = (whole - self.partial.len()).min(self.chunk.len());
        self.take_into_partial(take);
        if self.partial.len() < whole {
            return Ok(None);
        }
        let frame = self.partial.split().freeze();
        self.message(frame)
    }

    /// The message of a whole `frame` (whose prefix `frame_len` has checked), decompressed if
    /// it is marked compressed. Inlined, and the plain case first: as a call of its own it was
    /// measurable in the client's instructions per streamed message (BENCHMARKS.md, gain 12).
    #[inline]
    fn message(&self, mut frame: Bytes) -> Result<Option<Bytes>, FrameError> {
        if let Some(compression) = self.compression
            && frame.first() == Some(&1)
        {
            return self.decompressed(compression, &frame).map(Some);
        }
        frame.advance(HEADER_LEN);
        if let Some(tally) = &self.tally {
            tally.received(&frame, frame.len());
        }
        Ok(Some(frame))
    }

    /// The message of a compressed `frame`, decompressed.
    #[cold]
    fn decompressed(&self, compression: Compression, frame: &[u8]) -> Result<Bytes, FrameError> {
        let compressed = frame.get(HEADER_LEN..).unwrap_or_default();
        let message = decompress(compression, compressed, self.limit)?;
        if let Some(tally) = &self.tally {
            tally.received(&message, compressed.len());
        }
        Ok(message)
    }

    fn take_into_partial(&mut self, n: usize) {
        if let Some(taken) = self.chunk.get(..n) {
            self.partial.extend_from_slice(taken);
            self.chunk.advance(n);
        }
    }

    /// The message length of the frame `data` starts with, once its prefix is in; fails for a
    /// compressed flag on a body without an encoding and for a message over the limit.
    #[inline]
    fn frame_len(&self, data: &[u8]) -> Result<Option<usize>, FrameError> {
        Ok(read_prefix(data, self.limit, self.compression.is_some())?.map(|(_, len)| len))
    }
}

/// The messages of a body, as a stream of results; the body's trailers are kept for the
/// caller.
///
/// Errors end the stream: RESOURCE_EXHAUSTED for a message over the limit (found from its
/// prefix, or while decompressing), INTERNAL for a compressed flag without an encoding, a
/// message that does not decompress or decode, or a body that ends inside a frame, and
/// whatever `body_error` makes of a failed body.
pub(crate) struct MessageStream<B: Body, M> {
    body: B,
    deframer: Deframer,
    /// The receive limit, for the wording of errors.
    limit: Limit,
    body_error: fn(B::Error) -> RpcError,
    /// The message type's decoder: a plain function, so the stream needs no bounds on `M`.
    decode: fn(Bytes) -> Result<M, prost::DecodeError>,
    trailers: Option<http::HeaderMap>,
    done: bool,
    _message: PhantomData<fn() -> M>,
}

impl<B: Body, M: prost::Message + Default> MessageStream<B, M> {
    /// Reads `body`, whose `grpc-encoding` is `compression`, counting each message in `tally`
    /// if the call has one.
    pub(crate) fn new(
        body: B,
        limit: usize,
        compression: Option<Compression>,
        limit_name: Limit,
        body_error: fn(B::Error) -> RpcError,
        tally: Option<Arc<Tally>>,
    ) -> Self {
        let deframer = Deframer::new(limit, compression, tally);
        MessageStream::with_decode(body, deframer, limit_name, body_error, |data| M::decode(data))
    }
}

impl<B: Body> MessageStream<B, Bytes> {
    /// Reads `body` as [`MessageStream::new`] does, giving each message's bytes undecoded (a
    /// server's fallback handler, which knows no message types).
    pub(crate) fn raw(
        body: B,
        limit: usize,
        compression: Option<Compression>,
        limit_name: Limit,
        body_error: fn(B::Error) -> RpcError,
        tally: Option<Arc<Tally>>,
    ) -> Self {
        let deframer = Deframer::new(limit, compression, tally);
        MessageStream::with_decode(body, deframer, limit_name, body_error, Ok)
    }
}

impl<B: Body, M> MessageStream<B, M> {
    /// The stream both constructors make, decoding each message with `decode`.
    fn with_decode(
        body: B,
        deframer: Deframer,
        limit: Limit,
        body_error: fn(B::Error) -> RpcError,
        decode: fn(Bytes) -> Result<M, prost::DecodeError>,
    ) -> Self {
        MessageStream { body, deframer, limit, body_error, decode, trailers: None, done: false, _message: PhantomData }
    }

    /// The body's trailers, once the stream has ended.
    pub(crate) fn take_trailers(&mut self) -> Option<http::HeaderMap> {
        self.trailers.take()
    }

    fn fail(&mut self, err: FrameError) -> RpcError {
        self.done = true;
        err.into_rpc_error(self.limit)
    }
}

impl<B, M> Stream for MessageStream<B, M>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Item = Result<M, RpcError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.deframer.next_message() {
                Ok(Some(message)) => {
                    let decoded = (this.decode)(message).map_err(|err| this.fail(FrameError::Decode(err)));
                    return Poll::Ready(Some(decoded));
                }
                Ok(None) => {}
                Err(err) => return Poll::Ready(Some(Err(this.fail(err)))),
            }
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.deframer.push(data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            this.trailers = Some(trailers);
                        }
                    }
                },
                Some(Err(err)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err((this.body_error)(err))));
                }
                None => {
                    if this.deframer.is_empty() {
                        this.done = true;
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Err(this.fail(FrameError::Truncated))));
                }
            }
        }
    }
}

impl<B: Body, M> std::fmt::Debug for MessageStream<B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream").field("deframer", &self.deframer).field("done", &self.done).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut frame = vec![0];
        frame.extend_from_slice(&u32::try_from(message.len()).unwrap_or(u32::MAX).to_be_bytes());
        frame.extend_from_slice(message);
        frame
    }

    /// Feeds `data` cut at `cuts` and gives the messages read, or the first error.
    fn read(data: &[u8], cuts: &[usize], limit: usize) -> Result<Vec<Bytes>, FrameError> {
        read_with(data, cuts, limit, None)
    }

    fn read_with(
        data: &[u8],
        cuts: &[usize],
        limit: usize,
        compression: Option<Compression>,
    ) -> Result<Vec<Bytes>, FrameError> {
        let mut deframer = Deframer::new(limit, compression, None);
        let mut messages = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain([data.len()].iter()) {
            deframer.push(Bytes::copy_from_slice(&data[start..cut]));
            start = cut;
            while let Some(message) = deframer.next_message()? {
                messages.push(message);
            }
        }
        if !deframer.is_empty() {
            return Err(FrameError::Truncated);
        }
        Ok(messages)
    }

    #[test]
    fn messages_come_out_whole_wherever_the_chunks_are_cut() {
        let long: Vec<u8> = (0..=255).cycle().take(40_000).collect();
        let mut data = framed(b"first");
        data.extend_from_slice(&framed(b""));
        data.extend_from_slice(&framed(&long));
        data.extend_from_slice(&framed(b"last"));
        let ends = [10, 15, 15 + 5 + 40_000];
        for cuts in [vec![], vec![1], vec![4, 5, 6], vec![10], vec![12, 13], vec![16, 17, 30_000], vec![ends[2] + 2]] {
            let messages = read(&data, &cuts, 1 << 20).expect("reads");
            let expected: [&[u8]; 4] = [b"first", b"", &long, b"last"];
            assert_eq!(messages.len(), 4, "cut at {cuts:?}");
            for (got, want) in messages.iter().zip(expected) {
                assert_eq!(&got[..], want, "cut at {cuts:?}");
            }
        }
        // Every single-byte cut, on a short stream.
        let short: Vec<u8> = [framed(b"ab"), framed(b"cde")].concat();
        for cut in 1..short.len() {
            let messages = read(&short, &[cut], 16).expect("reads");
            assert_eq!(messages, [Bytes::from_static(b"ab"), Bytes::from_static(b"cde")], "cut at {cut}");
        }
    }

    #[test]
    fn a_message_over_the_limit_fails_on_its_prefix() {
        let mut data = framed(b"fine");
        data.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 1, 2]);
        for cuts in [vec![], vec![11], vec![9]] {
            let err = read(&data, &cuts, 1024).expect_err("over the limit");
            assert!(matches!(err, FrameError::TooLarge { limit: 1024, .. }), "cut at {cuts:?}: {err:?}");
        }
    }

    #[test]
    fn flags_and_truncation_are_errors() {
        let mut compressed = framed(b"x");
        compressed[0] = 1;
        assert!(matches!(read(&compressed, &[], 16), Err(FrameError::CompressedWithoutEncoding)));
        compressed[0] = 7;
        assert!(matches!(read(&compressed, &[], 16), Err(FrameError::BadFlag(7))));
        let whole = framed(b"hello");
        for end in [2, 5, 7] {
            assert!(matches!(read(&whole[..end], &[], 16), Err(FrameError::Truncated)), "ends at {end}");
        }
    }

    #[test]
    fn compressed_frames_are_decompressed_and_plain_ones_pass() {
        let long = b"squeeze me ".repeat(500);
        for &compression in Compression::AVAILABLE {
            let mut packed = bytes::BytesMut::new();
            crate::wire::compress::compress(compression, &long, &mut packed).expect("compresses");
            let mut data = framed(&packed);
            data[0] = 1;
            // A sender may leave some messages of a compressed stream uncompressed.
            data.extend_from_slice(&framed(b"plain"));
            for cuts in [vec![], vec![3], vec![40]] {
                let messages = read_with(&data, &cuts, long.len(), Some(compression)).expect("reads");
                assert_eq!(messages, [Bytes::from(long.clone()), Bytes::from_static(b"plain")], "{compression:?}");
            }
            // The limit holds for what it decompresses to, though the frame is small.
            let err = read_with(&data, &[], long.len() - 1, Some(compression)).expect_err("over");
            assert!(matches!(err, FrameError::DecompressedTooLarge { .. }), "{compression:?}: {err:?}");
            // Marked compressed, but not.
            let mut bogus = framed(b"not compressed");
            bogus[0] = 1;
            let err = read_with(&bogus, &[], 1024, Some(compression)).expect_err("bogus");
            assert!(matches!(err, FrameError::Decompress(_)), "{compression:?}: {err:?}");
        }
    }
}
