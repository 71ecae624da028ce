//! Running a connection's calls in the connection's own task: hyper hands over one future per
//! HTTP/2 stream, which is polled there first, right after the read that brought its request;
//! only a call that has to wait (for I/O, a timer, the rest of its request) becomes a task of
//! its own.
//!
//! Why not a task per call, as hyper's `TokioExecutor` does: at saturation that is one runnable
//! task per open stream (500 at 50 connections × 10 streams) besides the connections. Tokio's
//! multi-threaded scheduler keeps 256 runnable tasks in a worker's own queue; past that it moves
//! half of them to the shared queue, from which the busy worker takes one about every 200 µs of
//! work. The calls moved there waited 15 times as long as the median (BENCHMARKS.md, "Where
//! calls run": p99 32 ms against p50 2 ms at 50 × 10; on tokio's single-threaded scheduler, which
//! has no such limit, 3.4 ms). Polled here, a call that answers at once (most unary calls) costs
//! no task, no trip through the run queue and no wake-up of the connection: its response goes
//! out in the connection's next write, in the same poll.
//!
//! What it must not cost: a handler that computes for long would hold up the connection's other
//! calls, which as tasks other workers could run. A first poll that took longer than the limit
//! ([`DEFAULT_LIMIT`], `ServerBuilder::inline_call_limit`) therefore sends the connection's next
//! [`AFTER_LONG`] calls to tasks of their own, as before; then it tries again. A panic in a
//! call's first poll ends that call alone, as it did in its task.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

/// One stream's future, as hyper hands it over.
type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A first poll longer than this is a handler that computes rather than answers: the next
/// calls go to tasks, where other workers can take them. A simple unary call's whole first poll
/// (decode, handler, encode, queueing the response) took under 4 µs in 99% of calls on this
/// project's benchmark machine (BENCHMARKS.md, "Where calls run").
pub(crate) const DEFAULT_LIMIT: Duration = Duration::from_micros(20);

/// How many calls go to tasks after a long first poll, before one is tried here again. A
/// preemption in the middle of a short poll makes it look long: this bounds what it costs.
const AFTER_LONG: u32 = 63;

/// How many batches of calls one poll runs (each read by the connection, then written by it)
/// before it lets other tasks run. Reading stops earlier when tokio's budget for the task is
/// spent; this is a backstop for transports that do not count against it. (1, 2 and 8 gave
/// the same throughput and tail at 50 × 10.)
const ROUNDS: usize = 8;

/// The executor given to hyper's HTTP/2 server for one connection: it keeps each stream's
/// future for [`RunStreams`] to poll.
#[derive(Clone, Default)]
pub(crate) struct Streams(Arc<Mutex<Vec<Call>>>);

impl<F> hyper::rt::Executor<F> for Streams
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, call: F) {
        // A poisoned lock only means a panic elsewhere while it was held; the list is whole.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Box::pin(call));
    }
}

pin_project_lite::pin_project! {
    /// Drives `connection` (a future that polls hyper's connection built with `streams` as its
    /// executor), and after each poll of it, the calls it accepted.
    pub(crate) struct RunStreams<F> {
        #[pin]
        connection: F,
        streams: Streams,
        // The calls taken from `streams`, kept between polls (and its allocation reused).
        taken: Vec<Call>,
        // How many more calls go to tasks before one is polled here again.
        spawn_next: u32,
        // A first poll longer than this makes the next calls tasks; zero: every call is one.
        limit: Duration,
        // The waker the connection is polled with, and what it wakes (see `Gate`).
        gate: Arc<Gate>,
        gated: Waker,
    }
}

/// The connection's waker: it wakes the task, except while the task polls the calls. Each call
/// that queues a frame wakes the connection (h2 does), which would poll the task once more for
/// nothing: [`RunStreams`] always polls the connection right after the calls, and that poll
/// sees whatever the wake-up was for, from this thread or another.
struct Gate {
    polling_calls: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Gate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.polling_calls.load(Ordering::SeqCst) {
            self.task.wake();
        }
    }
}

impl<F> RunStreams<F> {
    /// `connection`, with the calls hyper gives `streams` polled in its task while their first
    /// polls are within `limit` (see the module's comment).
    pub(crate) fn new(connection: F, streams: Streams, limit: Duration) -> Self {
        let gate = Arc::new(Gate { polling_calls: AtomicBool::new(false), task: AtomicWaker::new() });
        let gated = Waker::from(gate.clone());
        RunStreams { connection, streams, taken: Vec::new(), spawn_next: 0, limit, gate, gated }
    }
}

impl<F: Future> Future for RunStreams<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        this.gate.task.register(cx.waker());
        let mut gated = Context::from_waker(this.gated);
        let mut rounds = 0;
        loop {
            // Reads requests (accepting their calls) and writes what the calls polled below
            // queued; reads stop when the socket has nothing more or the task's budget is spent.
            if let Poll::Ready(done) = this.connection.as_mut().poll(&mut gated) {
                return Poll::Ready(done);
            }
            {
                let mut accepted = this.streams.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if accepted.is_empty() {
                    return Poll::Pending;
                }
                if rounds == ROUNDS {
                    // More calls came in every round: they wait for the next poll, behind the
                    // other tasks (what the last round's calls queued was written just now).
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                this.taken.append(&mut accepted);
            }
            rounds += 1;
            this.gate.polling_calls.store(true, Ordering::SeqCst);
            for call in this.taken.drain(..) {
                if *this.spawn_next > 0 || this.limit.is_zero() {
                    *this.spawn_next = this.spawn_next.saturating_sub(1);
                    tokio::spawn(call);
                    continue;
                }
                let started = Instant::now();
                if let Some(call) = first_poll(call) {
                    tokio::spawn(call);
                }
                if started.elapsed() > *this.limit {
                    *this.spawn_next = AFTER_LONG;
                }
            }
            this.gate.polling_calls.store(false, Ordering::SeqCst);
            // Around again: the connection writes the responses just queued, and takes any
            // requests that came meanwhile.
        }
    }
}

/// Polls `call` once: `None` when it finished (or panicked, which ends it as a panic ends a
/// task), else the call, still to finish.
///
/// With a waker that does nothing: a call that finishes leaves wakers behind (h2 keeps its
/// stream's until the stream is released, in the connection's next poll), and one that waits
/// is polled again at once by the task it becomes, which is when it registers the waker that
/// counts.
fn first_poll(mut call: Call) -> Option<Call> {
    let mut nobody = Context::from_waker(Waker::noop());
    match std::panic::catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(&mut nobody))) {
        Ok(Poll::Pending) => Some(call),
        Ok(Poll::Ready(())) => None,
        Err(_) => {
            // As tokio drops a panicked task's future: a panic in its drop ends nothing more.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(move || drop(call)));
            None
        }
    }
}
