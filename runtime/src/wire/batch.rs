//! Encoding a stream of messages: the messages that are ready are gathered and then encoded,
//! prefixes included, into one buffer, handed on as one DATA chunk. Uncompressed, the buffer is
//! exactly their size; compressed, each message is encoded into a scratch buffer and compressed
//! into the batch's (see `compress.rs`).
//!
//! Why not tonic's `EncodeBody`: it encodes each message into a buffer it grows as it goes and
//! splits off every batch, so a new batch allocates again and copies what it has while it
//! grows; that growth (`BytesMut::reserve_inner`) was the largest item in the server's
//! instructions per streamed message (BENCHMARKS.md, gain 9). And it checked the send limit on the compressed size and reported
//! it as OUT_OF_RANGE; here the limit is on the message, compressed or not, as gRPC C-core (and
//! so Python) checks it, and is RESOURCE_EXHAUSTED.

use std::task::{Context, Poll};

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::Compression;
use crate::observe::Tally;
use crate::wire::compress::Compressor;
use crate::wire::frame::{FrameError, HEADER_LEN, checked_len, put_prefix};

/// The bytes gathered before a batch is handed on even though more messages are ready, as
/// tonic does (its yield threshold is 32 KiB too): the peer starts reading sooner, and one
/// endless ready stream cannot hold the connection.
const BATCH_BYTES: usize = 32 * 1024;

/// Where [`Batch::fill`] stopped.
pub(crate) enum Fill<E> {
    /// The source has nothing ready, or the batch is full: hand on what it holds.
    Open,
    /// The source has ended.
    Ended,
    /// The source failed with this.
    Failed(E),
    /// A message was over the limit; the messages before it are still in the batch.
    Refused(FrameError),
}

/// The messages gathered for the next DATA chunk, each with its encoded length.
#[derive(Debug)]
pub(crate) struct Batch<M> {
    messages: Vec<(M, u32)>,
    bytes: usize,
    limit: usize,
    compression: Option<Compression>,
    /// Counts each message as it is encoded, on a call with interceptors.
    tally: Option<Arc<Tally>>,
    /// On a compressed stream, the indexes in `messages` of those to send uncompressed (see
    /// [`Batch::fill_marking`]), ascending. Kept apart so the uncompressed path does not
    /// change: a mark beside each message cost the server 3% of its instructions per
    /// streamed message (callgrind).
    plain: Vec<u32>,
}

impl<M: prost::Message> Batch<M> {
    /// A batch for messages of at most `limit` bytes each (before compression), compressed
    /// with `compression` if set, counted in `tally` if the call has one.
    pub(crate) fn new(limit: usize, compression: Option<Compression>, tally: Option<Arc<Tally>>) -> Self {
        Batch { messages: Vec::new(), bytes: 0, limit, compression, tally, plain: Vec::new() }
    }

    /// Adds `message`, unless it is over the limit. Inlined: it runs once per message inside
    /// `fill`'s loop, where a call of its own cost the server a few percent of its instructions
    /// per streamed message (callgrind).
    #[inline]
    pub(crate) fn push(&mut self, message: M) -> Result<(), FrameError> {
        let len = message.encoded_len();
        let prefix = checked_len(len, self.limit)?;
        self.bytes += HEADER_LEN + len;
        self.messages.push((message, prefix));
        Ok(())
    }

    /// Gathers the messages `next` has ready, until it has none, ends or fails, or the batch is
    /// full. The one loop of both sides' message bodies (`client/request_body.rs`,
    /// `server/stream_body.rs`).
    #[inline]
    pub(crate) fn fill<E>(
        &mut self,
        cx: &mut Context<'_>,
        mut next: impl FnMut(&mut Context<'_>) -> Poll<Option<Result<M, E>>>,
    ) -> Fill<E> {
        while !self.is_full() {
            match next(cx) {
                Poll::Pending => return Fill::Open,
                Poll::Ready(Some(Ok(message))) => {
                    if let Err(err) = self.push(message) {
                        return Fill::Refused(err);
                    }
                }
                Poll::Ready(Some(Err(err))) => return Fill::Failed(err),
                Poll::Ready(None) => return Fill::Ended,
            }
        }
        Fill::Open
    }

    /// Whether the messages are compressed (unless marked plain).
    #[inline]
    pub(crate) fn compresses(&self) -> bool {
        self.compression.is_some()
    }

    /// [`fill`](Self::fill) for a compressed stream, asking `plain` after each message whether
    /// it goes uncompressed (`disable_next_message_compression`). Out of line: inlined beside
    /// `fill` in the server's body, the second loop cost the uncompressed stream instructions
    /// too; a compressed message costs far more than the call.
    #[inline(never)]
    pub(crate) fn fill_marking<E>(
        &mut self,
        cx: &mut Context<'_>,
        mut next: impl FnMut(&mut Context<'_>) -> Poll<Option<Result<M, E>>>,
        mut plain: impl FnMut() -> bool,
    ) -> Fill<E> {
        while !self.is_full() {
            match next(cx) {
                Poll::Pending => return Fill::Open,
                Poll::Ready(Some(Ok(message))) => {
                    let index = self.messages.len();
                    if let Err(err) = self.push(message) {
                        return Fill::Refused(err);
                    }
                    if plain() {
                        self.plain.push(u32::try_from(index).unwrap_or(u32::MAX));
                    }
                }
                Poll::Ready(Some(Err(err))) => return Fill::Failed(err),
                Poll::Ready(None) => return Fill::Ended,
            }
        }
        Fill::Open
    }

    /// Holds enough to be handed on now.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.bytes >= BATCH_BYTES
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Drops the gathered messages unencoded.
    pub(crate) fn clear(&mut self) {
        self.messages.clear();
        self.plain.clear();
        self.bytes = 0;
    }

    /// The gathered messages as frames in one buffer; `None` if there are none.
    pub(crate) fn take(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.messages.is_empty() {
            return Ok(None);
        }
        let bytes = std::mem::take(&mut self.bytes);
        let Some(compression) = self.compression else {
            let mut buf = BytesMut::with_capacity(bytes);
            for (message, len) in self.messages.drain(..) {
                put_prefix(&mut buf, false, len);
                // Cannot fail: the buffer has room for exactly these messages, and `BytesMut`
                // grows rather than fail anyway.
                let _ = message.encode(&mut buf);
                if let Some(tally) = &self.tally {
                    let start = buf.len() - len as usize;
                    tally.sent(&buf[start..], len as usize);
                }
            }
            return Ok(Some(buf.freeze()));
        };
        // Grown as it fills: sized for the messages before compression, the frozen buffer would
        // hold all of that until the DATA frame is sent.
        let mut buf = BytesMut::new();
        let mut scratch = Vec::new();
        // From the pool for this batch only, so an idle stream holds none.
        let mut compressor = Compressor::new(compression);
        let mut plain = self.plain.drain(..).peekable();
        for (index, (message, len)) in self.messages.drain(..).enumerate() {
            if plain.next_if(|&p| p as usize == index).is_some() {
                put_prefix(&mut buf, false, len);
                // Cannot fail: `BytesMut` grows to fit.
                let _ = message.encode(&mut buf);
                if let Some(tally) = &self.tally {
                    let start = buf.len() - len as usize;
                    tally.sent(&buf[start..], len as usize);
                }
                continue;
            }
            scratch.clear();
            scratch.reserve(len as usize);
            // Cannot fail: a `Vec` grows to fit.
            let _ = message.encode(&mut scratch);
            let start = buf.len();
            put_prefix(&mut buf, true, 0); // the compressed length, written below
            compressor.compress(&scratch, &mut buf).map_err(FrameError::Compress)?;
            let compressed = buf.len() - start - HEADER_LEN;
            let prefix =
                u32::try_from(compressed).map_err(|_| FrameError::TooLarge { len: compressed, limit: self.limit })?;
            buf[start + 1..start + HEADER_LEN].copy_from_slice(&prefix.to_be_bytes());
            if let Some(tally) = &self.tally {
                tally.sent(&scratch, compressed);
            }
        }
        Ok(Some(buf.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_its_frames_in_one_buffer_of_their_size() {
        let mut batch = Batch::new(1024, None, None);
        assert!(batch.take().expect("encodes").is_none());
        batch.push(b"abc".to_vec()).expect("under the limit");
        batch.push(Vec::new()).expect("empty is fine");
        // A `bytes` message encodes as field 1: tag, length, data.
        let data = batch.take().expect("encodes").expect("two messages");
        assert_eq!(&data[..], &[0, 0, 0, 0, 5, 0x0a, 3, b'a', b'b', b'c', 0, 0, 0, 0, 0]);
        assert!(batch.is_empty() && batch.take().expect("encodes").is_none());
    }

    #[test]
    fn a_message_over_the_limit_is_refused_and_the_batch_goes_on() {
        let mut batch = Batch::new(8, None, None);
        let err = batch.push(vec![0u8; 9]).expect_err("over the limit");
        assert!(matches!(err, FrameError::TooLarge { len: 11, limit: 8 }), "{err:?}");
        assert!(batch.is_empty());
        let mut batch = Batch::new(usize::MAX, None, None);
        while !batch.is_full() {
            batch.push(vec![7u8; 1000]).expect("under the limit");
        }
        assert_eq!(batch.take().expect("encodes").map(|data| data.len()), Some(33 * (5 + 1003)));
    }

    #[test]
    fn messages_marked_plain_go_uncompressed_on_a_compressed_stream() {
        let mut batch = Batch::new(2000, Some(Compression::Gzip), None);
        let mut marks = [false, true, false].into_iter();
        let mut messages = [vec![1u8; 500], vec![2u8; 500], vec![3u8; 500]].into_iter();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let filled = batch.fill_marking(
            &mut cx,
            |_| Poll::Ready(messages.next().map(Ok::<_, ()>)),
            || marks.next().unwrap_or(false),
        );
        assert!(matches!(filled, Fill::Ended));
        let mut data = &batch.take().expect("encodes").expect("three messages")[..];
        for (i, want_flag) in [1u8, 0, 1].into_iter().enumerate() {
            let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
            assert_eq!(data[0], want_flag, "message {i}");
            let body = &data[HEADER_LEN..HEADER_LEN + len];
            let plain = match want_flag {
                1 => crate::wire::compress::decompress(Compression::Gzip, body, 2000).expect("decompresses").to_vec(),
                _ => body.to_vec(),
            };
            assert_eq!(plain, prost::Message::encode_to_vec(&vec![i as u8 + 1; 500]), "message {i}");
            data = &data[HEADER_LEN + len..];
        }
        assert!(data.is_empty());
    }

    #[test]
    fn compressed_frames_carry_the_flag_and_their_compressed_length() {
        for &compression in Compression::AVAILABLE {
            let mut batch = Batch::new(2000, Some(compression), None);
            let messages = [vec![1u8; 1500], b"x".to_vec()];
            for message in &messages {
                batch.push(message.clone()).expect("under the limit");
            }
            // The limit is on the message before compression.
            assert!(matches!(batch.push(vec![0u8; 2000]), Err(FrameError::TooLarge { len: 2003, limit: 2000 })));
            let mut data = batch.take().expect("encodes").expect("two messages");
            for message in &messages {
                assert_eq!(data[0], 1, "{compression:?}: compressed flag");
                let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
                let frame = data.split_to(HEADER_LEN + len);
                let plain =
                    crate::wire::compress::decompress(compression, &frame[HEADER_LEN..], 2000).expect("decompresses");
                assert_eq!(plain, prost::Message::encode_to_vec(message), "{compression:?}");
            }
            assert!(data.is_empty(), "{compression:?}: nothing after the frames");
        }
    }
}
