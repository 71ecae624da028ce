//! The fallback handler: what serves a method no service has (a proxy's catch-all), with the
//! request and response messages as bytes. Without one, such methods answer UNIMPLEMENTED.
//!
//! It runs as a method's handler does (`dispatch.rs`: deadline, stop, the server's
//! interceptors, panics), on `Encoded` messages that it hands over as [`Bytes`].

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;

use crate::observe::Tally;
use crate::server::dispatch;
use crate::server::env::CallEnv;
use crate::server::service::Handler;
use crate::server::stream::Unread;
use crate::wire::codec::Encoded;
use crate::wire::compress::Compression;
use crate::wire::deframe::MessageStream;
use crate::wire::limits::Limit;
use crate::wire::status;
use crate::{RequestStream, ResponseStream, Result, ServicerContext};

/// A server's fallback handler, type-erased as every method's handler is.
#[derive(Clone)]
pub(crate) struct Fallback(pub(crate) Handler);

impl std::fmt::Debug for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fallback")
    }
}

impl Fallback {
    /// Erases `handler`: the request stream is read as bytes, the response messages are sent
    /// as they are.
    pub(crate) fn new<F, Fut>(handler: F) -> Fallback
    where
        F: Fn(RequestStream<Bytes>, ServicerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResponseStream<Bytes>>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |body: Incoming, context, env: CallEnv| {
            let handler = handler.clone();
            let run = move |mut requests: RequestStream<Encoded>, context| {
                // Nothing has read the body yet: the handler gets it whole, as bytes.
                let requests = match requests.take_unread() {
                    Some(unread) => RequestStream::new(Unread {
                        body: unread.body,
                        encoding: unread.encoding,
                        limit: unread.limit,
                        tally: unread.tally,
                        decoding: raw_decoding,
                    }),
                    None => RequestStream::ended(),
                };
                let response = handler(requests, context);
                async move { response.await.map(encoded) }
            };
            match env.interceptors.clone() {
                None => Box::pin(dispatch::serve(body, context, env, run)),
                Some(chain) => {
                    // Interceptors that aggregate by method (metrics) must not take a path any
                    // client can make up as a name of its own.
                    context.insert_extension(Unregistered);
                    Box::pin(dispatch::serve_intercepted(body, context, env, chain, run))
                }
            }
        });
        Fallback(erased)
    }
}

/// Marks a call the fallback handler serves: its method is none the server registered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unregistered;

/// The request body's messages as bytes.
fn raw_decoding(
    body: Incoming,
    encoding: Option<Compression>,
    limit: usize,
    tally: Option<Arc<Tally>>,
) -> MessageStream<Incoming, Bytes> {
    MessageStream::raw(body, limit, encoding, Limit::SERVER_RECEIVE, |err| status::from_hyper(&err), tally)
}

/// The handler's response messages, to be sent as they are; one message stays one (the unary
/// answer's path).
fn encoded(mut responses: ResponseStream<Bytes>) -> ResponseStream<Encoded> {
    if let Some(message) = responses.take_once() {
        return ResponseStream::once(Encoded(message));
    }
    ResponseStream::new(tokio_stream::StreamExt::map(responses, |message| message.map(Encoded)))
}
