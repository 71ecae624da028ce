//! The server's stop, as its listeners, connections and calls see it, and as `Server::stop`'s
//! caller awaits it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

/// The stages of a server's stop, and the tasks it waits for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shutdown {
    /// Stop accepting and drain: connections are told GOAWAY, in-flight calls go on.
    pub(crate) draining: CancellationToken,
    /// The grace period is over: in-flight calls end with UNAVAILABLE and connections close.
    pub(crate) stopped: StopSignal,
    /// Everything has ended.
    pub(crate) terminated: CancellationToken,
    /// The listener and connection tasks.
    pub(crate) tasks: TaskTracker,
}

/// Fires when the server's grace period is over: every call still running ends with UNAVAILABLE.
///
/// A `CancellationToken` for waiting, with its state also kept in an atomic flag for checking:
/// a streaming call checks before each message it sends, and the token's `is_cancelled` takes a
/// mutex, a measurable share of the server's instructions per streamed message (BENCHMARKS.md,
/// gain 11).
#[derive(Clone, Debug, Default)]
pub(crate) struct StopSignal {
    token: CancellationToken,
    stopped: Arc<AtomicBool>,
}

impl StopSignal {
    /// Fires the signal; waking the waiters comes after the flag is set.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Resolves once the signal fires.
    pub(crate) fn stopped(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// [`StopSignal::stopped`], owning what it needs.
    pub(crate) fn stopped_owned(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }
}

/// A server's stop, started by [`Server::stop`](crate::Server::stop): await it to wait until
/// the server has terminated, or drop it: the stop goes on either way.
#[must_use = "the stop has started; await this to wait until the server has terminated"]
pub struct Stop {
    terminated: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl Stop {
    pub(crate) fn new(terminated: &CancellationToken) -> Stop {
        Stop { terminated: Box::pin(terminated.clone().cancelled_owned()) }
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.terminated.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop").finish_non_exhaustive()
    }
}
