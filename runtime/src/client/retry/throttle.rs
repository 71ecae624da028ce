//! Retry throttling (gRFC A6, "Throttling Retry Attempts and Hedged RPCs"): a channel's token
//! bucket that stops retries and hedges while too many calls fail.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::client::service_config::RetryThrottling;

/// The bucket, in thousandths of a token: `tokenRatio` has three decimals, so every change is
/// a whole number of them.
#[derive(Debug)]
pub(crate) struct Throttle {
    milli_tokens: AtomicU32,
    max: u32,
    ratio: u32,
}

impl Throttle {
    /// A full bucket of `maxTokens`.
    pub(crate) fn new(config: RetryThrottling) -> Throttle {
        let max = config.max_tokens.saturating_mul(1000);
        // Three decimals were kept when the config was read; rounding only absorbs float error.
        let ratio = (config.token_ratio * 1000.0).round() as u32;
        Throttle { milli_tokens: AtomicU32::new(max), max, ratio }
    }

    /// A failed attempt (a retryable or non-fatal status, or pushback saying not to retry):
    /// one token less.
    pub(crate) fn failure(&self) {
        let _ = self.milli_tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| Some(t.saturating_sub(1000)));
    }

    /// A successful call: `tokenRatio` tokens more, up to `maxTokens`.
    pub(crate) fn success(&self) {
        let (max, ratio) = (self.max, self.ratio);
        let _ = self
            .milli_tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| Some(t.saturating_add(ratio).min(max)));
    }

    /// Whether retries and hedges may be sent: more than half the bucket is left.
    pub(crate) fn allows(&self) -> bool {
        u64::from(self.milli_tokens.load(Ordering::Acquire)) * 2 > u64::from(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_drain_it_below_half_and_successes_refill_it() {
        let throttle = Throttle::new(RetryThrottling { max_tokens: 10, token_ratio: 0.5 });
        assert!(throttle.allows());
        for _ in 0..4 {
            throttle.failure();
        }
        assert!(throttle.allows(), "6 of 10 left");
        throttle.failure();
        assert!(!throttle.allows(), "5 of 10 is not more than half");
        throttle.success();
        assert!(throttle.allows(), "5.5 of 10");
        for _ in 0..100 {
            throttle.success();
        }
        for _ in 0..4 {
            throttle.failure();
        }
        assert!(throttle.allows(), "capped at 10, so 4 failures leave 6");
        for _ in 0..20 {
            throttle.failure();
        }
        throttle.success();
        assert!(!throttle.allows(), "floored at 0");
    }
}
