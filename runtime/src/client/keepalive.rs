//! Client keepalive pings, driven by the connection task (`connection.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// Client keepalive: a PING every `interval`, whether or not calls are in flight (gRPC's
/// `keepalive_permit_without_calls`, hyper's `keep_alive_while_idle`).
pub(crate) struct Keepalive {
    ping_pong: h2::PingPong,
    interval: Duration,
    timeout: Duration,
    /// When to send the next PING or, while one is unanswered, when to give up on it.
    timer: Pin<Box<tokio::time::Sleep>>,
    awaiting_pong: bool,
}

impl Keepalive {
    pub(crate) fn new(ping_pong: h2::PingPong, interval: Duration, timeout: Duration) -> Self {
        let timer = Box::pin(tokio::time::sleep(interval));
        Keepalive { ping_pong, interval, timeout, timer, awaiting_pong: false }
    }

    /// Sends PINGs when due; true when one went unanswered for longer than the timeout.
    pub(crate) fn poll_timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.awaiting_pong {
                match self.ping_pong.poll_pong(cx) {
                    Poll::Ready(Ok(_)) => {
                        self.awaiting_pong = false;
                        let next = tokio::time::Instant::now() + self.interval;
                        self.timer.as_mut().reset(next);
                        continue;
                    }
                    // The connection has failed; its own future reports that.
                    Poll::Ready(Err(_)) => return false,
                    Poll::Pending => return self.timer.as_mut().poll(cx).is_ready(),
                }
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            if self.ping_pong.send_ping(h2::Ping::opaque()).is_err() {
                // Only fails when the connection is closing; stop pinging.
                self.timer.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(86400 * 365));
                return false;
            }
            self.awaiting_pong = true;
            let give_up = tokio::time::Instant::now() + self.timeout;
            self.timer.as_mut().reset(give_up);
        }
    }
}

/// How often a channel's keepalive interval was doubled because a server answered its PINGs
/// with GOAWAY `ENHANCE_YOUR_CALM` "too_many_pings": gRFC A8 has the client double the interval
/// for its new connections each time. Shared by a subchannel and its connections' tasks.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeepaliveBackoff(Arc<AtomicU32>);

impl KeepaliveBackoff {
    /// `interval`, doubled once per "too_many_pings" so far (at most about 68 years).
    pub(crate) fn interval(&self, interval: Duration) -> Duration {
        let doublings = self.0.load(Ordering::Relaxed).min(31);
        interval.saturating_mul(1 << doublings).min(Duration::from_secs(u32::MAX.into()))
    }

    /// Doubles the interval if `error`, which ended a connection, is the server's
    /// "too_many_pings" GOAWAY.
    pub(crate) fn on_connection_error(&self, error: &h2::Error) {
        if is_too_many_pings(error) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Whether `error` is a server's GOAWAY `ENHANCE_YOUR_CALM` with the debug data
/// "too_many_pings". h2 keeps the debug data to itself but for its message, which quotes it.
fn is_too_many_pings(error: &h2::Error) -> bool {
    error.is_go_away()
        && error.is_remote()
        && error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM)
        && error.to_string().contains("too_many_pings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_too_many_pings_doubles_the_interval_without_overflow() {
        let backoff = KeepaliveBackoff::default();
        let base = Duration::from_secs(10);
        assert_eq!(backoff.interval(base), base);
        backoff.0.fetch_add(2, Ordering::Relaxed);
        assert_eq!(backoff.interval(base), Duration::from_secs(40));
        backoff.0.fetch_add(100, Ordering::Relaxed);
        assert_eq!(backoff.interval(base), Duration::from_secs(u32::MAX.into()));
        assert_eq!(KeepaliveBackoff::default().interval(Duration::MAX), Duration::from_secs(u32::MAX.into()));
    }
}
