//! Blocking calls, for code without async: scripts, CLIs, sync codebases (Python's default API).
//!
//! Every call here runs on one shared Tokio runtime that this module makes on first use: a
//! current-thread runtime driven by a background thread named `rust-rpc-blocking`, which
//! drives the connections' I/O and timers and lives as long as the process. The calling thread
//! itself polls its call (`Handle::block_on`), so calls from many threads run side by side.
//! Request iterators are read on the runtime's blocking pool, so one that blocks (reading
//! stdin, say) stalls only its own call.
//!
//! Called from inside a Tokio runtime (an async task, or `spawn_blocking`), a blocking call
//! would hold one of that runtime's threads, and deadlock if that thread is the one serving the
//! call (a server on a `#[tokio::test]` runtime, say). So it does not start: it fails at once
//! with FAILED_PRECONDITION, saying to use the async client there.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::runtime::Handle;

use crate::client::background::runtime;
use crate::client::call::{Call, Many, Single};
use crate::{Metadata, Response, Result, RpcError, Streaming};

/// How many request messages a request iterator may run ahead of the call sending them.
const REQUEST_BUFFER: usize = 16;

/// The error of a blocking call made inside a Tokio runtime.
const INSIDE_RUNTIME: &str = "a blocking call cannot run inside a Tokio runtime (it would block the runtime's \
     thread, and deadlock if that thread serves the call): use the async client and .await there, or make \
     the call from a thread the runtime does not own (std::thread::spawn)";

/// Runs `future` to completion on the shared runtime, blocking the calling thread.
///
/// For anything async this crate offers without a blocking form, such as
/// [`Channel::ready`](crate::Channel::ready). Fails with FAILED_PRECONDITION, without running
/// `future`, when called inside a Tokio runtime.
///
/// ```no_run
/// let channel = rust_rpc::insecure_channel("localhost:50051")?;
/// rust_rpc::blocking::block_on(channel.ready(std::time::Duration::from_secs(5)))??;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if Handle::try_current().is_ok() {
        return Err(RpcError::failed_precondition(INSIDE_RUNTIME));
    }
    Ok(runtime()?.block_on(future))
}

/// Makes a single-response call (unary or client-streaming) and waits for its message: the
/// blocking form of `call.await`, with every option the call builder set.
///
/// ```no_run
/// # fn demo(call: rust_rpc::UnaryCall<(), ()>) -> rust_rpc::Result<()> {
/// let reply = rust_rpc::blocking::call(call.timeout(std::time::Duration::from_secs(1)))?;
/// # Ok(()) }
/// ```
pub fn call<Req, Resp, S>(call: Call<S, Single<Resp>>) -> Result<Resp>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    // The call's future is made inside the runtime: its deadline timer needs one.
    block_on(async move { call.await })?
}

/// [`call`], also giving the response metadata (Python's `with_call`).
pub fn with_call<Req, Resp, S>(call: Call<S, Single<Resp>>) -> Result<Response<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    block_on(async move { call.with_call().await })?
}

/// Starts a streaming-response call (server-streaming or bidi) and gives its messages as an
/// iterator.
pub fn stream<Req, Resp, S>(call: Call<S, Many<Resp>>) -> Result<Responses<Resp>>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    // Started inside the runtime, like `call`.
    let streaming = block_on(async move { call.await })??;
    Ok(Responses { streaming: Some(streaming), done: false })
}

/// The request messages of a blocking client-streaming or bidi call, read from an iterator.
///
/// The iterator runs on a thread of the shared runtime's blocking pool, at most a few messages
/// ahead of the call, and is dropped when the call ends. Made by [`requests`].
pub struct Requests<M> {
    receiver: tokio::sync::mpsc::Receiver<M>,
}

/// Sends every item of `requests` as a request message; blocking clients call this on the
/// iterator a client-streaming or bidi method takes.
///
/// ```
/// let requests = rust_rpc::blocking::requests(vec![1u32, 2, 3]);
/// # let _ = requests;
/// ```
pub fn requests<I>(requests: I) -> Requests<I::Item>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    let (sender, receiver) = tokio::sync::mpsc::channel(REQUEST_BUFFER);
    let mut iter = requests.into_iter();
    let pump = move || {
        for message in iter.by_ref() {
            // Fails once the call has ended and dropped the receiver.
            if sender.blocking_send(message).is_err() {
                break;
            }
        }
    };
    match runtime() {
        Ok(handle) => drop(handle.spawn_blocking(pump)),
        // No runtime: the call fails the same way before it reads any request.
        Err(_) => drop(pump),
    }
    Requests { receiver }
}

impl<M> Stream for Requests<M> {
    type Item = M;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<M>> {
        self.receiver.poll_recv(cx)
    }
}

impl<M> std::fmt::Debug for Requests<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests").finish_non_exhaustive()
    }
}

/// The messages of a streaming response, as a blocking [`Iterator`] of `Result<M, RpcError>`:
/// messages, then at most one error. Dropping it before the end cancels the call.
///
/// ```no_run
/// # fn demo(responses: rust_rpc::blocking::Responses<()>) -> rust_rpc::Result<()> {
/// for message in responses {
///     let message = message?;
/// }
/// # Ok(()) }
/// ```
pub struct Responses<M> {
    /// `None` only while dropping.
    streaming: Option<Streaming<M>>,
    /// An error was given: the iterator ends even if the stream could not say so.
    done: bool,
}

impl<M: prost::Message + Default + Send + 'static> Responses<M> {
    /// The response headers, waiting for them if they have not arrived.
    pub fn initial_metadata(&mut self) -> Result<Metadata> {
        let Some(streaming) = self.streaming.as_mut() else {
            return Ok(Metadata::new());
        };
        block_on(async move { streaming.initial_metadata().await.cloned() })?
    }

    /// The trailers, once the iterator has ended without an error.
    pub fn trailing_metadata(&self) -> Option<&Metadata> {
        self.streaming.as_ref().and_then(Streaming::trailing_metadata)
    }
}

impl<M: prost::Message + Default + Send + 'static> Iterator for Responses<M> {
    type Item = Result<M>;

    fn next(&mut self) -> Option<Result<M>> {
        let streaming = self.streaming.as_mut().filter(|_| !self.done)?;
        match block_on(streaming.message()).and_then(|next| next) {
            Ok(Some(message)) => Some(Ok(message)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

impl<M> Drop for Responses<M> {
    fn drop(&mut self) {
        // Inside the runtime: ending the call early tells the connection task.
        let _guard = runtime().ok().map(Handle::enter);
        drop(self.streaming.take());
    }
}

impl<M> std::fmt::Debug for Responses<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responses").field("done", &self.done).finish_non_exhaustive()
    }
}
