//! The bytes all of a channel's calls keep for replay together, and their limit.

use std::sync::atomic::{AtomicUsize, Ordering};

/// What a channel's calls may keep together (gRPC's default `retry_buffer_size_in_bytes`).
pub(crate) const PER_CHANNEL_LIMIT: usize = 16 * 1024 * 1024;

/// The bytes a channel's calls keep for replay.
#[derive(Debug, Default)]
pub(crate) struct ChannelBudget {
    held: AtomicUsize,
}

impl ChannelBudget {
    /// Takes `bytes` if the channel's total stays within its limit.
    pub(crate) fn take(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= PER_CHANNEL_LIMIT)
            })
            .is_ok()
    }

    pub(crate) fn give_back(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// What is held now (tests).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}
