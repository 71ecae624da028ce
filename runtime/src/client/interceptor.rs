//! Client interceptors: code that runs around every call made on a channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::client::path::MethodPath;
use crate::observe::{MessageEvent, Observer, Tally};
use crate::outcome::CallOutcome;
use crate::{Code, Compression, Metadata, Result, RpcError};

/// Code that runs around calls on a channel: credentials, request ids, logging, metrics.
///
/// [`intercept`](Self::intercept) runs before the call is sent and can change its request
/// metadata (add a token, a request id) or fail it: nothing is sent, and the caller gets the
/// error. It runs under the call's deadline and cancellation, so one that hangs (a token refresh,
/// say) ends with the call. [`completed`](Self::completed) runs once the call has ended: for a
/// single-response call when its answer is in, for a streaming call when its response stream
/// ends, and with CANCELLED (or DEADLINE_EXCEEDED) when the caller drops it unfinished.
///
/// Order: in the order they were added to the channel
/// ([`ChannelBuilder::interceptor`](crate::ChannelBuilder::interceptor)); the first to fail
/// ends the call; `completed` runs in the reverse order, for each interceptor whose `intercept`
/// ran. An interceptor that wants to see each message says so with
/// [`observes_messages`](Self::observes_messages) (asked once, when the channel is built) and
/// then gets [`message`](Self::message) for every request and response message. A channel
/// without interceptors runs none of this: its calls cost what they did.
///
/// ```
/// use rust_rpc::{ClientCall, ClientInterceptor, Result};
///
/// /// Sends a bearer token with every call.
/// struct BearerToken(String);
///
/// impl ClientInterceptor for BearerToken {
///     async fn intercept(&self, call: &mut ClientCall<'_>) -> Result<()> {
///         call.metadata_mut().insert("authorization", &format!("Bearer {}", self.0))?;
///         Ok(())
///     }
/// }
///
/// let channel = rust_rpc::ChannelBuilder::new("localhost:50051")
///     .interceptor(BearerToken("s3cret".into()))
///     .build()?;
/// # Ok::<(), rust_rpc::Error>(())
/// ```
pub trait ClientInterceptor: Send + Sync + 'static {
    /// Runs before the call is sent; an error fails the call without sending it.
    fn intercept(&self, call: &mut ClientCall<'_>) -> impl Future<Output = Result<()>> + Send {
        let _ = call;
        std::future::ready(Ok(()))
    }

    /// Runs once the call has ended.
    fn completed(&self, method: &str, outcome: &CallOutcome<'_>) {
        let _ = (method, outcome);
    }

    /// Whether [`message`](Self::message) should run for each message; asked once per chain,
    /// when the channel is built (or a call with its own call credentials starts). `false`
    /// unless overridden.
    fn observes_messages(&self) -> bool {
        false
    }

    /// Runs for each message of a call to `method` (`/package.Service/Method`), request or
    /// response, once it is encoded for sending or read whole, if
    /// [`observes_messages`](Self::observes_messages) said so. It runs on the call's I/O path:
    /// keep it short. A panic in it is caught and ignored.
    fn message(&self, method: &str, event: &MessageEvent<'_>) {
        let _ = (method, event);
    }
}

/// A call about to be sent, as a [`ClientInterceptor`] sees it.
#[derive(Debug)]
pub struct ClientCall<'a> {
    method: &'a str,
    metadata: &'a mut Metadata,
    compression: &'a mut Option<Compression>,
    wait_for_ready: &'a mut Option<bool>,
    deadline: Option<Instant>,
    /// The channel's target, as [`ClientCall::target`] gives it.
    target: &'a str,
    /// The call's counts (and, with `tracing`, its span).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) tally: &'a Tally,
}

impl ClientCall<'_> {
    /// The method's path, `/package.Service/Method`.
    pub fn method(&self) -> &str {
        self.method
    }

    /// The request metadata.
    pub fn metadata(&self) -> &Metadata {
        self.metadata
    }

    /// The request metadata, to add to or change.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata
    }

    /// When the call's deadline passes, if it has one. It was fixed when the call started, and
    /// bounds the interceptors too, so it cannot be changed here.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// How the request messages will be compressed; `None` for not at all.
    pub fn compression(&self) -> Option<Compression> {
        *self.compression
    }

    /// Compresses the request messages with `compression`, or not at all with `None`.
    pub fn set_compression(&mut self, compression: Option<Compression>) {
        *self.compression = compression;
    }

    /// Whether the call waits for the channel to be ready instead of failing at once.
    pub fn wait_for_ready(&self) -> bool {
        self.wait_for_ready.unwrap_or(false)
    }

    /// Makes the call wait for the channel to be ready (gRPC's wait-for-ready), or not.
    pub fn set_wait_for_ready(&mut self, wait: bool) {
        *self.wait_for_ready = Some(wait);
    }

    /// The channel's target as a URI: `dns:///host:port` for a channel made for `host:port`,
    /// other forms (`unix:`, `ipv4:`, ...) as given.
    pub fn target(&self) -> &str {
        self.target
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`ClientInterceptor`] with its future boxed, so interceptors of different types can chain.
pub(crate) trait DynClientInterceptor: Send + Sync + 'static {
    fn intercept<'a>(&'a self, call: &'a mut ClientCall<'_>) -> BoxFuture<'a, Result<()>>;
    fn completed(&self, method: &str, outcome: &CallOutcome<'_>);
    fn observes_messages(&self) -> bool;
    fn message(&self, method: &str, event: &MessageEvent<'_>);
}

impl<T: ClientInterceptor> DynClientInterceptor for T {
    fn intercept<'a>(&'a self, call: &'a mut ClientCall<'_>) -> BoxFuture<'a, Result<()>> {
        Box::pin(ClientInterceptor::intercept(self, call))
    }

    fn completed(&self, method: &str, outcome: &CallOutcome<'_>) {
        ClientInterceptor::completed(self, method, outcome);
    }

    fn observes_messages(&self) -> bool {
        ClientInterceptor::observes_messages(self)
    }

    fn message(&self, method: &str, event: &MessageEvent<'_>) {
        ClientInterceptor::message(self, method, event);
    }
}

/// A channel's interceptors, in order; those of them that observe messages; the channel's
/// target.
#[derive(Clone)]
pub(crate) struct Chain(Arc<Links>);

struct Links {
    all: Box<[Arc<dyn DynClientInterceptor>]>,
    observers: Box<[Arc<dyn DynClientInterceptor>]>,
    target: Arc<str>,
}

impl Chain {
    /// The chain of `interceptors` on a channel to `target` (see `Target::canonical`).
    pub(crate) fn new(interceptors: impl IntoIterator<Item = Arc<dyn DynClientInterceptor>>, target: Arc<str>) -> Self {
        let all: Box<[_]> = interceptors.into_iter().collect();
        let observers = all.iter().filter(|interceptor| interceptor.observes_messages()).cloned().collect();
        Chain(Arc::new(Links { all, observers, target }))
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Arc<dyn DynClientInterceptor>> {
        self.0.all.iter()
    }

    pub(crate) fn target(&self) -> &Arc<str> {
        &self.0.target
    }

    /// The hook that shows a call's messages to the observers; `None` when there are none.
    fn observer(&self, method: &MethodPath) -> Option<Observer> {
        if self.0.observers.is_empty() {
            return None;
        }
        let chain = self.clone();
        let method = method.clone();
        Some(Box::new(move |event| {
            for interceptor in chain.0.observers.iter() {
                interceptor.message(method.as_str(), event);
            }
        }))
    }
}

/// Interceptors as a `ChannelBuilder` holds them, in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(pub(crate) Vec<Arc<dyn DynClientInterceptor>>);

impl Interceptors {
    pub(crate) fn push(&mut self, interceptor: impl ClientInterceptor) {
        self.0.push(Arc::new(interceptor));
    }

    /// The chain, on a channel to `target`; `None` when there are none, so calls skip it all.
    pub(crate) fn chain(&self, target: &str) -> Option<Chain> {
        (!self.0.is_empty()).then(|| Chain::new(self.0.iter().cloned(), target.into()))
    }
}

impl std::fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} interceptor(s)", self.0.len())
    }
}

/// One call's run through its chain: `intercept` before it is sent, and one report of its end
/// to those whose `intercept` ran.
pub(crate) struct Completion {
    chain: Chain,
    /// How many `intercept`s ran; shared with the future that runs them (a streaming call's
    /// start), which may finish after this has moved into the response stream.
    ran: Arc<AtomicUsize>,
    method: MethodPath,
    deadline: Option<Instant>,
    started: Instant,
    reported: bool,
    /// The call's message counts, fed by its request body and response decoder.
    tally: Arc<Tally>,
}

impl Completion {
    /// The completion of a call to `method` starting now.
    pub(crate) fn new(chain: Chain, method: MethodPath, deadline: Option<Instant>) -> Self {
        let tally = Arc::new(Tally::new(chain.observer(&method)));
        Completion { chain, ran: Arc::default(), method, deadline, started: Instant::now(), reported: false, tally }
    }

    /// What runs the `intercept`s: owned, so it can go into a future of its own.
    pub(crate) fn interception(&self) -> Interception {
        Interception {
            chain: self.chain.clone(),
            ran: self.ran.clone(),
            method: self.method.clone(),
            deadline: self.deadline,
            tally: self.tally.clone(),
        }
    }

    /// The call's message counts, for the bodies that carry its messages.
    pub(crate) fn tally(&self) -> &Arc<Tally> {
        &self.tally
    }

    /// Reports the call's end: OK with `trailing` metadata, or `error`.
    pub(crate) fn report(mut self, error: Option<&RpcError>, trailing: &Metadata) {
        self.tell(error, trailing);
    }

    fn tell(&mut self, error: Option<&RpcError>, trailing: &Metadata) {
        self.reported = true;
        let outcome = CallOutcome {
            error,
            trailing_metadata: trailing,
            duration: self.started.elapsed(),
            counts: self.tally.counts(),
            tally: &self.tally,
            target: self.chain.target(),
        };
        let ran = self.ran.load(Ordering::Acquire);
        for interceptor in self.chain.iter().take(ran).rev() {
            interceptor.completed(self.method.as_str(), &outcome);
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.reported {
            let err = if self.deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                RpcError::deadline_exceeded("deadline exceeded before the call finished")
            } else {
                RpcError::new(Code::Cancelled, "the call was dropped before it finished")
            };
            self.tell(Some(&err), &Metadata::new());
        }
    }
}

/// Runs a chain's `intercept`s over a call's metadata.
pub(crate) struct Interception {
    chain: Chain,
    ran: Arc<AtomicUsize>,
    method: MethodPath,
    deadline: Option<Instant>,
    tally: Arc<Tally>,
}

impl Interception {
    /// Runs the `intercept`s in order, stopping at the first error. They may change the call's `metadata`, `compression` and `wait_for_ready` (its options',
    /// passed apart because the options know the call credentials, which are an interceptor).
    pub(crate) async fn run(
        self,
        metadata: &mut Metadata,
        compression: &mut Option<Compression>,
        wait_for_ready: &mut Option<bool>,
    ) -> Result<()> {
        let mut call = ClientCall {
            method: self.method.as_str(),
            metadata,
            compression,
            wait_for_ready,
            deadline: self.deadline,
            target: self.chain.target(),
            tally: &self.tally,
        };
        for interceptor in self.chain.iter() {
            self.ran.fetch_add(1, Ordering::AcqRel);
            interceptor.intercept(&mut call).await?;
        }
        Ok(())
    }
}
