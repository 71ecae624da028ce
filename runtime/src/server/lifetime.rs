//! Connection management as gRFC A9 describes: a connection idle for `max_connection_idle`, or
//! older than `max_connection_age` (with ±10% jitter, so a fleet's connections do not all go at
//! once), is told GOAWAY gracefully; the calls on it may go on for `max_connection_age_grace`,
//! then the connection is closed. Clients reconnect, and so spread over the replicas that exist
//! now. grpc-go's `keepalive` loop (`internal/transport/http2_server.go`) is the model.
//!
//! Only connections of a server with one of these set get any of it: `connection.rs` then runs
//! [`GoawayDue`] beside the connection, and `guard.rs` tells [`Activity`] when the connection's
//! streams come and go.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Waker;
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::time::Instant;

/// How long after its first GOAWAY (last stream 2^31-1, written by the guard) a connection
/// starts HTTP/2's graceful shutdown (another such GOAWAY and a PING, then the final GOAWAY
/// once the PING is answered). h2's shutdown alone leaves a race: a stream a client opened just
/// before it read the GOAWAY may be written after its PING answer, land above the final
/// GOAWAY's last stream and fail (gRPC clients with transparent retry send it again; others,
/// tonic's, fail the call). With the GOAWAY a second ahead, every stream opened before the
/// client read it has arrived by then.
pub(crate) const HEADS_UP: Duration = Duration::from_secs(1);

/// The three settings, each off (`None`) by default, as in every gRPC implementation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ConnectionLifetime {
    /// A connection without calls for this long is told GOAWAY.
    pub(crate) max_idle: Option<Duration>,
    /// A connection this old (±10%) is told GOAWAY.
    pub(crate) max_age: Option<Duration>,
    /// How long the calls on a connection told GOAWAY (for its age or idleness) may go on
    /// before it is closed under them (default: as long as they take).
    pub(crate) max_age_grace: Option<Duration>,
}

impl ConnectionLifetime {
    /// Whether a connection needs watching at all.
    pub(crate) fn is_on(&self) -> bool {
        self.max_idle.is_some() || self.max_age.is_some()
    }
}

/// Whether a connection has open streams, and since when it has none: written by the
/// connection's guard (`guard.rs`) as streams open and end, read by [`GoawayDue`].
#[derive(Debug)]
pub(crate) struct Activity {
    /// When the connection was accepted: the origin of `idle_since`.
    origin: Instant,
    busy: AtomicBool,
    /// Nanoseconds from `origin` to the moment the last open stream ended.
    idle_since: AtomicU64,
    /// Set when the connection is due its GOAWAY: the guard writes the first one.
    heads_up: AtomicBool,
    /// The connection task, woken to write it.
    task: AtomicWaker,
}

impl Activity {
    fn new(origin: Instant) -> Self {
        Activity {
            origin,
            busy: AtomicBool::new(false),
            idle_since: AtomicU64::new(0),
            heads_up: AtomicBool::new(false),
            task: AtomicWaker::new(),
        }
    }

    /// Whether the connection is to write its first GOAWAY now (once); `waker` is the
    /// connection task's, woken when it is.
    #[inline]
    pub(crate) fn take_heads_up(&self, waker: &Waker) -> bool {
        self.task.register(waker);
        self.heads_up.load(Ordering::Acquire) && self.heads_up.swap(false, Ordering::AcqRel)
    }

    /// The first stream opened on a connection without any.
    pub(crate) fn busy(&self) {
        self.busy.store(true, Ordering::Release);
    }

    /// The last open stream ended.
    pub(crate) fn idle(&self) {
        let since = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.idle_since.store(since, Ordering::Relaxed);
        self.busy.store(false, Ordering::Release);
    }

    /// When the connection has been idle for `max_idle`, if it is idle now; `None` while it
    /// has streams open.
    fn idle_deadline(&self, max_idle: Duration) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) {
            return None;
        }
        let since = self.origin + Duration::from_nanos(self.idle_since.load(Ordering::Relaxed));
        Some(since.checked_add(max_idle).unwrap_or_else(far_future))
    }
}

/// Why a connection is being told GOAWAY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Idle,
    Age,
}

/// One connection's timers: resolves when the connection is due its GOAWAY.
pub(crate) struct GoawayDue {
    lifetime: ConnectionLifetime,
    activity: Arc<Activity>,
    /// When the connection's age runs out, jittered.
    age_deadline: Option<Instant>,
}

impl GoawayDue {
    /// The timers of a connection accepted now, and the activity its guard is to update.
    pub(crate) fn new(lifetime: ConnectionLifetime) -> (GoawayDue, Arc<Activity>) {
        let now = Instant::now();
        let activity = Arc::new(Activity::new(now));
        let age_deadline = lifetime.max_age.map(|age| now.checked_add(jittered(age)).unwrap_or_else(far_future));
        (GoawayDue { lifetime, activity: activity.clone(), age_deadline }, activity)
    }

    /// Resolves when the connection is to be told GOAWAY, and why. As grpc-go's loop: a busy
    /// connection is looked at again a whole `max_idle` later; an idle one when its idleness
    /// would run out.
    pub(crate) async fn due(&self) -> Reason {
        loop {
            let now = Instant::now();
            let idle_check = self.lifetime.max_idle.map(|max_idle| {
                self.activity
                    .idle_deadline(max_idle)
                    .unwrap_or_else(|| now.checked_add(max_idle).unwrap_or_else(far_future))
            });
            let next = match (self.age_deadline, idle_check) {
                (Some(age), Some(idle)) => age.min(idle),
                (Some(at), None) | (None, Some(at)) => at,
                (None, None) => return std::future::pending().await,
            };
            tokio::time::sleep_until(next).await;
            let now = Instant::now();
            if self.age_deadline.is_some_and(|age| now >= age) {
                return Reason::Age;
            }
            if let Some(max_idle) = self.lifetime.max_idle
                && self.activity.idle_deadline(max_idle).is_some_and(|at| now >= at)
            {
                return Reason::Idle;
            }
        }
    }

    /// How long the connection's calls may go on after the GOAWAY, if not as long as they take.
    pub(crate) fn grace(&self) -> Option<Duration> {
        self.lifetime.max_age_grace
    }

    /// Has the guard write the connection's first GOAWAY (see [`HEADS_UP`]).
    pub(crate) fn heads_up(&self) {
        self.activity.heads_up.store(true, Ordering::Release);
        self.activity.task.wake();
    }
}

/// A connection accepted now: its timers and the activity its guard is to update, on a server
/// that limits connections' age or idleness; nothing at all on others.
pub(crate) fn watch(lifetime: ConnectionLifetime) -> (Option<GoawayDue>, Option<Arc<Activity>>) {
    if !lifetime.is_on() {
        return (None, None);
    }
    let (due, activity) = GoawayDue::new(lifetime);
    (Some(due), Some(activity))
}

/// `age` ±10% (gRFC A9), from a random number of the standard library's hasher keys.
fn jittered(age: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    // A factor in [0.9, 1.1), in thousandths.
    let factor = 900 + random % 200;
    age.checked_mul(factor as u32).map_or(age, |scaled| scaled / 1000)
}

/// A time too far off to come, for durations too long to add to the clock.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_off_as_in_grpc_go() {
        let zero = crate::Server::builder()
            .max_connection_age(Duration::ZERO)
            .max_connection_idle(Duration::ZERO)
            .max_connection_age_grace(Duration::ZERO);
        assert!(!zero.limits.lifetime.is_on());
        assert_eq!(zero.limits.lifetime.max_age_grace, None);
        let on = crate::Server::builder().max_connection_idle(Duration::from_secs(1));
        assert!(on.limits.lifetime.is_on());
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let age = Duration::from_secs(100);
        for _ in 0..1000 {
            let jittered = jittered(age);
            assert!(jittered >= Duration::from_secs(90) && jittered < Duration::from_secs(110), "{jittered:?}");
        }
        assert_eq!(jittered(Duration::MAX), Duration::MAX, "too long to scale: left as it is");
    }

    #[test]
    fn a_connection_is_idle_only_without_streams_and_from_when_the_last_one_ended() {
        let lifetime = ConnectionLifetime { max_idle: Some(Duration::from_secs(10)), ..Default::default() };
        let (due, activity) = GoawayDue::new(lifetime);
        let max_idle = Duration::from_secs(10);
        assert_eq!(activity.idle_deadline(max_idle), Some(activity.origin + max_idle), "idle since accepted");
        activity.busy();
        assert_eq!(activity.idle_deadline(max_idle), None, "a stream is open");
        activity.idle();
        let deadline = activity.idle_deadline(max_idle).expect("idle again");
        assert!(deadline > activity.origin + max_idle, "counted from the last stream's end");
        assert_eq!(due.grace(), None);
    }

    #[tokio::test]
    async fn due_tells_idleness_from_age() {
        let idle = ConnectionLifetime { max_idle: Some(Duration::from_millis(1)), ..Default::default() };
        assert_eq!(GoawayDue::new(idle).0.due().await, Reason::Idle);
        let age = ConnectionLifetime {
            max_age: Some(Duration::from_millis(1)),
            max_idle: Some(Duration::from_secs(3600)),
            max_age_grace: Some(Duration::from_secs(1)),
        };
        let (due, activity) = GoawayDue::new(age);
        activity.busy();
        assert_eq!(due.due().await, Reason::Age);
        assert_eq!(due.grace(), Some(Duration::from_secs(1)));
    }
}
