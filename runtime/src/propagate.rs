//! Deadline and cancellation propagation: a call made while serving another inherits the
//! incoming call's deadline and ends when it ends (grpc-go does this through its `context`,
//! grpc-java through its `Context`, gRPC core with a server call's propagation mask).
//!
//! The joining piece of the two sides: a [`Propagation`] is made from a server's
//! [`ServicerContext`] and given to a client call ([`Call::propagate`](crate::Call::propagate)
//! or [`CallOptions::propagate`](crate::CallOptions::propagate)); `client/` reads only what is
//! here, never `server/`.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::ServicerContext;

/// What an outgoing call inherits from the call being served: its deadline and its end.
///
/// Made from the incoming call's [`ServicerContext`]; handed to an outgoing call with
/// [`Call::propagate`](crate::Call::propagate) or
/// [`CallOptions::propagate`](crate::CallOptions::propagate). The outgoing call then
///
/// - has the earlier of its own deadline and the incoming call's (so the next server hears it
///   in `grpc-timeout`), failing with DEADLINE_EXCEEDED when it passes;
/// - is cancelled (CANCELLED, and the next server is told with `RST_STREAM`) when the incoming
///   call ends before it: the client cancelled or went away, the server stopped, or the
///   handler finished without waiting for it.
///
/// It holds a clone of the context, so keep it only as long as the calls it is for.
///
/// ```no_run
/// use rust_rpc::bytes::Bytes;
/// use rust_rpc::{GenericClient, Result, ServicerContext};
///
/// // A proxy's handler calling on to the backend: the client's deadline and cancellation go
/// // along (a generated stub's call takes `.propagate(context)` the same way).
/// async fn forward(backend: &GenericClient<rust_rpc::BytesCodec>, request: Bytes, context: &ServicerContext) -> Result<Bytes> {
///     backend.unary(context.method().to_owned(), request).propagate(context).await
/// }
/// ```
#[derive(Clone)]
pub struct Propagation {
    context: ServicerContext,
}

impl Propagation {
    /// The deadline an outgoing call inherits: the incoming call's, if its client set one.
    pub fn deadline(&self) -> Option<Instant> {
        self.context.deadline()
    }

    /// A signal that resolves when the incoming call ends before the outgoing one, joined with
    /// `own`, the outgoing call's own signal (`Call::cancel_on`). An incoming call ended by
    /// its deadline does not resolve it: the outgoing call's deadline (no later) passes then
    /// too, and it fails with DEADLINE_EXCEEDED as grpc-go's child calls do.
    pub(crate) fn cancel_signal(
        &self,
        own: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let context = self.context.clone();
        let ended = async move {
            context.cancelled().await;
            if context.deadline().is_some_and(|deadline| Instant::now() >= deadline) {
                std::future::pending::<()>().await;
            }
        };
        match own {
            None => Box::pin(ended),
            Some(own) => Box::pin(async move {
                futures_util::future::select(Box::pin(ended), own).await;
            }),
        }
    }
}

impl From<&ServicerContext> for Propagation {
    fn from(context: &ServicerContext) -> Self {
        Propagation { context: context.clone() }
    }
}

impl From<ServicerContext> for Propagation {
    fn from(context: ServicerContext) -> Self {
        Propagation { context }
    }
}

impl std::fmt::Debug for Propagation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Propagation")
            .field("method", &self.context.method())
            .field("deadline", &self.context.deadline())
            .finish()
    }
}
