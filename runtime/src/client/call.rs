//! Client calls: the builder every generated stub method returns, and what a call gives back.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::client::channel::Outgoing;
use crate::client::decoder::{self, Decoder};
use crate::client::message_body::MessageBody;
use crate::client::request_head::request_head;
use crate::{CallOptions, Channel, Compression, Metadata, Result, RpcError};

/// Marks a call that answers with one message.
#[derive(Debug)]
pub struct Single<M>(PhantomData<fn() -> M>);

/// Marks a call that answers with a stream of messages.
#[derive(Debug)]
pub struct Many<M>(PhantomData<fn() -> M>);

/// A call about to be made: set options on it, then `.await` it.
///
/// Generated stubs return one from every method; the type aliases [`UnaryCall`],
/// [`ServerStreamingCall`], [`ClientStreamingCall`] and [`BidiStreamingCall`] name the four kinds.
/// Awaiting a single-response call gives the message; [`Call::with_call`] also gives the
/// response metadata. Awaiting a streaming call gives a [`Streaming`] of messages.
///
/// ```no_run
/// # use rust_rpc::{Call, Single, Metadata};
/// # async fn demo(call: rust_rpc::UnaryCall<(), ()>) -> rust_rpc::Result<()> {
/// let reply = call
///     .timeout(std::time::Duration::from_secs(1))
///     .add_metadata("x-request-id", "42")?
///     .wait_for_ready(true)
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<S, R> {
    channel: Channel,
    path: &'static str,
    requests: S,
    options: CallOptions,
    cancel: Option<CancelSignal>,
    _response: PhantomData<fn() -> R>,
}

/// A future that cancels a call when it resolves.
type CancelSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A unary call: one request, one response.
pub type UnaryCall<Req, Resp> = Call<SingleRequest<Req>, Single<Resp>>;
/// A server-streaming call: one request, a stream of responses.
pub type ServerStreamingCall<Req, Resp> = Call<tokio_stream::Once<Req>, Many<Resp>>;
/// A client-streaming call: a stream of requests `S`, one response.
pub type ClientStreamingCall<S, Resp> = Call<S, Single<Resp>>;
/// A bidirectional-streaming call: a stream of requests `S`, a stream of responses.
pub type BidiStreamingCall<S, Resp> = Call<S, Many<Resp>>;

/// The request of a unary call: one message.
///
/// A [`Stream`] of that one message, which is how it is sent when the call compresses its
/// request; otherwise the call encodes the message itself (see [`UnaryCall`]).
pub struct SingleRequest<M>(Option<M>);

impl<M> SingleRequest<M> {
    fn take(&mut self) -> Option<M> {
        self.0.take()
    }
}

// Never pinned through: the message is only moved out.
impl<M> Unpin for SingleRequest<M> {}

impl<M> Stream for SingleRequest<M> {
    type Item = M;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<M>> {
        Poll::Ready(self.0.take())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.0.is_some());
        (n, Some(n))
    }
}

impl<M> std::fmt::Debug for SingleRequest<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleRequest").field("taken", &self.0.is_none()).finish()
    }
}

/// The message of `requests` if it is a unary call's [`SingleRequest`]: such a call can skip
/// the stream encoder and decoder (see `unary.rs`). `S` is only ever a `SingleRequest` or a caller's stream.
fn take_single<Req: 'static, S: 'static>(requests: &mut S) -> Option<Req> {
    (requests as &mut dyn std::any::Any).downcast_mut::<SingleRequest<Req>>().and_then(SingleRequest::take)
}

impl<S, R> Call<S, R> {
    pub(crate) fn new(channel: Channel, path: &'static str, requests: S, options: CallOptions) -> Self {
        Call { channel, path, requests, options, cancel: None, _response: PhantomData }
    }

    /// Fails the call with DEADLINE_EXCEEDED unless it finishes within `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Fails the call with DEADLINE_EXCEEDED unless it finishes by `deadline`.
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.options.deadline = Some(deadline);
        self
    }

    /// Sends `metadata` with the request.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.options.metadata.extend(metadata);
        self
    }

    /// Sends one ASCII metadata entry with the request.
    pub fn add_metadata(mut self, key: &str, value: &str) -> std::result::Result<Self, crate::MetadataError> {
        self.options.metadata.append(key, value)?;
        Ok(self)
    }

    /// Compresses the request messages.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.options.compression = Some(compression);
        self
    }

    /// Waits for the channel to connect instead of failing fast with UNAVAILABLE.
    pub fn wait_for_ready(mut self, wait: bool) -> Self {
        self.options.wait_for_ready = wait;
        self
    }

    /// Cancels the call when `signal` resolves: the call ends with CANCELLED and the server is
    /// told (HTTP/2 `RST_STREAM`). Dropping the call's future cancels it too, without a status.
    ///
    /// ```no_run
    /// # async fn demo(call: rust_rpc::UnaryCall<(), ()>) {
    /// let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    /// let call = call.cancel_on(async move {
    ///     let _ = cancelled.await;
    /// });
    /// drop(cancel); // resolves the signal
    /// assert_eq!(call.await.unwrap_err().code(), rust_rpc::Code::Cancelled);
    /// # }
    /// ```
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// Applies every setting of `options` (its metadata is added to what is set already).
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options = self.options.merged_with(options);
        self
    }
}

/// What a single-response call gives with [`Call::with_call`]: the message and the metadata.
#[derive(Debug, Clone)]
pub struct Response<M> {
    message: M,
    initial_metadata: Metadata,
    trailing_metadata: Metadata,
}

impl<M> Response<M> {
    pub(crate) fn new(message: M, initial_metadata: Metadata, trailing_metadata: Metadata) -> Self {
        Response { message, initial_metadata, trailing_metadata }
    }

    /// The response message.
    pub fn message(&self) -> &M {
        &self.message
    }

    /// Takes the response message.
    pub fn into_message(self) -> M {
        self.message
    }

    /// The response headers the server sent (its initial metadata).
    pub fn initial_metadata(&self) -> &Metadata {
        &self.initial_metadata
    }

    /// The trailers the server sent with the OK status (its trailing metadata).
    pub fn trailing_metadata(&self) -> &Metadata {
        &self.trailing_metadata
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Starts the HTTP/2 exchange with `options` (the channel's defaults merged in); the response
/// stream is returned once headers arrive.
async fn start<Req, Resp, S>(
    channel: Channel,
    path: &'static str,
    requests: S,
    options: CallOptions,
    deadline: Option<Instant>,
) -> Result<(Metadata, Decoder<Resp>)>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    let settings = channel.settings();
    let head = request_head(&channel, path, options.metadata, options.compression, deadline)?;
    let send_limit = settings.max_send_message_length.unwrap_or(usize::MAX);
    let body = Outgoing::Body(Box::pin(MessageBody::new(requests, send_limit, options.compression)));
    let response = channel.send(head, body, options.wait_for_ready).await.map_err(RpcError::from_tonic)?;
    decoder::open(response, settings.max_receive_message_length)
}

pin_project_lite::pin_project! {
    /// Runs `future` until `deadline` or the cancel signal, failing with DEADLINE_EXCEEDED or
    /// CANCELLED; the caller then drops the future, which resets the HTTP/2 stream.
    ///
    /// A struct rather than an `async fn` with `select!`: that kept the call's future twice
    /// (as the argument and as the selected branch), kilobytes copied on every call.
    struct Until<F> {
        #[pin]
        future: F,
        deadline: Option<Instant>,
        // Made on the first poll: a timer needs the runtime, and the call may be built outside.
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        cancel: Option<CancelSignal>,
    }
}

impl<F> Until<F> {
    fn new(deadline: Option<Instant>, cancel: Option<CancelSignal>, future: F) -> Self {
        Until { future, deadline, sleep: None, cancel }
    }
}

impl<F, T> Future for Until<F>
where
    F: Future<Output = Result<T>>,
{
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut this = self.project();
        if let Some(signal) = this.cancel.as_mut()
            && signal.as_mut().poll(cx).is_ready()
        {
            *this.cancel = None;
            return Poll::Ready(Err(cancelled_error()));
        }
        if let Some(deadline) = *this.deadline {
            if this.sleep.is_none() {
                this.sleep.set(Some(tokio::time::sleep_until(deadline.into())));
            }
            if let Some(sleep) = this.sleep.as_mut().as_pin_mut()
                && sleep.poll(cx).is_ready()
            {
                return Poll::Ready(Err(RpcError::deadline_exceeded("deadline exceeded before the call finished")));
            }
        }
        this.future.poll(cx)
    }
}

fn cancelled_error() -> RpcError {
    RpcError::cancelled("the call was cancelled by the client")
}

pub(crate) fn with_headers(mut err: RpcError, headers: &Metadata) -> RpcError {
    err.metadata_mut().extend(headers.clone());
    err
}

/// A single-response call that ended OK without its message.
pub(crate) fn no_response_message() -> RpcError {
    RpcError::internal("the server sent no response message")
}

pub(crate) async fn single<Resp>(headers: Metadata, mut decoder: Decoder<Resp>) -> Result<Response<Resp>> {
    let fail = |err: RpcError| with_headers(err, &headers);
    let Some(message) = decoder.message().await.map_err(fail)? else {
        // Ended without a message: an error status, or OK, which is a protocol violation.
        decoder.finish().map_err(fail)?;
        return Err(no_response_message());
    };
    if decoder.message().await.map_err(fail)?.is_some() {
        return Err(RpcError::internal("the server sent more than one response message to a single-response call"));
    }
    let trailing = decoder.finish().map_err(fail)?;
    Ok(Response { message, initial_metadata: headers, trailing_metadata: trailing })
}

impl<Req, Resp, S> Call<S, Single<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    /// Makes the call and gives the response with its initial and trailing metadata (Python's
    /// `with_call`).
    pub fn with_call(self) -> impl Future<Output = Result<Response<Resp>>> + Send + 'static {
        let Call { channel, path, mut requests, options, cancel, .. } = self;
        // The channel's defaults first: a default timeout is this call's deadline too.
        let options = channel.settings().default_options.merged_with(options);
        let deadline = options.effective_deadline();
        Until::new(deadline, cancel, async move {
            if options.compression.is_none()
                && let Some(request) = take_single::<Req, S>(&mut requests)
            {
                return crate::client::unary::call(channel, path, request, options, deadline).await;
            }
            // Boxed, so the unary path's future does not carry this one's state too.
            Box::pin(async move {
                let (headers, stream) = start(channel, path, requests, options, deadline).await?;
                single(headers, stream).await
            })
            .await
        })
    }
}

impl<Req, Resp, S> IntoFuture for Call<S, Single<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    type Output = Result<Resp>;
    type IntoFuture = BoxFuture<Result<Resp>>;

    fn into_future(self) -> Self::IntoFuture {
        // A combinator, not an `async` block: that would hold the call's future twice.
        Box::pin(futures_util::FutureExt::map(self.with_call(), |result| result.map(Response::into_message)))
    }
}

impl<Req, Resp, S> IntoFuture for Call<S, Many<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    type Output = Result<Streaming<Resp>>;
    type IntoFuture = BoxFuture<Result<Streaming<Resp>>>;

    /// Starts the call and gives its response stream without waiting for the server's response
    /// headers (a server may send none until its first message, while it waits for requests).
    fn into_future(self) -> Self::IntoFuture {
        let Call { channel, path, requests, options, cancel, .. } = self;
        let options = channel.settings().default_options.merged_with(options);
        let deadline = options.effective_deadline();
        let starting: StartFuture<Resp> = Box::pin(start(channel, path, requests, options, deadline));
        let mut streaming = Streaming {
            state: State::Starting(starting),
            initial_metadata: None,
            trailing_metadata: None,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            cancel,
        };
        Box::pin(async move {
            // One poll sends the request headers (and lets the request stream flow) or finds the
            // connection failing; either way the caller learns on its first read.
            std::future::poll_fn(|cx| {
                let _ = streaming.poll_start(cx);
                Poll::Ready(())
            })
            .await;
            Ok(streaming)
        })
    }
}

type StartFuture<M> = BoxFuture<Result<(Metadata, Decoder<M>)>>;

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
}

impl<M> Streaming<M> {
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
    fn poll_start(&mut self, cx: &mut Context<'_>) -> Poll<()> {
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

impl Channel {
    /// Starts a unary call to `path` (`/package.Service/Method`). Generated stubs call this;
    /// use it directly only for calls without generated code.
    pub fn unary<Req, Resp>(&self, path: &'static str, request: Req) -> UnaryCall<Req, Resp> {
        Call::new(self.clone(), path, SingleRequest(Some(request)), CallOptions::default())
    }

    /// Starts a server-streaming call to `path`.
    pub fn server_streaming<Req, Resp>(&self, path: &'static str, request: Req) -> ServerStreamingCall<Req, Resp> {
        Call::new(self.clone(), path, tokio_stream::once(request), CallOptions::default())
    }

    /// Starts a client-streaming call to `path`, sending every message of `requests`.
    pub fn client_streaming<S, Resp>(&self, path: &'static str, requests: S) -> ClientStreamingCall<S, Resp> {
        Call::new(self.clone(), path, requests, CallOptions::default())
    }

    /// Starts a bidirectional-streaming call to `path`, sending every message of `requests`.
    pub fn bidi_streaming<S, Resp>(&self, path: &'static str, requests: S) -> BidiStreamingCall<S, Resp> {
        Call::new(self.clone(), path, requests, CallOptions::default())
    }
}
