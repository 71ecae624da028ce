//! One client HTTP/2 connection on the `h2` crate: the handshake, the task that drives it (with
//! write coalescing and keepalive pings, `keepalive.rs`), and the handle calls open streams
//! through.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use h2::client::SendRequest;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::keepalive::{Keepalive, KeepaliveBackoff};
use crate::transport::coalesce::{Coalesce, OpenCall, OpenCalls};
use crate::transport::http2::{Http2Settings, MAX_HEADER_LIST_SIZE};

/// A handle on a live (or lately live) connection. Clones share it.
#[derive(Clone)]
pub(crate) struct ClientConnection {
    sender: SendRequest<Bytes>,
    /// The calls open on the connection, for `Coalesce`.
    calls: OpenCalls,
    /// Cleared when the connection task ends, for whatever reason (peer gone, keepalive
    /// timeout, every handle dropped, runtime shut down).
    alive: Arc<Liveness>,
    /// Ends the connection task at once when the channel is closed.
    closer: Arc<Closer>,
}

/// How [`ClientConnection::close`] reaches the connection task.
#[derive(Default)]
struct Closer {
    closed: AtomicBool,
    task: AtomicWaker,
}

impl ClientConnection {
    /// Runs the HTTP/2 handshake over `io` and spawns the task that drives the connection.
    /// A server's "too_many_pings" GOAWAY ending it is counted in `backoff`.
    pub(crate) async fn handshake<T>(
        io: T,
        settings: &Http2Settings,
        backoff: KeepaliveBackoff,
    ) -> Result<Self, h2::Error>
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let mut builder = h2::client::Builder::new();
        // The settings hyper's client used: no server push, hyper's send buffer (1 MiB, h2's
        // default is 400 KiB) and stream limit before the server's SETTINGS arrive, and header
        // lists up to 16 MiB (large metadata).
        //
        // One change: DATA frames of up to 64 KiB from the server (the default, and hyper's, is
        // 16 KiB). h2 writes each DATA frame with a `writev` of its own, so a server streaming
        // 1 KiB messages made three per 32 KiB batch, and the system time of those writes was
        // most of its CPU; with 64 KiB frames a batch leaves in one. The server keeps 16 KiB for
        // what it receives: with 64 KiB frames there, 16 MiB echo calls got much slower, the
        // server taking thousands of page faults a call (glibc returned the freed 16 MiB buffers
        // to the kernel each call). BENCHMARKS.md, gain 10, has the figures.
        builder
            .enable_push(false)
            .initial_window_size(settings.stream_window)
            .initial_connection_window_size(settings.connection_window)
            .initial_max_send_streams(100)
            .max_frame_size(64 * 1024)
            .max_send_buffer_size(1024 * 1024)
            .max_local_error_reset_streams(Some(1024))
            .max_header_list_size(MAX_HEADER_LIST_SIZE);
        let (sender, mut connection) = builder.handshake::<T, Bytes>(io).await?;
        let keepalive = settings.keepalive().and_then(|(interval, timeout)| {
            // `ping_pong` is `None` only when taken before; this is its first and only use.
            let interval = backoff.interval(interval);
            connection.ping_pong().map(|ping_pong| Keepalive::new(ping_pong, interval, timeout))
        });
        let alive = Arc::new(Liveness { alive: AtomicBool::new(true), ended: tokio::sync::Notify::new() });
        let closer = Arc::new(Closer::default());
        let driver = Driver { alive: AliveFlag(alive.clone()), connection, keepalive, closer: closer.clone(), backoff };
        // The connection task does all reading and writing; `Coalesce` lets the calls that woke
        // it queue their frames first, so they go out in one `writev`.
        let calls = OpenCalls::default();
        tokio::spawn(Coalesce::new(driver, calls.clone()));
        Ok(ClientConnection { sender, calls, alive, closer })
    }

    /// Ends the connection now: every call on it fails, and the socket closes (the channel was
    /// closed). Without this the connection would live on until its last call ended.
    pub(crate) fn close(&self) {
        self.closer.closed.store(true, Ordering::Release);
        self.closer.task.wake();
    }

    /// Whether the connection task still runs. A connection that received GOAWAY stays alive
    /// until its streams end, but refuses new ones: see [`ClientConnection::sender`].
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.alive.load(Ordering::Acquire)
    }

    /// Waits until the connection task has ended.
    pub(crate) async fn ended(&self) {
        loop {
            let ended = self.alive.ended.notified();
            let mut ended = std::pin::pin!(ended);
            ended.as_mut().enable();
            if !self.is_alive() {
                return;
            }
            ended.await;
        }
    }

    /// How many calls are open on the connection now.
    pub(crate) fn open_calls(&self) -> usize {
        self.calls.count()
    }

    /// A sender to open one stream with. Each call takes its own clone: h2 then queues streams
    /// beyond the peer's concurrency limit itself, and `poll_ready` on a fresh clone only checks
    /// that the connection can take new streams.
    pub(crate) fn sender(&self) -> SendRequest<Bytes> {
        self.sender.clone()
    }

    /// Counts a call as open on this connection until the guard is dropped.
    pub(crate) fn open_call(&self) -> OpenCall {
        self.calls.open()
    }

    /// Whether `other` is a handle on the same connection.
    pub(crate) fn same_as(&self, other: &ClientConnection) -> bool {
        Arc::ptr_eq(&self.alive, &other.alive)
    }
}

/// Whether the connection task runs, and the wake-up of those waiting for its end.
struct Liveness {
    alive: AtomicBool,
    ended: tokio::sync::Notify,
}

/// Clears the liveness flag when the connection task ends, also when it is dropped unfinished
/// (its runtime shut down).
struct AliveFlag(Arc<Liveness>);

impl AliveFlag {
    fn clear(&self) {
        self.0.alive.store(false, Ordering::Release);
        self.0.ended.notify_waiters();
    }
}

impl Drop for AliveFlag {
    fn drop(&mut self) {
        self.clear();
    }
}

pin_project_lite::pin_project! {
    /// The connection task: h2's connection future, ended early by a keepalive timeout.
    ///
    /// `alive` comes first so that it is dropped first: a call failed by the connection's end
    /// must find the connection reported dead, not race the flag on another thread.
    struct Driver<T> {
        alive: AliveFlag,
        #[pin]
        connection: h2::client::Connection<T, Bytes>,
        keepalive: Option<Keepalive>,
        closer: Arc<Closer>,
        backoff: KeepaliveBackoff,
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Future for Driver<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        this.closer.task.register(cx.waker());
        if this.closer.closed.load(Ordering::Acquire) {
            // Dropping h2's connection fails the streams on it, as a keepalive timeout does.
            this.alive.clear();
            return Poll::Ready(());
        }
        // Keepalive first, so a PING it queues goes out in this same poll of the connection.
        if let Some(keepalive) = this.keepalive
            && keepalive.poll_timed_out(cx)
        {
            // Dropping h2's connection (when this task completes) fails every stream on it and
            // every later `send_request`, and closes the socket; the channel reconnects on the
            // next call. Marked dead before any stream hears of it.
            this.alive.clear();
            return Poll::Ready(());
        }
        // Ok or error, the connection is over once this is ready; errors reach the streams.
        let Poll::Ready(result) = this.connection.poll(cx) else { return Poll::Pending };
        this.alive.clear();
        if let Err(error) = result {
            this.backoff.on_connection_error(&error);
        }
        Poll::Ready(())
    }
}
