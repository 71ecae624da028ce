//! How long to wait before reconnecting after failed attempts.

use std::time::Duration;

/// The first delay after a failure. gRPC's `doc/connection-backoff.md` starts at 1 s too.
const INITIAL: Duration = Duration::from_secs(1);
/// The longest delay. gRPC's default is 120 s; we cap lower, since targets here are usually
/// local services.
const MAX: Duration = Duration::from_secs(30);

/// The delays between connection attempts: 1 s after the first failure, then 1.6 times the last
/// one, up to 30 s; back to the start once a connection succeeds.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    last: Option<Duration>,
}

impl Backoff {
    /// The delay before the next attempt, after one more failure.
    pub(crate) fn failed(&mut self) -> Duration {
        let next = self.last.map_or(INITIAL, |last| (last * 8 / 5).min(MAX));
        self.last = Some(next);
        next
    }

    /// Starts over, after a success.
    pub(crate) fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_1_6_up_to_the_cap_and_start_over_after_a_success() {
        let mut backoff = Backoff::default();
        let delays: Vec<u128> = (0..10).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(delays, [1000, 1600, 2560, 4096, 6553, 10485, 16777, 26843, 30000, 30000]);
        backoff.reset();
        assert_eq!(backoff.failed(), INITIAL);
    }
}
