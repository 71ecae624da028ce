//! Sending a request body on an h2 stream, with HTTP/2 flow control.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use h2::{Reason, SendStream};
use http_body::Body;

use crate::RpcError;

/// A request body: the messages of a streaming or compressed call (`request_body.rs`).
pub(crate) type BoxBody = Pin<Box<dyn Body<Data = Bytes, Error = RpcError> + Send>>;

/// Why a body could not be sent in full.
pub(crate) enum SendBodyError {
    /// The body itself failed (a message too large, a compression error). The
    /// stream has been reset.
    Body(RpcError),
    /// The stream or the connection failed (reset by the peer, connection lost). The response
    /// future reports the same failure (with the server's status if it answered before the
    /// reset), so callers await that instead.
    Stream,
}

/// Pipes a request body into an h2 stream: each DATA frame once the stream has send capacity,
/// END_STREAM on the last one, then the trailers if there are any.
///
/// It follows hyper's `PipeToSendStream`, which it replaces: wait for some capacity (at least a
/// byte) before each frame, then hand h2 the whole frame. h2 buffers what exceeds the window and
/// sends it as WINDOW_UPDATEs come, so at most one message per stream sits in memory beyond the
/// window, and a slow server still stops the sender (a pending `poll_capacity`). Capacity is
/// claimed only with a frame in hand: a claim made while waiting for the body would hold part
/// of the connection window against other streams (hyper#4003).
///
/// The stream's first DATA frame is the exception: it goes to h2 at once, without waiting for
/// capacity. h2 assigns none to a stream until its connection task has opened it, so waiting
/// made every unary call go out in two writes (HEADERS, then DATA once the connection task had
/// run and woken the caller), and the server woke up twice to read it. Handed over at once, the
/// frame waits in h2 (it is in memory either way) and leaves in the same write as the HEADERS.
pub(crate) struct SendBody {
    body: BoxBody,
    stream: SendStream<Bytes>,
    /// A frame taken from the body, waiting for capacity, and whether it ends the stream.
    pending: Option<(Bytes, bool)>,
    /// No DATA frame has been handed to h2 yet.
    first: bool,
}

impl SendBody {
    pub(crate) fn new(body: BoxBody, stream: SendStream<Bytes>) -> Self {
        SendBody { body, stream, pending: None, first: true }
    }

    /// Sends what can be sent now; ready once the whole body is sent, or on failure.
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendBodyError>> {
        loop {
            // Registers for a reset by the peer while waiting for the body or for capacity.
            if self.stream.poll_reset(cx).is_ready() {
                return Poll::Ready(Err(SendBodyError::Stream));
            }
            if let Some((_, end)) = &self.pending {
                let end = *end;
                while self.stream.capacity() == 0 {
                    match self.stream.poll_capacity(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(_))) => {}
                        Poll::Ready(Some(Err(_))) => return Poll::Ready(Err(SendBodyError::Stream)),
                        // The stream is no longer open for sending: reset, or the connection went.
                        Poll::Ready(None) => {
                            return Poll::Ready(Err(SendBodyError::Stream));
                        }
                    }
                }
                if let Some((data, _)) = self.pending.take() {
                    self.stream.send_data(data, end).map_err(|_| SendBodyError::Stream)?;
                }
                if end {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let frame = match self.body.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    // The body ended without saying so in its last frame: END_STREAM on its own.
                    return Poll::Ready(self.stream.send_data(Bytes::new(), true).map_err(|_| SendBodyError::Stream));
                }
                Poll::Ready(Some(Err(err))) => {
                    // As hyper did: the server learns the request is incomplete.
                    self.stream.send_reset(Reason::INTERNAL_ERROR);
                    return Poll::Ready(Err(SendBodyError::Body(err)));
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            let frame = match frame.into_data() {
                Ok(data) => {
                    let end = self.body.is_end_stream();
                    if data.is_empty() || std::mem::take(&mut self.first) {
                        // Empty DATA frames need no capacity; the first one goes straight to h2
                        // (see the type's docs).
                        self.stream.send_data(data, end).map_err(|_| SendBodyError::Stream)?;
                        if end {
                            return Poll::Ready(Ok(()));
                        }
                        continue;
                    }
                    // A one-byte claim, as hyper makes: h2 raises it to the frame's length in
                    // `send_data`, and a full-length claim would make every waiting stream a
                    // heavy claimant on the connection window.
                    self.stream.reserve_capacity(1);
                    self.pending = Some((data, end));
                    continue;
                }
                Err(frame) => frame,
            };
            if let Ok(trailers) = frame.into_trailers() {
                // No more DATA: give back any claimed capacity.
                self.stream.reserve_capacity(0);
                return Poll::Ready(self.stream.send_trailers(trailers).map_err(|_| SendBodyError::Stream));
            }
            // Neither data nor trailers: an unknown kind of frame, skipped.
        }
    }

    /// Sends the rest of the body on its own task, for requests still streaming after the
    /// caller's first pass (client and bidi streaming). The task ends with the body, with the
    /// stream (reset, connection lost), or when `receiver_gone` resolves: the response side was
    /// dropped, so no one wants the call any more and the stream is reset with CANCEL.
    pub(crate) fn spawn(mut self, mut receiver_gone: tokio::sync::oneshot::Receiver<()>) {
        tokio::spawn(std::future::poll_fn(move |cx| {
            // Only a drop of the sender resolves this (nothing is ever sent on it).
            if Pin::new(&mut receiver_gone).poll(cx).is_ready() {
                self.stream.send_reset(Reason::CANCEL);
                return Poll::Ready(());
            }
            // Failures need no report here: the response side sees the same reset or connection
            // error, and a body error has reset the stream, which the response side sees too.
            self.poll_send(cx).map(|_| ())
        }));
    }
}
