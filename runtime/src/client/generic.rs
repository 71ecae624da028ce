//! Generic calls: any method by a path known at run time, with messages a [`Codec`] encodes
//! (raw bytes, prost messages, or the caller's own format), for proxies, gateways and dynamic
//! clients. No generated code.
//!
//! A generic call is a [`Call`] like a typed one (same options, interceptors, deadline and
//! cancellation) whose requests are [`GenericRequests`]: the codec's bytes travel as
//! `Encoded` messages down the typed call's path, and the answer is decoded with the codec.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::client::call::{Call, Many, Single, SingleRequest};
use crate::client::path::MethodPath;
use crate::client::response::Response;
use crate::client::streaming::Streaming;
use crate::client::until::CancelSignal;
use crate::wire::codec::{BytesCodec, Codec, Encoded, ProstCodec};
use crate::{CallOptions, Channel, Code, Metadata, Result, RpcError};

/// Makes calls to any method by its path, with messages of any [`Codec`]: no generated code.
///
/// [`GenericClient::new`] takes prost messages, [`GenericClient::raw`] takes and gives the
/// messages' bytes ([`bytes::Bytes`]) as they are, and [`GenericClient::with_codec`] any other
/// codec. Each method returns a [`Call`], which takes the same options as a typed call
/// (timeout, metadata, compression, cancellation) and runs the channel's interceptors.
///
/// ```no_run
/// use rust_rpc::bytes::Bytes;
/// use rust_rpc::GenericClient;
///
/// # async fn demo(channel: rust_rpc::Channel, method: String, request: Bytes) -> rust_rpc::Result<()> {
/// let client = GenericClient::raw(channel);
/// let reply: Bytes = client
///     .unary(method, request)
///     .timeout(std::time::Duration::from_secs(1))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GenericClient<C = ProstCodec> {
    channel: Channel,
    codec: C,
}

/// A generic unary call: one request, one response of type `Resp`.
pub type GenericUnaryCall<Resp, C = ProstCodec> = Call<GenericRequests<C>, Single<Resp>>;
/// A generic server-streaming call: one request, a stream of `Resp`.
pub type GenericServerStreamingCall<Resp, C = ProstCodec> = Call<GenericRequests<C>, Many<Resp>>;
/// A generic client-streaming call: a stream of requests, one `Resp`.
pub type GenericClientStreamingCall<Resp, C = ProstCodec> = Call<GenericRequests<C>, Single<Resp>>;
/// A generic bidirectional-streaming call: a stream of requests, a stream of `Resp`.
pub type GenericBidiStreamingCall<Resp, C = ProstCodec> = Call<GenericRequests<C>, Many<Resp>>;

impl GenericClient<ProstCodec> {
    /// Calls with prost messages (what typed stubs send), to paths known at run time.
    pub fn new(channel: Channel) -> Self {
        GenericClient { channel, codec: ProstCodec }
    }
}

impl GenericClient<BytesCodec> {
    /// Calls whose requests and responses are the messages' bytes, as they are.
    pub fn raw(channel: Channel) -> Self {
        GenericClient { channel, codec: BytesCodec }
    }
}

impl<C> GenericClient<C> {
    /// Calls whose messages `codec` encodes and decodes.
    pub fn with_codec(channel: Channel, codec: C) -> Self {
        GenericClient { channel, codec }
    }

    /// The channel the calls go through.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    fn call<R>(&self, path: impl Into<String>, source: Source) -> Call<GenericRequests<C>, R>
    where
        C: Clone,
    {
        let requests = GenericRequests { codec: self.codec.clone(), source };
        Call::new(self.channel.clone(), MethodPath::Shared(Arc::new(path.into())), requests, CallOptions::default())
    }

    /// Starts a unary call to `path` (`/package.Service/Method`).
    pub fn unary<Req, Resp>(&self, path: impl Into<String>, request: Req) -> GenericUnaryCall<Resp, C>
    where
        C: Codec<Req> + Codec<Resp>,
    {
        self.call(path, Source::One(self.codec.encode(request).map(Encoded)))
    }

    /// Starts a server-streaming call to `path`.
    pub fn server_streaming<Req, Resp>(
        &self,
        path: impl Into<String>,
        request: Req,
    ) -> GenericServerStreamingCall<Resp, C>
    where
        C: Codec<Req> + Codec<Resp>,
    {
        self.call(path, Source::One(self.codec.encode(request).map(Encoded)))
    }

    /// Starts a client-streaming call to `path`, sending every message of `requests`.
    pub fn client_streaming<S, Resp>(&self, path: impl Into<String>, requests: S) -> GenericClientStreamingCall<Resp, C>
    where
        S: Stream + Send + 'static,
        C: Codec<S::Item> + Codec<Resp>,
    {
        self.call(path, Source::stream(requests, self.codec.clone()))
    }

    /// Starts a bidirectional-streaming call to `path`, sending every message of `requests`.
    pub fn bidi_streaming<S, Resp>(&self, path: impl Into<String>, requests: S) -> GenericBidiStreamingCall<Resp, C>
    where
        S: Stream + Send + 'static,
        C: Codec<S::Item> + Codec<Resp>,
    {
        self.call(path, Source::stream(requests, self.codec.clone()))
    }
}

/// The requests of a generic call, encoded by its codec `C` (which also decodes the answer).
pub struct GenericRequests<C> {
    codec: C,
    source: Source,
}

impl<C> std::fmt::Debug for GenericRequests<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::One(_) => "one",
            Source::Stream(..) => "stream",
        };
        f.debug_struct("GenericRequests").field("requests", &kind).finish()
    }
}

type EncodedStream = Pin<Box<dyn Stream<Item = Encoded> + Send>>;

enum Source {
    /// One request, encoded already (or the codec's error).
    One(Result<Encoded>),
    /// A stream encoded as it is sent; a codec error stops it and fails the call.
    Stream(EncodedStream, Arc<EncodeFailure>),
}

impl Source {
    fn stream<S, C>(requests: S, codec: C) -> Source
    where
        S: Stream + Send + 'static,
        C: Codec<S::Item>,
    {
        let failure = Arc::new(EncodeFailure::default());
        let encoding = Encoding { requests: Box::pin(requests), codec, failure: failure.clone(), failed: false };
        Source::Stream(Box::pin(encoding), failure)
    }
}

/// The codec's error on a streamed request, which fails the call: the request stream stops
/// without ending (the server must not take a cut-short stream for a whole one) and the call
/// is cancelled, reporting this error instead of CANCELLED.
#[derive(Default)]
struct EncodeFailure {
    error: Mutex<Option<RpcError>>,
    failed: tokio::sync::Notify,
}

impl EncodeFailure {
    fn fail(&self, err: RpcError) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
        self.failed.notify_one();
    }

    /// `err`, or the codec's error if the call was cancelled because of one.
    fn explain(&self, err: RpcError) -> RpcError {
        if err.code() != Code::Cancelled {
            return err;
        }
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or(err)
    }
}

/// The cancel signal of a call with streamed requests: the caller's, or a codec error.
fn cancel_signal(
    failure: &Arc<EncodeFailure>,
    caller: Option<CancelSignal>,
) -> impl Future<Output = ()> + Send + 'static {
    let failure = failure.clone();
    async move {
        let failed = failure.failed.notified();
        match caller {
            None => failed.await,
            Some(caller) => {
                futures_util::future::select(Box::pin(failed), caller).await;
            }
        }
    }
}

pin_project_lite::pin_project! {
    struct Encoding<S, C> {
        requests: Pin<Box<S>>,
        codec: C,
        failure: Arc<EncodeFailure>,
        failed: bool,
    }
}

impl<S, C> Stream for Encoding<S, C>
where
    S: Stream,
    C: Codec<S::Item>,
{
    type Item = Encoded;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Encoded>> {
        let this = self.project();
        if *this.failed {
            // The call is being cancelled; the stream must not look finished.
            return Poll::Pending;
        }
        match this.requests.as_mut().poll_next(cx) {
            Poll::Ready(Some(message)) => match this.codec.encode(message) {
                Ok(bytes) => Poll::Ready(Some(Encoded(bytes))),
                Err(err) => {
                    *this.failed = true;
                    this.failure.fail(err);
                    Poll::Pending
                }
            },
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn decode<Resp, C: Codec<Resp>>(codec: &C, encoded: Encoded) -> Result<Resp> {
    codec.decode(encoded.into_bytes())
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<Resp, C> Call<GenericRequests<C>, Single<Resp>>
where
    Resp: Send + 'static,
    C: Codec<Resp>,
{
    /// Makes the call and gives the response with its initial and trailing metadata.
    pub fn with_call(self) -> impl Future<Output = Result<Response<Resp>>> + Send + 'static {
        let (channel, path, GenericRequests { codec, source }, options, cancel) = self.into_parts();
        async move {
            let response = match source {
                Source::One(request) => {
                    let call = Call::<_, Single<Encoded>>::new(channel, path, SingleRequest::new(request?), options);
                    match cancel {
                        Some(cancel) => call.cancel_on(cancel).with_call().await?,
                        None => call.with_call().await?,
                    }
                }
                Source::Stream(requests, failure) => {
                    let call = Call::<_, Single<Encoded>>::new(channel, path, requests, options)
                        .cancel_on(cancel_signal(&failure, cancel));
                    call.with_call().await.map_err(|err| failure.explain(err))?
                }
            };
            response.try_map(|message| decode(&codec, message))
        }
    }
}

impl<Resp, C> IntoFuture for Call<GenericRequests<C>, Single<Resp>>
where
    Resp: Send + 'static,
    C: Codec<Resp>,
{
    type Output = Result<Resp>;
    type IntoFuture = BoxFuture<Result<Resp>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(futures_util::FutureExt::map(self.with_call(), |result| result.map(Response::into_message)))
    }
}

impl<Resp, C> IntoFuture for Call<GenericRequests<C>, Many<Resp>>
where
    Resp: Send + 'static,
    C: Codec<Resp>,
{
    type Output = Result<GenericStreaming<Resp, C>>;
    type IntoFuture = BoxFuture<Result<GenericStreaming<Resp, C>>>;

    /// Starts the call and gives its response stream, as a typed streaming call does.
    fn into_future(self) -> Self::IntoFuture {
        let (channel, path, GenericRequests { codec, source }, options, cancel) = self.into_parts();
        Box::pin(async move {
            let (streaming, failure) = match source {
                Source::One(request) => {
                    let call = Call::<_, Many<Encoded>>::new(channel, path, tokio_stream::once(request?), options);
                    let call = match cancel {
                        Some(cancel) => call.cancel_on(cancel),
                        None => call,
                    };
                    (call.await?, None)
                }
                Source::Stream(requests, failure) => {
                    let call = Call::<_, Many<Encoded>>::new(channel, path, requests, options)
                        .cancel_on(cancel_signal(&failure, cancel));
                    (call.await?, Some(failure))
                }
            };
            Ok(GenericStreaming { inner: streaming, codec, failure, _message: std::marker::PhantomData })
        })
    }
}

/// The responses of a generic streaming call, decoded by its codec: a [`Stream`] of
/// `Result<M, RpcError>`, like the [`Streaming`] of a typed call.
pub struct GenericStreaming<M, C> {
    inner: Streaming<Encoded>,
    codec: C,
    failure: Option<Arc<EncodeFailure>>,
    _message: std::marker::PhantomData<fn() -> M>,
}

impl<M, C: Codec<M>> GenericStreaming<M, C> {
    /// The next message; `Ok(None)` when the server ended the stream with OK.
    pub async fn message(&mut self) -> Result<Option<M>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await.transpose()
    }

    /// The response headers (initial metadata), waiting for them if they have not arrived.
    pub async fn initial_metadata(&mut self) -> Result<&Metadata> {
        self.inner.initial_metadata().await
    }

    /// The trailers, once the stream has ended with OK.
    pub fn trailing_metadata(&self) -> Option<&Metadata> {
        self.inner.trailing_metadata()
    }
}

// Never pinned through: the codec is only used by reference, the inner stream is `Unpin`.
impl<M, C> Unpin for GenericStreaming<M, C> {}

impl<M, C: Codec<M>> Stream for GenericStreaming<M, C> {
    type Item = Result<M>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(encoded))) => Poll::Ready(Some(decode(&this.codec, encoded))),
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(match &this.failure {
                Some(failure) => failure.explain(err),
                None => err,
            }))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<M, C> std::fmt::Debug for GenericStreaming<M, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericStreaming").field("inner", &self.inner).finish()
    }
}
