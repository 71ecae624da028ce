//! One call on the server: run the handler under the deadline and the server's stop, then
//! answer with its message (`unary_body.rs`), its stream (`stream_body.rs`) or its error.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use hyper::body::Incoming;

use crate::server::context::CancelOnDrop;
use crate::server::env::CallEnv;
use crate::server::interceptor::{Chain, Completion};
use crate::server::panic::handler_panicked;
use crate::server::response::{Body, error_response, grpc_response};
use crate::server::stream::Unread;
use crate::server::stream_body::StreamBody;
use crate::server::unary_body::UnaryBody;
use crate::{Metadata, RequestStream, ResponseStream, Result, RpcError, ServicerContext};

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Awaits `work` (the handler, or the interceptors and then the handler) until it finishes, the
/// deadline passes or the server stops. A panic in it fails the call, not the server. A macro,
/// so the work's future is built where it is awaited instead of being moved into a function's.
macro_rules! run {
    ($env:expr, $deadline:expr, $work:expr) => {{
        let work = AssertUnwindSafe($work).catch_unwind();
        tokio::select! {
            biased;
            _ = $env.shared.stop.stopped() => Err(RpcError::unavailable("the server is shutting down")),
            _ = sleep_until($deadline) => Err(RpcError::deadline_exceeded("deadline exceeded")),
            result = work => result.unwrap_or_else(|payload| Err(handler_panicked(&*payload))),
        }
    }};
}

/// Runs one call of any kind on a method without interceptors: `handler` gets the decoded
/// request stream and gives the response stream (unary kinds wrap their single message).
///
/// The intercepted path is a function of its own ([`serve_intercepted`]), boxed on its own by
/// the service: what it keeps across its awaits would make this future, one per call, larger
/// (past the allocator's small-size cache, which showed as `malloc_consolidate` per call).
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
    let limit = env.shared.limits.max_receive_message_length;
    let requests = RequestStream::new(Unread::new(body, env.request_encoding, limit, None));
    // Fires the context's cancellation when the call ends, or when hyper drops this future
    // because the client reset the stream.
    let call = context.cancel_on_drop();
    let deadline = context.deadline();
    // In place, not through a function: passing the handler's future to one moved it, a copy
    // per call that showed in the server's instructions (BENCHMARKS.md).
    let outcome = run!(&env, deadline, handler(requests, context));
    respond(outcome, call, &env, deadline, None)
}

/// [`serve`] on a method with interceptors: they run first, under the same deadline and stop
/// as the handler, and hear how the call ends.
pub(crate) async fn serve_intercepted<Req, Resp, H, Fut>(
    body: Incoming,
    context: ServicerContext,
    env: CallEnv,
    chain: Chain,
    handler: H,
) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + Sync + 'static,
    Resp: prost::Message + Send + Sync + 'static,
    H: FnOnce(RequestStream<Req>, ServicerContext) -> Fut,
    Fut: Future<Output = Result<ResponseStream<Resp>>> + Send,
{
    let limit = env.shared.limits.max_receive_message_length;
    let mut completion = Completion::new(chain, context.clone());
    let tally = Some(completion.tally().clone());
    let requests = RequestStream::new(Unread::new(body, env.request_encoding, limit, tally));
    let call = context.cancel_on_drop();
    let deadline = context.deadline();
    let outcome = run!(&env, deadline, async {
        completion.intercept().await?;
        // The handler (and the request stream it reads) runs in the span an interceptor opened
        // for the call, so what it logs nests under it.
        #[cfg(feature = "tracing")]
        if let Some(span) = completion.span().cloned() {
            return tracing::Instrument::instrument(handler(requests, context), span).await;
        }
        handler(requests, context).await
    });
    respond(outcome, call, &env, deadline, Some(completion))
}

/// Whether a call that failed was cut short (cancelled) by the server's stop or its deadline,
/// rather than failed by its handler.
fn cut_short(env: &CallEnv, deadline: Option<Instant>) -> bool {
    env.shared.stop.is_stopped() || deadline.is_some_and(|d| d <= Instant::now())
}

/// The answer to a call whose handler gave `outcome`: a trailers-only error, one message
/// encoded at once, or a stream. `completion`, if the method has interceptors, hears the end.
fn respond<Resp>(
    outcome: Result<ResponseStream<Resp>>,
    call: CancelOnDrop,
    env: &CallEnv,
    deadline: Option<Instant>,
    completion: Option<Completion>,
) -> http::Response<Body>
where
    Resp: prost::Message + Send + Sync + 'static,
{
    let context = call.context();
    let mut stream = match outcome {
        Ok(stream) => stream,
        Err(mut err) => {
            err.metadata_mut().extend(context.take_trailing_metadata());
            if let Some(completion) = completion {
                completion.report(Some(&err), &Metadata::new());
            }
            let initial = context.take_initial_metadata();
            call.end(cut_short(env, deadline));
            return error_response(err, initial);
        }
    };
    let compression = context.compression().filter(|c| env.accepted.has(*c));
    if compression.is_none()
        && let Some(message) = stream.take_once()
    {
        return unary_response(&message, call, env, deadline, completion);
    }
    let initial = context.take_initial_metadata();
    let body = StreamBody::new(stream, call, env.shared.clone(), deadline, compression, completion);
    grpc_response(Body::Stream(Box::pin(body)), initial, compression)
}

/// The response of a call that answered with one message and no compression, encoded at once
/// (see `UnaryBody`). It ends the call: handler-spawned work sees it over from here.
fn unary_response<M: prost::Message>(
    message: &M,
    call: CancelOnDrop,
    env: &CallEnv,
    deadline: Option<Instant>,
    completion: Option<Completion>,
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
    call.end(checked.is_err() && cut_short(env, deadline));
    match checked {
        Ok(body) => {
            if let Some(completion) = completion {
                let message = body.message();
                completion.tally().sent(message, message.len());
                completion.report(None, &trailing);
            }
            grpc_response(Body::Unary(Box::new(body.with_trailing(trailing))), initial, None)
        }
        Err(mut err) => {
            err.metadata_mut().extend(trailing);
            if let Some(completion) = completion {
                completion.report(Some(&err), &Metadata::new());
            }
            error_response(err, initial)
        }
    }
}
