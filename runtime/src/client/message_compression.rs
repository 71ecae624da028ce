//! `MessageCompression`: sending chosen request messages of a compressed call uncompressed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A switch that sends the next request message of a compressed call uncompressed, as gRPC
/// C++'s `WriteOptions::set_no_compression` and Java's `setMessageCompression(false)` do; the
/// messages after it are compressed again.
///
/// Give a clone to the call with [`Call::message_compression`](crate::Call::message_compression)
/// and keep one where the request stream makes its messages. "Next" is the next message the call
/// takes from the stream: in a stream that makes each message when it is asked for one
/// (`map`, `then`, `unfold`), the message being made. Without compression on the call it
/// changes nothing.
///
/// ```
/// use rust_rpc::stream::StreamExt;
/// use rust_rpc::{Compression, MessageCompression};
///
/// let switch = MessageCompression::new();
/// let flip = switch.clone();
/// // Every other message goes uncompressed.
/// let requests = rust_rpc::stream::iter(0..4u32).map(move |i| {
///     if i % 2 == 1 {
///         flip.disable_next_message_compression();
///     }
///     vec![0u8; 1000]
/// });
/// // client.record(requests).compression(Compression::Gzip).message_compression(switch)
/// # let _ = (requests, switch, Compression::Gzip);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MessageCompression {
    next_uncompressed: Arc<AtomicBool>,
}

impl MessageCompression {
    /// A switch that has asked for nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends the next request message uncompressed.
    pub fn disable_next_message_compression(&self) {
        self.next_uncompressed.store(true, Ordering::Release);
    }

    /// Whether the message being sent goes uncompressed; clears the request.
    #[inline]
    pub(crate) fn take_next_uncompressed(&self) -> bool {
        self.next_uncompressed.load(Ordering::Relaxed) && self.next_uncompressed.swap(false, Ordering::AcqRel)
    }
}
