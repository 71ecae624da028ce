//! The executor hyper spawns a client connection's background tasks on.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::coalesce::Coalesce;

/// Spawns hyper's tasks for one connection on Tokio, the first of them (the HTTP/2 connection
/// itself, which does all reading and writing) wrapped in [`Coalesce`].
///
/// Why the first: hyper's `handshake` spawns the connection task before anything else, and
/// later spawns are one small task per request. Only the connection task gains from
/// coalescing: it is woken by every request queued on it, and without the yield it wrote each
/// request on its own. Should a later hyper spawn in another order, some other task gets the
/// yield: slower by a scheduler trip, never wrong.
#[derive(Clone)]
pub(crate) struct ConnectionExecutor {
    spawned_connection: Arc<AtomicBool>,
}

impl ConnectionExecutor {
    /// An executor for one new connection.
    pub(crate) fn new() -> Self {
        ConnectionExecutor { spawned_connection: Arc::new(AtomicBool::new(false)) }
    }
}

impl<F> hyper::rt::Executor<F> for ConnectionExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        if self.spawned_connection.swap(true, Ordering::Relaxed) {
            tokio::spawn(future);
        } else {
            tokio::spawn(Coalesce::new(future));
        }
    }
}
