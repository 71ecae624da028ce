//! Write coalescing for connection tasks: let the tasks that just woke a connection finish
//! queueing their frames before the connection writes them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// Runs `inner`, but each time the task is woken it first goes to the back of the
    /// scheduler's queue once, and only then polls `inner`.
    ///
    /// Why: an HTTP/2 connection task is woken by every call that queues a frame. Tokio runs a
    /// freshly woken task next (its LIFO slot), so the connection ran after each call and wrote
    /// that one call's frames: one `writev` per call under load, which was most of the CPU.
    /// Yielding once lets the other ready calls queue their frames first (their wake-ups find
    /// the task already scheduled), and the connection then writes them all in one `writev`.
    /// With nothing else ready the task is polled again at once; with a single call open
    /// (see [`OpenCalls`]) it does not yield at all.
    ///
    /// Used for client and server connections. On the server it was once left out: it batched
    /// so well that the two ends took turns (100 requests read at once became 100 responses in
    /// one `writev`, and a client that also batched then sent the next 100 only after reading
    /// them all). Since each call costs the client far less, batching on the server wins
    /// instead: more calls per second at 1 x 100 and 50 x 10, and far fewer `writev` calls per
    /// call (BENCHMARKS.md, gain 1, has the figures). A lone call (1 x 1) is unchanged: one
    /// `writev` each, no yield. Since then, a server's calls that answer at once run in the
    /// connection's own task (`server/inline.rs`) and are written in that same poll; on the
    /// server the yield is now for the calls in tasks of their own (streams, calls that wait).
    pub(crate) struct Coalesce<F> {
        #[pin]
        inner: F,
        calls: OpenCalls,
        yielded: bool,
    }
}

impl<F> Coalesce<F> {
    /// `inner`, yielding once per wake-up while `calls` counts more than one open call.
    pub(crate) fn new(inner: F, calls: OpenCalls) -> Self {
        Coalesce { inner, calls, yielded: false }
    }
}

/// The calls open on one connection. With one call there is nothing to batch, and the yield
/// would only add a trip through the scheduler to its latency (measurable at 1 x 1).
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenCalls(Arc<AtomicUsize>);

impl OpenCalls {
    /// Counts a call as open until the returned guard is dropped.
    pub(crate) fn open(&self) -> OpenCall {
        self.0.fetch_add(1, Ordering::Relaxed);
        OpenCall(self.0.clone())
    }

    /// How many calls are open.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn several(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 1
    }
}

/// One open call; see [`OpenCalls::open`].
#[derive(Debug)]
pub(crate) struct OpenCall(Arc<AtomicUsize>);

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<F: Future> Future for Coalesce<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.yielded && this.calls.several() {
            *this.yielded = true;
            // Waking ourselves while running reschedules this task behind those already queued.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        *this.yielded = false;
        this.inner.poll(cx)
    }
}
