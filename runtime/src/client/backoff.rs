//! How long to wait before reconnecting after failed attempts: gRPC's connection backoff
//! (grpc/grpc `doc/connection-backoff.md`).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// gRPC's connection backoff settings; [`ChannelBuilder::reconnect_backoff`] changes them.
///
/// [`ChannelBuilder::reconnect_backoff`]: crate::ChannelBuilder::reconnect_backoff
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BackoffConfig {
    /// The delay after the first failure (1 s).
    pub(crate) initial: Duration,
    /// How much each delay grows over the last (1.6).
    pub(crate) multiplier: f64,
    /// How far a delay may be moved at random, as a fraction of it either way (0.2).
    pub(crate) jitter: f64,
    /// The longest delay, before jitter (120 s).
    pub(crate) max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig { initial: Duration::from_secs(1), multiplier: 1.6, jitter: 0.2, max: Duration::from_secs(120) }
    }
}

/// The delays between one address's connection attempts: `initial` after the first failure,
/// then `multiplier` times the last one up to `max`, each moved by up to `jitter` of itself at
/// random. A subchannel starts a new one after each connection it made.
#[derive(Debug)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    /// The delay before jitter of the last failure.
    last: Option<Duration>,
    /// xorshift state for the jitter.
    random: u64,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig) -> Self {
        // A random seed per backoff, so replicas of a failed server are not all retried at once.
        let seed = std::collections::hash_map::RandomState::new().build_hasher().finish() | 1;
        Backoff { config, last: None, random: seed }
    }

    /// The delay before the next attempt, after one more failure.
    pub(crate) fn failed(&mut self) -> Duration {
        let BackoffConfig { initial, multiplier, jitter, max } = self.config;
        let next = match self.last {
            None => initial.min(max),
            Some(last) => Duration::try_from_secs_f64(last.as_secs_f64() * multiplier).unwrap_or(max).min(max),
        };
        self.last = Some(next);
        // A uniform factor in [1 - jitter, 1 + jitter].
        let unit = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 + jitter.clamp(0.0, 1.0) * (2.0 * unit - 1.0);
        Duration::try_from_secs_f64(next.as_secs_f64() * factor).unwrap_or(next)
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_jitter_delays_grow_by_1_6_up_to_120_s() {
        let mut backoff = Backoff::new(BackoffConfig { jitter: 0.0, ..BackoffConfig::default() });
        let delays: Vec<u128> = (0..13).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(delays, [1000, 1600, 2560, 4096, 6553, 10485, 16777, 26843, 42949, 68719, 109951, 120000, 120000]);
    }

    #[test]
    fn jitter_stays_within_a_fifth_either_way_and_varies() {
        let mut backoff = Backoff::new(BackoffConfig::default());
        let mut base = 1.0f64;
        let mut seen = Vec::new();
        for _ in 0..40 {
            let delay = backoff.failed().as_secs_f64();
            assert!(delay >= base * 0.8 - 1e-9 && delay <= base * 1.2 + 1e-9, "{delay} for {base}");
            seen.push(delay / base);
            base = (base * 1.6).min(120.0);
        }
        // Across many delays, some land on each side of the base value.
        assert!(seen.iter().any(|f| *f < 1.0) && seen.iter().any(|f| *f > 1.0), "{seen:?}");
        let mut capped = Backoff::new(BackoffConfig { initial: Duration::from_secs(500), ..BackoffConfig::default() });
        let first = capped.failed().as_secs_f64();
        assert!((96.0..=144.0).contains(&first), "{first}");
    }
}
