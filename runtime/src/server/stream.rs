//! The message streams a servicer receives and returns.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use hyper::body::Incoming;

use crate::observe::Tally;
use crate::wire::deframe::MessageStream;
use crate::wire::limits::Limit;
use crate::wire::status;
use crate::{Compression, Result, RpcError};

/// The request messages of a client-streaming or bidirectional call, as the servicer sees them.
///
/// A [`Stream`] of `Result<M, RpcError>`: an error means the request could not be read (a
/// malformed message, one over the size limit, or the client going away).
pub struct RequestStream<M> {
    source: Source<M>,
}

/// Where the messages come from: the body not read yet, or a decoder over it.
///
/// The decoder is the larger by a few hundred bytes; boxing it would allocate on every
/// streaming call, and a `RequestStream` is built in place once per call.
#[allow(clippy::large_enum_variant)]
enum Source<M> {
    /// Unread, so the unary path can take the body and decode its one message itself (see
    /// `single_request.rs`); anything else turns it into a decoder on the first read.
    Unread(Option<Unread<M>>),
    Decoding(MessageStream<Incoming, M>),
}

/// The request body and what decoding it needs.
pub(crate) struct Unread<M> {
    pub(crate) body: Incoming,
    /// The request's `grpc-encoding`.
    pub(crate) encoding: Option<Compression>,
    /// The server's receive limit.
    pub(crate) limit: usize,
    /// Counts the messages, on a call with interceptors.
    pub(crate) tally: Option<Arc<Tally>>,
    /// Builds the decoder for `M`: a plain function, so this type needs no bounds on `M`.
    pub(crate) decoding: Decoding<M>,
}

/// What builds a request decoder: the body, its `grpc-encoding`, the limit, the call's counts.
pub(crate) type Decoding<M> =
    fn(Incoming, Option<Compression>, usize, Option<Arc<Tally>>) -> MessageStream<Incoming, M>;

impl<M: prost::Message + Default + Send + 'static> Unread<M> {
    /// The request `body`, with `grpc-encoding` `encoding`, read under `limit`, its messages
    /// counted in `tally` if the call has one.
    pub(crate) fn new(body: Incoming, encoding: Option<Compression>, limit: usize, tally: Option<Arc<Tally>>) -> Self {
        Unread { body, encoding, limit, tally, decoding: decoding::<M> }
    }
}

/// The decoder of `M` messages over a request body with `grpc-encoding` `encoding`.
fn decoding<M: prost::Message + Default + Send + 'static>(
    body: Incoming,
    encoding: Option<Compression>,
    limit: usize,
    tally: Option<Arc<Tally>>,
) -> MessageStream<Incoming, M> {
    MessageStream::new(body, limit, encoding, Limit::SERVER_RECEIVE, body_error, tally)
}

/// How the server reports a request body that failed (the client reset the stream, the
/// connection went).
fn body_error(err: hyper::Error) -> RpcError {
    status::from_hyper(&err)
}

impl<M> RequestStream<M> {
    pub(crate) fn new(unread: Unread<M>) -> Self {
        RequestStream { source: Source::Unread(Some(unread)) }
    }

    /// A stream with no messages left.
    pub(crate) fn ended() -> Self {
        RequestStream { source: Source::Unread(None) }
    }

    /// Takes the body if nothing has read it yet.
    pub(crate) fn take_unread(&mut self) -> Option<Unread<M>> {
        match &mut self.source {
            Source::Unread(unread) => unread.take(),
            Source::Decoding(_) => None,
        }
    }

    fn decoding(&mut self) -> Option<&mut MessageStream<Incoming, M>> {
        if let Source::Unread(unread) = &mut self.source {
            // Only `take_unread` leaves `None`, and its caller reads no further.
            let unread = unread.take()?;
            self.source = Source::Decoding((unread.decoding)(unread.body, unread.encoding, unread.limit, unread.tally));
        }
        match &mut self.source {
            Source::Decoding(decoder) => Some(decoder),
            Source::Unread(_) => None,
        }
    }

    /// The next message; `Ok(None)` once the client has sent its last one.
    pub async fn message(&mut self) -> Result<Option<M>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await.transpose()
    }
}

impl<M> Stream for RequestStream<M> {
    type Item = Result<M>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        match self.decoding() {
            Some(messages) => Pin::new(messages).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<M> std::fmt::Debug for RequestStream<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestStream")
    }
}

/// The response messages a server-streaming or bidirectional servicer method returns.
///
/// Build one from any stream of `Result<M, RpcError>` with [`ResponseStream::new`], from an
/// iterator of messages with [`ResponseStream::iter`], or push messages from a task through
/// [`ResponseStream::channel`]. An `Err` item ends the call with that status.
///
/// ```
/// use rust_rpc::stream::StreamExt;
/// use rust_rpc::{Code, ResponseStream, RpcError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let fixed: Vec<_> = ResponseStream::iter([1, 2, 3]).collect().await;
/// assert_eq!(fixed.len(), 3);
///
/// let (sender, stream) = ResponseStream::<u32>::channel(16);
/// tokio::spawn(async move {
///     for i in 0..3 {
///         if sender.send(Ok(i)).await.is_err() {
///             return; // the client went away
///         }
///     }
///     let _ = sender.send(Err(RpcError::aborted("done early"))).await;
/// });
/// let pushed: Vec<_> = stream.collect().await;
/// assert_eq!(pushed.len(), 4);
/// assert_eq!(pushed[3].as_ref().err().map(RpcError::code), Some(Code::Aborted));
/// # }
/// ```
pub struct ResponseStream<M> {
    inner: Inner<M>,
}

enum Inner<M> {
    /// The one message of a unary or client-streaming response, kept inline: boxing it as a
    /// stream was an allocation per call.
    Once(Option<Result<M>>),
    Boxed(Pin<Box<dyn Stream<Item = Result<M>> + Send + 'static>>),
}

/// The sending half of [`ResponseStream::channel`].
pub type ResponseSender<M> = tokio::sync::mpsc::Sender<Result<M>>;

impl<M: Send + 'static> ResponseStream<M> {
    /// Wraps any stream of results.
    pub fn new(stream: impl Stream<Item = Result<M>> + Send + 'static) -> Self {
        ResponseStream { inner: Inner::Boxed(Box::pin(stream)) }
    }

    /// A stream of the given messages, all OK.
    pub fn iter<I>(messages: I) -> Self
    where
        I: IntoIterator<Item = M>,
        I::IntoIter: Send + 'static,
    {
        Self::new(tokio_stream::iter(messages.into_iter().map(Ok)))
    }

    /// A stream fed through a bounded channel of `capacity` results. Sending waits while the
    /// client is slow (backpressure) and fails once the call is over.
    pub fn channel(capacity: usize) -> (ResponseSender<M>, Self) {
        let (sender, receiver) = tokio::sync::mpsc::channel(capacity.max(1));
        (sender, Self::new(ReceiverStream(receiver)))
    }

    /// A stream of exactly one message: a unary answer (sent as such, without the stream's
    /// batching).
    pub fn once(message: M) -> Self {
        ResponseStream { inner: Inner::Once(Some(Ok(message))) }
    }
}

impl<M> ResponseStream<M> {
    /// Takes the message of a response made with `once`, if it is still there.
    pub(crate) fn take_once(&mut self) -> Option<M> {
        match &mut self.inner {
            Inner::Once(slot @ Some(Ok(_))) => slot.take().and_then(|message| message.ok()),
            _ => None,
        }
    }
}

struct ReceiverStream<T>(tokio::sync::mpsc::Receiver<T>);

impl<T> Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

// Never pinned through: the inline message is only ever moved out. Keeps the stream `Unpin`
// for every `M`, as it was when it was always boxed.
impl<M> Unpin for ResponseStream<M> {}

impl<M> Stream for ResponseStream<M> {
    type Item = Result<M>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        match &mut self.inner {
            Inner::Once(message) => Poll::Ready(message.take()),
            Inner::Boxed(stream) => stream.as_mut().poll_next(cx),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            Inner::Once(message) => {
                let n = usize::from(message.is_some());
                (n, Some(n))
            }
            Inner::Boxed(stream) => stream.size_hint(),
        }
    }
}

impl<M> std::fmt::Debug for ResponseStream<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseStream")
    }
}
