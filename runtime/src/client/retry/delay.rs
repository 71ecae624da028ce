//! How long to wait before a retry: gRFC A6's exponential backoff with full jitter, or what the
//! server's pushback asks for.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use crate::client::service_config::RetryPolicy;
use crate::wire::headers::GRPC_RETRY_PUSHBACK_MS;

/// The server's word on retrying, from `grpc-retry-pushback-ms`.
#[derive(Debug, PartialEq)]
pub(crate) enum Pushback {
    /// Retry after exactly this long.
    After(Duration),
    /// A negative or unreadable value: do not retry.
    Stop,
}

/// The pushback in `metadata` (the trailers, or the headers of a trailers-only answer), if any.
pub(crate) fn pushback(metadata: &http::HeaderMap) -> Option<Pushback> {
    let value = metadata.get(&GRPC_RETRY_PUSHBACK_MS)?;
    let parsed = value.to_str().ok().and_then(|s| s.parse::<i32>().ok());
    Some(match parsed {
        Some(ms) if ms >= 0 => Pushback::After(Duration::from_millis(ms.unsigned_abs().into())),
        _ => Pushback::Stop,
    })
}

/// The wait before retry number `n` (1 for the first retry): random in
/// `[0, min(initialBackoff * backoffMultiplier^(n-1), maxBackoff)]`.
pub(crate) fn backoff(policy: &RetryPolicy, n: u32) -> Duration {
    let exponent = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
    let ceiling = policy.initial_backoff.as_secs_f64() * policy.backoff_multiplier.powi(exponent);
    let ceiling = ceiling.min(policy.max_backoff.as_secs_f64());
    Duration::try_from_secs_f64(ceiling * random_fraction()).unwrap_or(policy.max_backoff)
}

/// A random number in `[0, 1)`: std's randomly keyed hasher over a counter, enough to spread
/// retries apart (no crate needed for that).
fn random_fraction() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::service_config::Codes;

    #[test]
    fn pushback_is_a_non_negative_integer_or_a_stop() {
        let of = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(&GRPC_RETRY_PUSHBACK_MS, value.parse().expect("value"));
            pushback(&headers)
        };
        assert_eq!(of("250"), Some(Pushback::After(Duration::from_millis(250))));
        assert_eq!(of("0"), Some(Pushback::After(Duration::ZERO)));
        assert_eq!(of("-1"), Some(Pushback::Stop));
        assert_eq!(of("soon"), Some(Pushback::Stop));
        assert_eq!(of("99999999999"), Some(Pushback::Stop), "beyond a signed 32-bit value");
        assert_eq!(pushback(&http::HeaderMap::new()), None);
    }

    #[test]
    fn backoff_is_jittered_under_the_exponential_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            backoff_multiplier: 2.0,
            retryable: Codes::default(),
        };
        for (n, ceiling) in [(1, 100), (2, 200), (3, 350), (4, 350)] {
            let delays: Vec<Duration> = (0..200).map(|_| backoff(&policy, n)).collect();
            assert!(delays.iter().all(|d| *d <= Duration::from_millis(ceiling)), "retry {n}: {delays:?}");
            // 200 draws from [0, ceiling]: all in the lower half has odds of 2^-200.
            assert!(delays.iter().any(|d| *d > Duration::from_millis(ceiling / 2)), "retry {n} is spread");
        }
    }
}
