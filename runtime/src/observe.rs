//! Watching a call's messages: `MessageEvent`, what an interceptor that asks to see messages is
//! shown, and `Tally`, the counts (and that hook) of one intercepted call, which the message
//! bodies and decoders of both sides feed.

use std::sync::atomic::{AtomicU64, Ordering};

/// Which way a message went, from the side that observes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// This side sent it: a request on the client, a response on the server.
    Sent,
    /// This side received it: a response on the client, a request on the server.
    Received,
}

/// One message of a call, as an interceptor that observes messages sees it
/// ([`ServerInterceptor::message`](crate::ServerInterceptor::message),
/// [`ClientInterceptor::message`](crate::ClientInterceptor::message)).
#[derive(Clone, Copy, Debug)]
pub struct MessageEvent<'a> {
    pub(crate) direction: Direction,
    pub(crate) bytes: &'a [u8],
    pub(crate) wire_size: usize,
}

impl<'a> MessageEvent<'a> {
    /// Whether this side sent or received the message.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The message as encoded protobuf, uncompressed.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The message's size on the wire: compressed if it was sent compressed, without the 5-byte
    /// gRPC prefix (gRFC A66's "compressed message size").
    pub fn wire_size(&self) -> usize {
        self.wire_size
    }
}

/// The hook a chain with observers gives a call: it hands each message to them.
pub(crate) type Observer = Box<dyn Fn(&MessageEvent<'_>) + Send + Sync>;

/// The messages of one call that has interceptors: how many went each way, their total wire
/// size, and the observers' hook if the chain has any. Shared (in an `Arc`) by the call's
/// completion and the bodies and decoders that carry its messages; calls without interceptors
/// have none, and those paths skip it.
pub(crate) struct Tally {
    sent: AtomicU64,
    sent_bytes: AtomicU64,
    received: AtomicU64,
    received_bytes: AtomicU64,
    observer: Option<Observer>,
    /// The call's `tracing` span on the client, between the interceptor that opened it and the
    /// call's end (the server keeps its span in the `ServicerContext`).
    #[cfg(feature = "tracing")]
    pub(crate) span: std::sync::Mutex<Option<tracing::Span>>,
}

/// The counts of a [`Tally`] at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) sent: u64,
    pub(crate) sent_bytes: u64,
    pub(crate) received: u64,
    pub(crate) received_bytes: u64,
}

impl Tally {
    pub(crate) fn new(observer: Option<Observer>) -> Self {
        Tally {
            sent: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            received: AtomicU64::new(0),
            received_bytes: AtomicU64::new(0),
            observer,
            #[cfg(feature = "tracing")]
            span: std::sync::Mutex::new(None),
        }
    }

    /// Counts a message this side sent: `bytes` encoded and uncompressed, `wire_size` as sent.
    pub(crate) fn sent(&self, bytes: &[u8], wire_size: usize) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.sent_bytes.fetch_add(wire_size as u64, Ordering::Relaxed);
        if let Some(observer) = &self.observer {
            observe(observer, &MessageEvent { direction: Direction::Sent, bytes, wire_size });
        }
    }

    /// Counts a message this side received: `bytes` decompressed, `wire_size` as received.
    pub(crate) fn received(&self, bytes: &[u8], wire_size: usize) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.received_bytes.fetch_add(wire_size as u64, Ordering::Relaxed);
        if let Some(observer) = &self.observer {
            observe(observer, &MessageEvent { direction: Direction::Received, bytes, wire_size });
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            sent: self.sent.load(Ordering::Relaxed),
            sent_bytes: self.sent_bytes.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            received_bytes: self.received_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Runs the observers on `event`; a panicking one is the observer's problem, not the call's (it
/// runs inside the bodies hyper and h2 poll).
#[cold]
fn observe(observer: &Observer, event: &MessageEvent<'_>) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| observer(event)));
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally").field("counts", &self.counts()).finish_non_exhaustive()
    }
}
