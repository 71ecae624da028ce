//! `Call`: the builder every generated stub method returns, and what awaiting it does: the
//! unary fast path (`unary.rs`), or the general path that starts the exchange here and reads the
//! answer with `response.rs` (one message) or `streaming.rs` (a stream).

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use futures_util::future::Either;

use crate::client::decoder::{self, Decoder};
use crate::client::exchange::Outgoing;
use crate::client::interceptor::{Chain, Completion};
use crate::client::path::MethodPath;
use crate::client::request_body::RequestBody;
use crate::client::request_head::request_head;
use crate::client::response::{Response, single};
use crate::client::streaming::{StartFuture, Streaming};
use crate::client::until::{CancelSignal, Until};
use crate::observe::Tally;
use crate::{CallOptions, Channel, Compression, Metadata, Result};

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
    path: MethodPath,
    requests: S,
    options: CallOptions,
    cancel: Option<CancelSignal>,
    _response: PhantomData<fn() -> R>,
}

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
    pub(crate) fn new(message: M) -> Self {
        SingleRequest(Some(message))
    }

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
    pub(crate) fn new(channel: Channel, path: MethodPath, requests: S, options: CallOptions) -> Self {
        Call { channel, path, requests, options, cancel: None, _response: PhantomData }
    }

    /// The call's parts, for a call that runs as another (a generic call, `generic.rs`).
    pub(crate) fn into_parts(self) -> (Channel, MethodPath, S, CallOptions, Option<CancelSignal>) {
        (self.channel, self.path, self.requests, self.options, self.cancel)
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

    /// Lets `switch` send chosen request messages uncompressed on a call that compresses them
    /// (see [`MessageCompression`](crate::MessageCompression)).
    pub fn message_compression(mut self, switch: crate::MessageCompression) -> Self {
        self.options.message_compression = Some(switch);
        self
    }

    /// Waits for the channel to connect instead of failing fast with UNAVAILABLE.
    pub fn wait_for_ready(mut self, wait: bool) -> Self {
        self.options.wait_for_ready = Some(wait);
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

    /// Inherits the deadline and cancellation of the call being served (see
    /// [`Propagation`](crate::Propagation)): pass the handler's
    /// [`ServicerContext`](crate::ServicerContext). The call's deadline is the earlier of its
    /// own and the incoming call's; it fails with CANCELLED when the incoming call ends first.
    ///
    /// ```no_run
    /// # use rust_rpc::{Result, ServicerContext};
    /// # async fn demo(call: rust_rpc::UnaryCall<(), ()>, context: &ServicerContext) -> Result<()> {
    /// // In a handler: the client's deadline and cancellation carry on to the backend.
    /// call.propagate(context).await?;
    /// # Ok(()) }
    /// ```
    pub fn propagate(mut self, from: impl Into<crate::Propagation>) -> Self {
        self.options.propagation = Some(from.into());
        self
    }

    /// Sends `credentials`' metadata (a token) with this call (see
    /// [`CallCredentials`](crate::CallCredentials)).
    pub fn call_credentials(mut self, credentials: impl crate::CallCredentials) -> Self {
        self.options.call_credentials = Some(crate::client::call_credentials::SharedCredentials::new(credentials));
        self
    }

    /// Applies every setting of `options` (its metadata is added to what is set already).
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options = self.options.merged_with(options);
        self
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The call's cancel signal, joined with the end of the call it was propagated from, if any.
#[inline]
fn propagated(cancel: Option<CancelSignal>, options: &CallOptions) -> Option<CancelSignal> {
    match &options.propagation {
        None => cancel,
        Some(propagation) => Some(propagation.cancel_signal(cancel)),
    }
}

/// Starts the HTTP/2 exchange with `options` (the channel's defaults merged in); the response
/// stream is returned once headers arrive. The messages both ways are counted in `tally` if the
/// call has interceptors.
async fn start<Req, Resp, S>(
    channel: Channel,
    path: MethodPath,
    requests: S,
    options: CallOptions,
    deadline: Option<Instant>,
    tally: Option<Arc<Tally>>,
) -> Result<(Metadata, Decoder<Resp>)>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    let settings = channel.settings();
    let head = request_head(&channel, &path, options.metadata, options.compression, deadline)?;
    let mut send_limit = settings.max_send_message_length.unwrap_or(usize::MAX);
    let mut receive_limit = settings.max_receive_message_length;
    let method = channel.method_config(&path);
    if let Some(method) = method {
        (send_limit, receive_limit) = method.limits(send_limit, receive_limit);
    }
    let body = Outgoing::Body(Box::pin(RequestBody::new(
        requests,
        send_limit,
        options.compression,
        options.message_compression,
        tally.clone(),
    )));
    let wait = options.wait_for_ready.unwrap_or(false);
    let response = match method {
        Some(method) if method.policy.is_some() => {
            Box::pin(crate::client::retry::send(&channel, head, body, wait, method, deadline)).await?
        }
        _ => channel.send(head, body, wait).await?,
    };
    decoder::open(response, receive_limit, tally)
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
        let mut options = channel.settings().default_options.merged_with(options);
        if let Some(method) = channel.method_config(&path) {
            options = method.apply(options);
        }
        let deadline = options.effective_deadline();
        let cancel = propagated(cancel, &options);
        if let Some(chain) = channel.interceptors(&options) {
            // Boxed, and a future of its own: calls on channels without interceptors keep theirs
            // as it was.
            let intercepted = Box::pin(intercepted(chain, channel, path, requests, options, deadline));
            return Either::Right(Until::new(deadline, cancel, intercepted));
        }
        Either::Left(Until::new(deadline, cancel, async move {
            if options.compression.is_none()
                && let Some(request) = take_single::<Req, S>(&mut requests)
            {
                return crate::client::unary::call(channel, path, request, options, deadline, None).await;
            }
            // Boxed, so the unary path's future does not carry this one's state too.
            Box::pin(async move {
                let (headers, stream) = start(channel, path, requests, options, deadline, None).await?;
                single(headers, stream).await
            })
            .await
        }))
    }
}

/// A single-response call on a channel with interceptors: they run first (and may fail it),
/// then the call as it would run without them, then they hear how it ended.
async fn intercepted<Req, Resp, S>(
    chain: Chain,
    channel: Channel,
    path: MethodPath,
    mut requests: S,
    mut options: CallOptions,
    deadline: Option<Instant>,
) -> Result<Response<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    let completion = Completion::new(chain, path.clone(), deadline);
    if let Err(err) = completion
        .interception()
        .run(&mut options.metadata, &mut options.compression, &mut options.wait_for_ready)
        .await
    {
        completion.report(Some(&err), &Metadata::new());
        return Err(err);
    }
    let tally = Some(completion.tally().clone());
    let result = if options.compression.is_none()
        && let Some(request) = take_single::<Req, S>(&mut requests)
    {
        crate::client::unary::call(channel, path, request, options, deadline, tally).await
    } else {
        match start(channel, path, requests, options, deadline, tally).await {
            Ok((headers, stream)) => single(headers, stream).await,
            Err(err) => Err(err),
        }
    };
    match &result {
        Ok(response) => completion.report(None, response.trailing_metadata()),
        Err(err) => completion.report(Some(err), &Metadata::new()),
    }
    result
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
        let mut options = channel.settings().default_options.merged_with(options);
        if let Some(method) = channel.method_config(&path) {
            options = method.apply(options);
        }
        let deadline = options.effective_deadline();
        let cancel = propagated(cancel, &options);
        let (starting, completion): (StartFuture<Resp>, _) = match channel.interceptors(&options) {
            None => (Box::pin(start(channel, path, requests, options, deadline, None)), None),
            Some(chain) => {
                let completion = Completion::new(chain, path.clone(), deadline);
                let interception = completion.interception();
                let tally = Some(completion.tally().clone());
                let mut options = options;
                let starting = async move {
                    interception
                        .run(&mut options.metadata, &mut options.compression, &mut options.wait_for_ready)
                        .await?;
                    start(channel, path, requests, options, deadline, tally).await
                };
                (Box::pin(starting), Some(completion))
            }
        };
        let mut streaming = Streaming::new(starting, deadline, cancel, completion);
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
