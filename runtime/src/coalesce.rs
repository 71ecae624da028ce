//! Write coalescing for connection tasks: let the tasks that just woke a connection finish
//! queueing their frames before the connection writes them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// Runs `inner`, but each time the task is woken it first goes to the back of the
    /// scheduler's queue once, and only then polls `inner`.
    ///
    /// Why: an HTTP/2 connection task is woken by every call that queues a frame (a response on
    /// the server, a request on the client). Tokio runs a freshly woken task next (its LIFO
    /// slot), so the connection ran after each call and wrote that one call's frames: one
    /// `writev` per call under load, which was most of the CPU. Yielding once lets the other
    /// ready calls queue their frames first (their wake-ups find the task already scheduled),
    /// and the connection then writes them all in one `writev`. With nothing else ready the
    /// task is polled again at once, so a lone call waits only for one trip through the
    /// scheduler.
    ///
    /// Used for client connections only. On the server it batched too well: 100 requests read
    /// at once became 100 responses in one `writev`, so the client only started on the next
    /// round once the server had finished the whole batch, and the two ends stopped working in
    /// parallel. rust-rpc against itself at 1 connection x 100 calls fell to 43-47k calls/s,
    /// against 56-68k with responses written as they are ready (h2load's 50x10, where only the
    /// server works, did gain: about 78k calls/s against 65k).
    pub(crate) struct Coalesce<F> {
        #[pin]
        inner: F,
        yielded: bool,
    }
}

impl<F> Coalesce<F> {
    pub(crate) fn new(inner: F) -> Self {
        Coalesce { inner, yielded: false }
    }
}

impl<F: Future> Future for Coalesce<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.yielded {
            *this.yielded = true;
            // Waking ourselves while running reschedules this task behind those already queued.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        *this.yielded = false;
        this.inner.poll(cx)
    }
}
