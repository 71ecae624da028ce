//! Stopping a server on the process's termination signals: SIGTERM (what Kubernetes, systemd
//! and `docker stop` send) and Ctrl-C (SIGINT).

use std::time::Duration;

use crate::Server;
use crate::error::{Error, ErrorKind};

impl Server {
    /// Stops the server with `grace` (as [`stop`](Server::stop) does) on the first SIGTERM or
    /// Ctrl-C the process receives, so a deployment's stop lets calls in flight finish instead
    /// of killing them. The handlers are in place when this returns; a task on the current
    /// runtime (or the server's, once started) waits for the signal, and ends when the server
    /// terminates some other way. Needs the `signal` cargo feature (on by default).
    ///
    /// Once a handler is in place, these signals no longer end the process by themselves:
    /// pair this with [`wait_for_termination`](Server::wait_for_termination), as below, so that
    /// `main` returns (exit status 0) once the server has stopped.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), rust_rpc::Error> {
    /// use std::time::Duration;
    ///
    /// let server = rust_rpc::Server::new();
    /// // add_greeter_servicer_to_server(MyGreeter, &server)?;  (generated)
    /// server.add_insecure_port("[::]:50051")?;
    /// server.start()?;
    /// server.stop_on_signals(Some(Duration::from_secs(10)))?;
    /// server.wait_for_termination(None).await;
    /// # Ok(()) }
    /// ```
    pub fn stop_on_signals(&self, grace: Option<Duration>) -> Result<(), Error> {
        let runtime = tokio::runtime::Handle::try_current().ok().or_else(|| self.runtime()).ok_or_else(|| {
            Error::new(
                ErrorKind::Runtime,
                "Server::stop_on_signals must be called inside a Tokio runtime, or after start",
            )
        })?;
        let _enter = runtime.enter();
        let signalled = signalled()?;
        let server = self.clone();
        let terminated = self.terminated_token();
        runtime.spawn(async move {
            tokio::select! {
                () = signalled => drop(server.stop(grace)),
                () = terminated.cancelled() => {}
            }
        });
        Ok(())
    }
}

/// Resolves on the first SIGTERM or SIGINT; both handlers are installed before it returns.
#[cfg(unix)]
fn signalled() -> Result<impl std::future::Future<Output = ()> + Send + 'static, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Error::new(ErrorKind::Signal, format!("cannot listen for {name}: {e}")).with_source(e))
    };
    let mut term = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT (Ctrl-C)")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Resolves on the first Ctrl-C (the only termination signal outside Unix).
#[cfg(not(unix))]
fn signalled() -> Result<impl std::future::Future<Output = ()> + Send + 'static, Error> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
