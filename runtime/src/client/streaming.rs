//! `Streaming`: the response messages of a server-streaming or bidirectional call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;

use crate::client::decoder::Decoder;
use crate::client::interceptor::Completion;
use crate::client::response::with_headers;
use crate::client::until::{CancelSignal, cancelled_error};
use crate::{Metadata, Result, RpcError};

/// The start of a streaming call: its response headers and decoder, once they arrive.
pub(crate) type StartFuture<M> = Pin<Box<dyn Future<Output = Result<(Metadata, Decoder<M>)>> + Send>>;

// The streaming variant is the one a call spends its life in; boxing it to shrink the others
// would cost an allocation per call for nothing.
#[allow(clippy::large_enum_variant)]
enum State<M> {
    /// Waiting for the response headers.
    Starting(StartFuture<M>),
    Streaming(Decoder<M>),
    /// Ended: with an error waiting to be yielded, or after yielding everything.
    Failed(Option<RpcError>),
    Finished,
}

/// The messages of a streaming response, with the call's metadata.
///
/// It is a [`Stream`] of `Result<M, RpcError>`: messages, then at most one error. The stream
/// ends with the call: after `None`, [`Streaming::trailing_metadata`] holds the trailers. The
/// call's deadline and cancel signal apply to the whole stream.
pub struct Streaming<M> {
    state: State<M>,
    initial_metadata: Option<Metadata>,
    trailing_metadata: Option<Metadata>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    cancel: Option<CancelSignal>,
    /// Boxed: one word in the stream of a channel without interceptors.
    completion: Option<Box<Completion>>,
}

impl<M> Streaming<M> {
    /// A call that is starting with `starting`, ended early by `deadline` or `cancel`;
    /// `completion` tells the channel's interceptors, if it has any, how it ends.
    pub(crate) fn new(
        starting: StartFuture<M>,
        deadline: Option<Instant>,
        cancel: Option<CancelSignal>,
        completion: Option<Completion>,
    ) -> Self {
        Streaming {
            completion: completion.map(Box::new),
            state: State::Starting(starting),
            initial_metadata: None,
            trailing_metadata: None,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            cancel,
        }
    }

    /// The next message; `Ok(None)` when the server ended the stream with OK.
    pub async fn message(&mut self) -> Result<Option<M>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await.transpose()
    }

    /// The response headers (initial metadata), waiting for them if they have not arrived.
    /// Fails if the call failed before any headers came.
    pub async fn initial_metadata(&mut self) -> Result<&Metadata> {
        std::future::poll_fn(|cx| self.poll_start(cx)).await;
        if let State::Failed(Some(err)) = &self.state {
            return Err(err.clone());
        }
        Ok(self.initial_metadata.get_or_insert_with(Metadata::new))
    }

    /// The trailers, once the stream has ended with OK.
    pub fn trailing_metadata(&self) -> Option<&Metadata> {
        self.trailing_metadata.as_ref()
    }

    /// Drives the start of the call; ready once the call is streaming or has failed.
    pub(crate) fn poll_start(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(err) = self.poll_limits(cx) {
            self.state = State::Failed(Some(err));
            return Poll::Ready(());
        }
        let State::Starting(starting) = &mut self.state else {
            return Poll::Ready(());
        };
        match starting.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok((headers, inner))) => {
                self.initial_metadata = Some(headers);
                self.state = State::Streaming(inner);
                Poll::Ready(())
            }
            Poll::Ready(Err(err)) => {
                self.state = State::Failed(Some(err));
                Poll::Ready(())
            }
        }
    }

    /// The deadline or the cancel signal, if either has fired.
    fn poll_limits(&mut self, cx: &mut Context<'_>) -> Option<RpcError> {
        if let Some(signal) = self.cancel.as_mut()
            && signal.as_mut().poll(cx).is_ready()
        {
            self.cancel = None;
            return Some(cancelled_error());
        }
        if let Some(sleep) = self.deadline.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Some(RpcError::deadline_exceeded("deadline exceeded while streaming the response"));
        }
        None
    }

    fn fail(&mut self, err: RpcError) -> Poll<Option<Result<M>>> {
        self.state = State::Finished;
        let err = match &self.initial_metadata {
            Some(headers) => with_headers(err, headers),
            None => err,
        };
        if let Some(completion) = self.completion.take() {
            completion.report(Some(&err), &Metadata::new());
        }
        Poll::Ready(Some(Err(err)))
    }
}

impl<M> Stream for Streaming<M> {
    type Item = Result<M>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        let this = &mut *self;
        if matches!(this.state, State::Starting(_)) && this.poll_start(cx).is_pending() {
            return Poll::Pending;
        }
        if matches!(this.state, State::Streaming(_))
            && let Some(err) = this.poll_limits(cx)
        {
            return this.fail(err);
        }
        let inner = match &mut this.state {
            State::Starting(_) => return Poll::Pending,
            State::Failed(err) => {
                return match err.take() {
                    Some(err) => this.fail(err),
                    None => Poll::Ready(None),
                };
            }
            State::Finished => return Poll::Ready(None),
            State::Streaming(inner) => inner,
        };
        match inner.poll_message(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(message))) => Poll::Ready(Some(Ok(message))),
            Poll::Ready(Some(Err(err))) => this.fail(err),
            Poll::Ready(None) => match inner.finish() {
                Err(err) => this.fail(err),
                Ok(trailing) => {
                    if let Some(completion) = this.completion.take() {
                        completion.report(None, &trailing);
                    }
                    this.trailing_metadata = Some(trailing);
                    this.state = State::Finished;
                    Poll::Ready(None)
                }
            },
        }
    }
}

impl<M> std::fmt::Debug for Streaming<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Starting(_) => "starting",
            State::Streaming(_) => "streaming",
            State::Failed(_) | State::Finished => "finished",
        };
        f.debug_struct("Streaming").field("state", &state).finish()
    }
}
