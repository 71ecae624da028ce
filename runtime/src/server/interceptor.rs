//! Server interceptors: code that runs around every call of a server, or of one service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::observe::{MessageEvent, Observer, Tally};
use crate::outcome::CallOutcome;
use crate::{Code, Metadata, Result, RpcError, ServicerContext};

/// Code that runs around calls on the server: authentication, logging, metrics, request ids,
/// rate limits.
///
/// [`intercept`](Self::intercept) runs before the handler, with the call's context (method,
/// request metadata, peer, deadline). It can attach values for the handler
/// ([`ServicerContext::insert_extension`]), set response metadata, or fail the call: the handler
/// then never runs and the client gets the error. It runs under the call's deadline and the
/// server's stop, like the handler. [`completed`](Self::completed) runs once the call has ended,
/// with its status and duration (CANCELLED when the client went away before an answer,
/// DEADLINE_EXCEEDED when that was because its deadline passed).
///
/// Order: the server's interceptors ([`ServerBuilder::interceptor`](crate::ServerBuilder::interceptor)),
/// in the order they were added, then the service's
/// ([`ServiceDefinition::with_interceptor`](crate::ServiceDefinition::with_interceptor)); the first
/// to fail ends the call. `completed` runs in the reverse order, for every interceptor whose
/// `intercept` ran. A panic in either is caught: the call fails with UNKNOWN, the server goes on.
///
/// An interceptor that wants to see each message says so with
/// [`observes_messages`](Self::observes_messages) (asked once, when the server is built); it
/// then gets [`message`](Self::message) for every request and response message of its calls.
/// Calls whose interceptors all decline pay nothing per message beyond a count
/// ([`CallOutcome::messages_sent`] and friends).
///
/// A server without interceptors runs none of this machinery: its calls cost what they did.
///
/// ```
/// use rust_rpc::{Result, RpcError, ServerInterceptor, ServicerContext};
///
/// /// Lets through only calls that carry `authorization: Bearer <token>`.
/// struct BearerToken(String);
///
/// #[derive(Clone)]
/// struct Authenticated;
///
/// impl ServerInterceptor for BearerToken {
///     async fn intercept(&self, context: &ServicerContext) -> Result<()> {
///         let expected = format!("Bearer {}", self.0);
///         match context.invocation_metadata().get("authorization") {
///             Some(token) if token == expected => {
///                 context.insert_extension(Authenticated);
///                 Ok(())
///             }
///             _ => Err(RpcError::unauthenticated("a valid bearer token is required")),
///         }
///     }
/// }
///
/// let server = rust_rpc::Server::builder().interceptor(BearerToken("s3cret".into())).build();
/// ```
pub trait ServerInterceptor: Send + Sync + 'static {
    /// Runs before the handler; an error fails the call without running it.
    fn intercept(&self, context: &ServicerContext) -> impl Future<Output = Result<()>> + Send {
        let _ = context;
        std::future::ready(Ok(()))
    }

    /// Runs once the call has ended.
    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        let _ = (context, outcome);
    }

    /// Whether [`message`](Self::message) should run for each message; asked once per chain,
    /// when the server is built. `false` unless overridden.
    fn observes_messages(&self) -> bool {
        false
    }

    /// Runs for each message of the call, request or response, once it is read whole or
    /// encoded for sending, if [`observes_messages`](Self::observes_messages) said so. It runs
    /// on the call's I/O path: keep it short. A panic in it is caught and ignored.
    fn message(&self, context: &ServicerContext, event: &MessageEvent<'_>) {
        let _ = (context, event);
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`ServerInterceptor`] with its future boxed, so interceptors of different types can chain.
pub(crate) trait DynServerInterceptor: Send + Sync + 'static {
    fn intercept<'a>(&'a self, context: &'a ServicerContext) -> BoxFuture<'a, Result<()>>;
    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>);
    fn observes_messages(&self) -> bool;
    fn message(&self, context: &ServicerContext, event: &MessageEvent<'_>);
}

impl<T: ServerInterceptor> DynServerInterceptor for T {
    fn intercept<'a>(&'a self, context: &'a ServicerContext) -> BoxFuture<'a, Result<()>> {
        Box::pin(ServerInterceptor::intercept(self, context))
    }

    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        ServerInterceptor::completed(self, context, outcome);
    }

    fn observes_messages(&self) -> bool {
        ServerInterceptor::observes_messages(self)
    }

    fn message(&self, context: &ServicerContext, event: &MessageEvent<'_>) {
        ServerInterceptor::message(self, context, event);
    }
}

/// The interceptors of one method, in order: the server's, then its service's; and those of
/// them that observe messages.
#[derive(Clone)]
pub(crate) struct Chain(Arc<Links>);

struct Links {
    all: Box<[Arc<dyn DynServerInterceptor>]>,
    observers: Box<[Arc<dyn DynServerInterceptor>]>,
}

impl Chain {
    fn new(all: Box<[Arc<dyn DynServerInterceptor>]>) -> Self {
        let observers = all.iter().filter(|interceptor| interceptor.observes_messages()).cloned().collect();
        Chain(Arc::new(Links { all, observers }))
    }

    fn iter(&self) -> std::slice::Iter<'_, Arc<dyn DynServerInterceptor>> {
        self.0.all.iter()
    }

    /// The hook that shows a call's messages to the observers; `None` when there are none.
    fn observer(&self, context: &ServicerContext) -> Option<Observer> {
        if self.0.observers.is_empty() {
            return None;
        }
        let (chain, context) = (self.clone(), context.clone());
        Some(Box::new(move |event| {
            for interceptor in chain.0.observers.iter() {
                interceptor.message(&context, event);
            }
        }))
    }
}

/// Interceptors as a builder or a service holds them, in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(pub(crate) Vec<Arc<dyn DynServerInterceptor>>);

impl Interceptors {
    pub(crate) fn push(&mut self, interceptor: impl ServerInterceptor) {
        self.0.push(Arc::new(interceptor));
    }

    /// The chain of `self` then `then`; `None` when both are empty, so calls skip it all.
    pub(crate) fn chain(&self, then: &Interceptors) -> Option<Chain> {
        if self.0.is_empty() && then.0.is_empty() {
            return None;
        }
        Some(Chain::new(self.0.iter().chain(&then.0).cloned().collect()))
    }
}

impl std::fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} interceptor(s)", self.0.len())
    }
}

/// Tells the interceptors that ran how their call ended, once: with [`Completion::report`], or
/// when dropped unreported (the client reset the stream) as DEADLINE_EXCEEDED past the call's
/// deadline, CANCELLED before it.
pub(crate) struct Completion {
    chain: Chain,
    /// How many interceptors' `intercept` ran: only they hear of the end.
    ran: usize,
    context: ServicerContext,
    started: Instant,
    reported: bool,
    /// The call's message counts, fed by its request decoder and response body.
    tally: Arc<Tally>,
    /// The call's span, if an interceptor opened one: the response stream is polled in it.
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
}

impl Completion {
    /// The completion of a call starting now, whose interceptors are `chain`.
    pub(crate) fn new(chain: Chain, context: ServicerContext) -> Self {
        let tally = Arc::new(Tally::new(chain.observer(&context)));
        Completion {
            chain,
            ran: 0,
            context,
            started: Instant::now(),
            reported: false,
            tally,
            #[cfg(feature = "tracing")]
            span: None,
        }
    }

    /// The call's message counts, for the bodies that carry its messages.
    pub(crate) fn tally(&self) -> &Arc<Tally> {
        &self.tally
    }

    /// The span an interceptor opened for the call, once they have run.
    #[cfg(feature = "tracing")]
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.span.as_ref()
    }

    /// Runs the chain's `intercept`s in order, stopping at the first error.
    pub(crate) async fn intercept(&mut self) -> Result<()> {
        let chain = self.chain.clone();
        for interceptor in chain.iter() {
            self.ran += 1;
            interceptor.intercept(&self.context).await?;
        }
        #[cfg(feature = "tracing")]
        {
            self.span = self.context.call_span();
        }
        Ok(())
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
            target: "",
        };
        for interceptor in self.chain.iter().take(self.ran).rev() {
            // A panicking `completed` must not take the others' report, or the connection, with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                interceptor.completed(&self.context, &outcome);
            }));
        }
    }
}

/// How close to the server's deadline a client's reset is taken to be the client's deadline.
/// The server's deadline is the request's arrival plus the `grpc-timeout` the client computed
/// when it sent the headers, so it falls a little after the client's own; the reset the client
/// sends at its deadline can arrive before the server's timer fires, by up to the headers'
/// latency, which a loaded machine stretches to milliseconds.
const DEADLINE_SKEW: Duration = Duration::from_millis(100);

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.reported {
            // The client reset the stream: because of its deadline (which the server's own
            // timer may not have seen yet), or because it gave up.
            let at_deadline =
                self.context.deadline().is_some_and(|deadline| deadline <= Instant::now() + DEADLINE_SKEW);
            let err = if at_deadline {
                RpcError::deadline_exceeded("deadline exceeded before the server answered")
            } else {
                RpcError::new(Code::Cancelled, "the call ended before the server answered")
            };
            self.tell(Some(&err), &Metadata::new());
        }
    }
}
