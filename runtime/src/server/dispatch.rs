//! One call on the server: run the handler under the deadline and the server's stop, then
//! answer with its message (`unary_body.rs`), its stream (`stream_body.rs`) or its error.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use hyper::body::Incoming;

use crate::server::context::CancelOnDrop;
use crate::server::env::CallEnv;
use crate::server::panic::handler_panicked;
use crate::server::response::{Body, error_response, grpc_response};
use crate::server::stream::Unread;
use crate::server::stream_body::StreamBody;
use crate::server::unary_body::UnaryBody;
use crate::{RequestStream, ResponseStream, Result, RpcError, ServicerContext};

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
    let limit = env.shared.limits.max_receive_message_length;
    let requests = RequestStream::new(Unread::new(body, env.request_encoding, limit));
    // Fires the context's cancellation when the call ends, or when hyper drops this future
    // because the client reset the stream.
    let call = context.cancel_on_drop();
    let deadline = context.deadline();
    let work = AssertUnwindSafe(handler(requests, context)).catch_unwind();
    let outcome = tokio::select! {
        biased;
        _ = env.shared.stop.stopped() => Err(RpcError::unavailable("the server is shutting down")),
        _ = sleep_until(deadline) => Err(RpcError::deadline_exceeded("deadline exceeded")),
        result = work => result.unwrap_or_else(|payload| Err(handler_panicked(&*payload))),
    };
    let context = call.context();
    let mut stream = match outcome {
        Ok(stream) => stream,
        Err(mut err) => {
            err.metadata_mut().extend(context.take_trailing_metadata());
            return error_response(err, context.take_initial_metadata());
        }
    };
    let compression = context.compression().filter(|c| env.accepted.has(*c));
    if compression.is_none()
        && let Some(message) = stream.take_once()
    {
        return unary_response(&message, call, &env, deadline);
    }
    let initial = context.take_initial_metadata();
    let body = StreamBody::new(stream, call, env.shared.clone(), deadline, compression);
    grpc_response(Body::Stream(Box::pin(body)), initial, compression)
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
    match checked {
        Ok(body) => grpc_response(Body::Unary(Box::new(body.with_trailing(trailing))), initial, None),
        Err(mut err) => {
            err.metadata_mut().extend(trailing);
            error_response(err, initial)
        }
    }
}
