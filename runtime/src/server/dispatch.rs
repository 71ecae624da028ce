//! One call on the server: decode the requests, run the handler under the deadline, encode the
//! responses and the final status.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;
use futures_util::FutureExt;
use hyper::body::Incoming;
use tokio_util::sync::WaitForCancellationFutureOwned;
use tonic::body::Body;

use crate::deframe::MessageStream;
use crate::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS};
use crate::server::context::CancelOnDrop;
use crate::server::stop::StopSignal;
use crate::server::stream::{READER, Unread, body_error};
use crate::server::stream_body::StreamBody;
use crate::server::unary_body::UnaryBody;
use crate::server::unary_request::read_single;
use crate::{Compression, Metadata, RequestStream, ResponseStream, Result, RpcError, ServicerContext};

/// Server-wide limits, shared by every call.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_receive_message_length: usize,
    pub(crate) max_send_message_length: usize,
}

/// What every call of a server shares, behind one `Arc` so a call takes it with one count
/// increment (cloning the stop signal's `CancellationToken` takes a lock).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    /// The server's stop signal.
    pub(crate) stop: StopSignal,
}

/// What a call needs besides its context: limits, the server's stop signal, and the encodings
/// the router read off the request headers.
#[derive(Clone)]
pub(crate) struct CallEnv {
    pub(crate) shared: Arc<Shared>,
    pub(crate) request_encoding: Option<Compression>,
    pub(crate) accepts_gzip: bool,
    pub(crate) accepts_zstd: bool,
}

impl CallEnv {
    fn accepts(&self, compression: Compression) -> bool {
        match compression {
            Compression::Gzip => self.accepts_gzip,
            Compression::Zstd => self.accepts_zstd,
        }
    }
}

/// Reads the one request message of a unary or server-streaming call: off the body directly
/// when it is not compressed (see `unary_request.rs`), else with the stream decoder.
pub(crate) async fn single_request<M: prost::Message + Default>(requests: &mut RequestStream<M>) -> Result<M> {
    if let Some(unread) = requests.take_unread() {
        if unread.encoding.is_none() {
            return read_single(unread.body, unread.limit).await;
        }
        *requests = RequestStream::new(unread);
    }
    let first = requests.message().await?.ok_or_else(|| RpcError::internal("the client sent no request message"))?;
    if requests.message().await?.is_some() {
        return Err(RpcError::internal("the client sent more than one request message to a single-request method"));
    }
    Ok(first)
}

/// A trailers-only response: the status, with `initial` metadata in the same header block.
pub(crate) fn error_response(err: RpcError, initial: Metadata) -> http::Response<Body> {
    let mut response = http::Response::new(Body::default());
    *response.headers_mut() = initial.into_headers();
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    put_status(response.headers_mut(), &err.into_tonic());
    response
}

/// Writes `status` (code, message, details and metadata) into `headers`.
pub(crate) fn put_status(headers: &mut http::HeaderMap, status: &tonic::Status) {
    if status.add_header(headers).is_err() {
        // Only metadata that cannot be a header gets here; send the status without it.
        headers.insert(&GRPC_STATUS, http::HeaderValue::from_static("13"));
        headers.insert(&GRPC_MESSAGE, http::HeaderValue::from_static("invalid response metadata"));
    }
}

/// The decoder of `M` messages over a request body with `grpc-encoding` `encoding`.
fn decoding<M: prost::Message + Default + Send + 'static>(
    body: Incoming,
    encoding: Option<Compression>,
    limit: usize,
) -> MessageStream<Incoming, M> {
    MessageStream::new(body, limit, encoding, READER, body_error)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Runs one call of any kind: `handler` gets the decoded request stream and gives the response
/// stream (unary kinds wrap their single message).
pub(crate) async fn serve<Req, Resp, H, Fut>(
    body: Incoming,
    context: ServicerContext,
    env: CallEnv,
    handler: H,
) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + Sync + 'static,
    Resp: prost::Message + Send + Sync + 'static,
    H: FnOnce(RequestStream<Req>, ServicerContext) -> Fut,
    Fut: Future<Output = Result<ResponseStream<Resp>>> + Send,
{
    let limits = &env.shared.limits;
    let requests = RequestStream::new(Unread {
        body,
        encoding: env.request_encoding,
        limit: limits.max_receive_message_length,
        decoding: decoding::<Req>,
    });
    // Fires the context's cancellation when the call ends, or when hyper drops this future
    // because the client reset the stream.
    let call = context.cancel_on_drop();
    let deadline = context.deadline();
    let work = AssertUnwindSafe(handler(requests, context)).catch_unwind();
    let outcome = tokio::select! {
        biased;
        _ = env.shared.stop.stopped() => Err(RpcError::unavailable("the server is shutting down")),
        _ = sleep_until(deadline) => Err(RpcError::deadline_exceeded("deadline exceeded")),
        result = work => result.unwrap_or_else(|_| Err(RpcError::internal("the method handler panicked"))),
    };
    let context = call.context();
    let mut stream = match outcome {
        Ok(stream) => stream,
        Err(mut err) => {
            err.metadata_mut().extend(context.take_trailing_metadata());
            return error_response(err, context.take_initial_metadata());
        }
    };
    let compression = context.compression().filter(|c| env.accepts(*c));
    if compression.is_none()
        && let Some(message) = stream.take_once()
    {
        return unary_response(&message, call, &env, deadline);
    }
    let initial = context.take_initial_metadata();
    let source = ResponseBody {
        stream,
        shared: env.shared.clone(),
        stop: env.shared.stop.stopped_owned(),
        deadline: deadline.map(|d| tokio::time::sleep_until(d.into())),
        call: Some(call),
    };
    let body = Body::new(StreamBody::new(source, limits.max_send_message_length, compression));
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    *headers = initial.into_headers();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    headers.insert(&GRPC_ACCEPT_ENCODING, http::HeaderValue::from_static(Compression::ACCEPT_ENCODING));
    if let Some(compression) = compression {
        headers.insert(&GRPC_ENCODING, http::HeaderValue::from_static(compression.as_str()));
    }
    response
}

/// The response of a call that answered with one message and no compression, encoded at once
/// (see `UnaryBody`). It ends the call: handler-spawned work sees it over from here.
fn unary_response<M: prost::Message>(
    message: &M,
    call: CancelOnDrop,
    env: &CallEnv,
    deadline: Option<Instant>,
) -> http::Response<Body> {
    let context = call.context();
    let initial = context.take_initial_metadata();
    let trailing = context.take_trailing_metadata();
    // The same checks the streaming path makes before each message.
    let checked = if env.shared.stop.is_stopped() {
        Err(RpcError::unavailable("the server is shutting down"))
    } else if deadline.is_some_and(|d| d <= Instant::now()) {
        Err(RpcError::deadline_exceeded("deadline exceeded"))
    } else {
        UnaryBody::encode(message, env.shared.limits.max_send_message_length)
    };
    drop(call);
    let body = match checked {
        Ok(body) => body.with_trailing(trailing),
        Err(mut err) => {
            err.metadata_mut().extend(trailing);
            return error_response(err, initial);
        }
    };
    let mut response = http::Response::new(Body::new(body));
    let headers = response.headers_mut();
    *headers = initial.into_headers();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    headers.insert(&GRPC_ACCEPT_ENCODING, http::HeaderValue::from_static(Compression::ACCEPT_ENCODING));
    response
}

pin_project_lite::pin_project! {
    /// The response messages on their way out, ended early by the deadline or a server stop,
    /// and closed with the trailing metadata the handler set.
    ///
    /// The stop and deadline futures are pinned in place (tonic boxes the whole body anyway)
    /// rather than boxed each, and only polled when the stream has nothing ready: polling the
    /// stop future for every message of a fast stream was 8% of the server's instructions per
    /// 1 KiB message. A stream that always has a message ready is checked with the stop
    /// signal's flag and a clock read instead.
    pub(crate) struct ResponseBody<M> {
        stream: ResponseStream<M>,
        shared: Arc<Shared>,
        #[pin]
        stop: WaitForCancellationFutureOwned,
        #[pin]
        deadline: Option<tokio::time::Sleep>,
        // The call, until it is over; `None` once finished.
        call: Option<CancelOnDrop>,
    }
}

impl<M> ResponseBody<M> {
    /// Ends the call: the final status, with the trailing metadata the handler set; `None` for
    /// an OK status without metadata (or when the call has already ended).
    fn finish(call: &mut Option<CancelOnDrop>, err: Option<RpcError>) -> Option<tonic::Status> {
        let call = call.take()?;
        let trailing = call.context().take_trailing_metadata();
        // The call is over either way; dropping `call` lets handler-spawned work see it.
        drop(call);
        match err {
            Some(mut err) => {
                err.metadata_mut().extend(trailing);
                Some(err.into_tonic())
            }
            // An OK status with metadata: the encoder writes it as the trailers.
            None if !trailing.is_empty() => {
                Some(tonic::Status::with_metadata(tonic::Code::Ok, "", trailing.into_tonic()))
            }
            None => None,
        }
    }

    /// Ends the call with `err` (a message the encoder could not send) and gives the status.
    pub(crate) fn fail(self: Pin<&mut Self>, err: RpcError) -> Option<tonic::Status> {
        Self::finish(self.project().call, Some(err))
    }
}

impl<M> Stream for ResponseBody<M> {
    type Item = Result<M, tonic::Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if this.call.is_none() {
            return Poll::Ready(None);
        }
        match Pin::new(this.stream).poll_next(cx) {
            Poll::Ready(Some(Ok(message))) => {
                if this.shared.stop.is_stopped() {
                    return Poll::Ready(
                        Self::finish(this.call, Some(RpcError::unavailable("the server is shutting down"))).map(Err),
                    );
                }
                let expired =
                    this.deadline.as_ref().as_pin_ref().is_some_and(|d| d.deadline() <= tokio::time::Instant::now());
                if expired {
                    return Poll::Ready(
                        Self::finish(this.call, Some(RpcError::deadline_exceeded("deadline exceeded"))).map(Err),
                    );
                }
                Poll::Ready(Some(Ok(message)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Self::finish(this.call, Some(err)).map(Err)),
            Poll::Ready(None) => Poll::Ready(Self::finish(this.call, None).map(Err)),
            Poll::Pending => {
                if this.stop.poll(cx).is_ready() {
                    return Poll::Ready(
                        Self::finish(this.call, Some(RpcError::unavailable("the server is shutting down"))).map(Err),
                    );
                }
                if let Some(deadline) = this.deadline.as_mut().as_pin_mut()
                    && deadline.poll(cx).is_ready()
                {
                    return Poll::Ready(
                        Self::finish(this.call, Some(RpcError::deadline_exceeded("deadline exceeded"))).map(Err),
                    );
                }
                Poll::Pending
            }
        }
    }
}
