//! The response body of a streaming call, or of a compressed unary one: the messages the
//! handler's stream has ready, encoded together (see `wire/batch.rs`), ended early by the
//! deadline or a server stop, then the trailers with the final status and the trailing metadata
//! the handler set.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use http_body::Frame;
use tokio_util::sync::WaitForCancellationFutureOwned;

use crate::server::context::CancelOnDrop;
use crate::server::env::Shared;
use crate::server::interceptor::Completion;
use crate::server::panic::handler_panicked;
use crate::server::stream::ResponseStream;
use crate::wire::batch::{Batch, Fill};
use crate::wire::limits::Limit;
use crate::wire::status;
use crate::{Compression, Metadata, Result, RpcError};

pin_project_lite::pin_project! {
    /// Response messages as DATA chunks, then the trailers.
    ///
    /// The stop and deadline futures are pinned in place rather than boxed each, and only
    /// polled when the stream has nothing ready: polling the stop future for every message of
    /// a fast stream was a measurable share of the server's instructions per message
    /// (BENCHMARKS.md, gain 5). A stream that
    /// always has a message ready is checked with the stop signal's flag and a clock read
    /// instead.
    pub(crate) struct StreamBody<M> {
        stream: ResponseStream<M>,
        shared: Arc<Shared>,
        #[pin]
        stop: WaitForCancellationFutureOwned,
        #[pin]
        deadline: Option<tokio::time::Sleep>,
        // The call, until it is over; `None` once finished.
        call: Option<CancelOnDrop>,
        batch: Batch<M>,
        // Set when the call ends, until sent.
        trailers: Option<http::HeaderMap>,
        // The call has ended.
        ended: bool,
        // Tells the interceptors, if the call has any, how it ended.
        completion: Option<Completion>,
    }
}

impl<M: prost::Message> StreamBody<M> {
    /// Sends the messages of `stream` for `call`, each within the server's send limit,
    /// compressed with `compression` if set.
    pub(crate) fn new(
        stream: ResponseStream<M>,
        call: CancelOnDrop,
        shared: Arc<Shared>,
        deadline: Option<Instant>,
        compression: Option<Compression>,
        completion: Option<Completion>,
    ) -> Self {
        let tally = completion.as_ref().map(|completion| completion.tally().clone());
        StreamBody {
            completion,
            stream,
            stop: shared.stop.stopped_owned(),
            batch: Batch::new(shared.limits.max_send_message_length, compression, tally),
            shared,
            deadline: deadline.map(|d| tokio::time::sleep_until(d.into())),
            call: Some(call),
            trailers: None,
            ended: false,
        }
    }
}

/// The next message of the handler's stream; an error when the deadline passes or the server
/// stops first. Always inlined: called from both fill loops (`fill` and `fill_marking`), it was
/// no longer inlined into the plain one, which cost 40 instructions per message.
#[inline(always)]
fn poll_message<M>(
    stream: &mut ResponseStream<M>,
    shared: &Shared,
    mut stop: Pin<&mut WaitForCancellationFutureOwned>,
    mut deadline: Pin<&mut Option<tokio::time::Sleep>>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<M>>> {
    match Pin::new(stream).poll_next(cx) {
        Poll::Ready(Some(Ok(message))) => {
            if shared.stop.is_stopped() {
                return Poll::Ready(Some(Err(shutting_down())));
            }
            let expired = deadline.as_ref().as_pin_ref().is_some_and(|d| d.deadline() <= tokio::time::Instant::now());
            if expired {
                return Poll::Ready(Some(Err(RpcError::deadline_exceeded("deadline exceeded"))));
            }
            Poll::Ready(Some(Ok(message)))
        }
        Poll::Pending => {
            if stop.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(shutting_down())));
            }
            if let Some(deadline) = deadline.as_mut().as_pin_mut()
                && deadline.poll(cx).is_ready()
            {
                return Poll::Ready(Some(Err(RpcError::deadline_exceeded("deadline exceeded"))));
            }
            Poll::Pending
        }
        done => done,
    }
}

fn shutting_down() -> RpcError {
    RpcError::unavailable("the server is shutting down")
}

/// Ends the call: the trailers of `outcome` (`None` is OK), with the trailing metadata the
/// handler set if the call was still open. Ending the call lets handler-spawned work see it
/// is over (`cancelled` when the deadline or the server's stop cut it short); the interceptors,
/// if any, hear of the end.
fn finish(
    call: &mut Option<CancelOnDrop>,
    completion: &mut Option<Completion>,
    outcome: Option<RpcError>,
    cancelled: bool,
) -> http::HeaderMap {
    let trailing = call
        .take()
        .map(|call| {
            let trailing = call.context().take_trailing_metadata();
            call.end(cancelled);
            trailing
        })
        .unwrap_or_default();
    match outcome {
        None => {
            if let Some(completion) = completion.take() {
                completion.report(None, &trailing);
            }
            status::ok_trailers(trailing)
        }
        Some(mut err) => {
            err.metadata_mut().extend(trailing);
            if let Some(completion) = completion.take() {
                completion.report(Some(&err), &Metadata::new());
            }
            status::error_trailers(err)
        }
    }
}

impl<M: prost::Message> http_body::Body for StreamBody<M> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let mut this = self.project();
        // The handler's stream runs in the call's span, if an interceptor opened one.
        #[cfg(feature = "tracing")]
        let span = this.completion.as_ref().and_then(|completion| completion.span().cloned());
        #[cfg(feature = "tracing")]
        let _entered = span.as_ref().map(tracing::Span::enter);
        let mut end = None;
        if !*this.ended {
            let (stream, shared) = (&mut *this.stream, &**this.shared);
            let (mut stop, mut deadline) = (this.stop.as_mut(), this.deadline.as_mut());
            let batch = &mut *this.batch;
            // Once per batch, not per message. A panic in the handler's stream ends this call
            // with UNKNOWN instead of unwinding through hyper's stream task (which resets the
            // stream, CANCELLED for the client). The batch holds only whole messages then: one
            // is added after the stream hands it over.
            let context = this.call.as_ref().map(CancelOnDrop::context);
            let filled = std::panic::catch_unwind(AssertUnwindSafe(|| match context {
                // Only a compressed stream asks, per message, whether it goes plain.
                Some(context) if batch.compresses() => batch.fill_marking(
                    cx,
                    |cx| poll_message(stream, shared, stop.as_mut(), deadline.as_mut(), cx),
                    || context.take_next_uncompressed(),
                ),
                _ => batch.fill(cx, |cx| poll_message(stream, shared, stop.as_mut(), deadline.as_mut(), cx)),
            }));
            end = match filled {
                Ok(Fill::Open) => None,
                Ok(Fill::Ended) => Some(None),
                Ok(Fill::Failed(err)) => Some(Some(err)),
                Ok(Fill::Refused(err)) => Some(Some(err.into_rpc_error(Limit::SERVER_SEND))),
                Err(payload) => Some(Some(handler_panicked(&*payload))),
            };
        }
        // Encoded before the call is finished, so the interceptors' counts include these.
        let data = match this.batch.take() {
            Ok(data) => data,
            Err(err) => {
                // Compression failed (not expected in memory). The status replaces any other:
                // the messages it would have followed are lost.
                end = Some(Some(err.into_rpc_error(Limit::SERVER_SEND)));
                None
            }
        };
        if let Some(outcome) = end {
            *this.ended = true;
            // Only a failed stream can have been cut short; the clock is read then only.
            let cancelled = outcome.is_some()
                && (this.shared.stop.is_stopped()
                    || this
                        .deadline
                        .as_ref()
                        .as_pin_ref()
                        .is_some_and(|d| d.deadline() <= tokio::time::Instant::now()));
            *this.trailers = Some(finish(this.call, this.completion, outcome, cancelled));
        }
        // The messages before a final status go first.
        if let Some(data) = data {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(trailers) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if *this.ended { Poll::Ready(None) } else { Poll::Pending }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.batch.is_empty() && self.trailers.is_none()
    }
}

impl<M> std::fmt::Debug for StreamBody<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBody").field("ended", &self.ended).finish_non_exhaustive()
    }
}
