//! The server's listener and connection tasks, counted so that a stop can wait for them all to
//! end. tokio-util's `TaskTracker` does this too, but its `rt` feature turns on futures-util's
//! defaults and with them a proc macro crate in every user's build; this is the part we use.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Spawns tasks and waits, once closed, until none is left.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tasks {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    running: AtomicUsize,
    closed: AtomicBool,
    /// Told when the last task ends after closing, and when closing finds none.
    idle: Notify,
}

impl Shared {
    fn done(&self) -> bool {
        self.closed.load(Ordering::SeqCst) && self.running.load(Ordering::SeqCst) == 0
    }
}

/// Held by a running task; its drop (the task ended, or was dropped unfinished with its
/// runtime) counts the task out.
struct Counted(Arc<Shared>);

impl Drop for Counted {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 && self.0.closed.load(Ordering::SeqCst) {
            self.0.idle.notify_waiters();
        }
    }
}

impl Tasks {
    /// Spawns `task` on the current runtime, counted.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_on(task, &tokio::runtime::Handle::current())
    }

    /// Spawns `task` on `runtime`, counted.
    pub(crate) fn spawn_on<F>(&self, task: F, runtime: &tokio::runtime::Handle) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.running.fetch_add(1, Ordering::SeqCst);
        let counted = Counted(self.shared.clone());
        runtime.spawn(async move {
            let _counted = counted;
            task.await
        })
    }

    /// No more tasks are expected: [`wait`](Self::wait) returns once the running ones end.
    /// Tasks spawned after this are still counted.
    pub(crate) fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        if self.shared.done() {
            self.shared.idle.notify_waiters();
        }
    }

    /// Resolves once closed with no task running.
    pub(crate) async fn wait(&self) {
        loop {
            let idle = self.shared.idle.notified();
            tokio::pin!(idle);
            // Registered before the check, so a notification between the two is not lost.
            idle.as_mut().enable();
            if self.shared.done() {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn wait_returns_once_closed_and_every_task_has_ended() {
        let tasks = Tasks::default();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn(async move {
            let _ = released.await;
        });
        tasks.spawn(async {});
        // Not closed: waiting does not end, even once the quick task is done.
        assert!(tokio::time::timeout(Duration::from_millis(20), tasks.wait()).await.is_err());
        tasks.close();
        // Closed, one task still running.
        assert!(tokio::time::timeout(Duration::from_millis(20), tasks.wait()).await.is_err());
        let waiting = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.wait().await }
        });
        release.send(()).expect("the task is waiting");
        tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("wait ends").expect("no panic");
        tasks.wait().await;
    }

    #[tokio::test]
    async fn closing_with_nothing_running_ends_the_wait_at_once() {
        let tasks = Tasks::default();
        let waiting = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.wait().await }
        });
        tokio::task::yield_now().await;
        tasks.close();
        tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("wait ends").expect("no panic");
    }

    #[test]
    fn a_task_dropped_with_its_runtime_is_counted_out() {
        let tasks = Tasks::default();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        tasks.spawn_on(std::future::pending::<()>(), runtime.handle());
        tasks.close();
        assert!(!tasks.shared.done());
        drop(runtime);
        assert!(tasks.shared.done());
    }
}
