//! Client keepalive pings, driven by the connection task (`connection.rs`).

use std::future::Future;
use std::pin::Pin;
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
