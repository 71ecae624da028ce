//! The server's end of in-process channels: each connection a channel dials is a pipe
//! (`transport/memory.rs`) served by the same connection code as a socket's (`connection.rs`),
//! under the same stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::server::builder::ServerBuilder;
use crate::server::connection;
use crate::server::peer::Peer;
use crate::server::router::Router;
use crate::server::stop::Shutdown;
use crate::transport::coalesce::{Coalesce, OpenCalls};
use crate::transport::io::IoStream;
use crate::transport::memory::{Dial, Dialer, Dialing, pipe};

/// What in-process connections need of a server: set when it starts.
pub(crate) struct InProcess {
    /// Whether a channel was made: a server then starts without ports.
    wanted: AtomicBool,
    serving: tokio::sync::watch::Sender<Option<Arc<Serving>>>,
    /// The server's stop, which refuses new connections even before the server started.
    shutdown: Shutdown,
}

/// A started server, as its connections need it.
struct Serving {
    router: Arc<Router>,
    config: Arc<ServerBuilder>,
    shutdown: Shutdown,
    runtime: tokio::runtime::Handle,
}

impl InProcess {
    pub(crate) fn new(shutdown: Shutdown) -> Self {
        InProcess { wanted: AtomicBool::new(false), serving: tokio::sync::watch::Sender::new(None), shutdown }
    }

    /// Whether a channel to this server was made.
    pub(crate) fn is_wanted(&self) -> bool {
        self.wanted.load(Ordering::Acquire)
    }

    /// The server has started: connections are served with `router` on `runtime` from now on.
    pub(crate) fn serve(
        &self,
        router: Arc<Router>,
        config: Arc<ServerBuilder>,
        shutdown: Shutdown,
        runtime: tokio::runtime::Handle,
    ) {
        self.serving.send_replace(Some(Arc::new(Serving { router, config, shutdown, runtime })));
    }
}

/// What a channel dials to reach `in_process`'s server.
pub(crate) fn dialer(in_process: &Arc<InProcess>) -> Dialer {
    in_process.wanted.store(true, Ordering::Release);
    Dialer(in_process.clone())
}

impl Dial for InProcess {
    /// Before the server starts, waits for it, as a TCP connection to a bound port waits in the
    /// backlog; once it stops, refuses, as a closed port does.
    fn dial(&self) -> Dialing<'_> {
        Box::pin(async move {
            let refused = || "the in-process server is stopped".to_owned();
            let mut serving = self.serving.subscribe();
            let serving = tokio::select! {
                _ = self.shutdown.draining.cancelled() => return Err(refused()),
                serving = serving.wait_for(Option::is_some) => match &*serving.map_err(|_| refused())? {
                    Some(serving) => serving.clone(),
                    None => return Err(refused()),
                },
            };
            if serving.shutdown.draining.is_cancelled() {
                return Err(refused());
            }
            let (client, server) = pipe();
            let connection_shutdown = serving.shutdown.clone();
            let (router, config) = (serving.router.clone(), serving.config.clone());
            serving.shutdown.tasks.spawn_on(
                async move {
                    let calls = OpenCalls::default();
                    let peer = Peer { addr: None, auth: None };
                    let io: Box<dyn IoStream> = Box::new(server);
                    let deadline = config.limits.handshake_deadline();
                    let serving =
                        connection::serve(io, deadline, peer, router, calls.clone(), &config, &connection_shutdown);
                    Coalesce::new(serving, calls).await;
                },
                &serving.runtime,
            );
            Ok(Box::new(client) as Box<dyn IoStream>)
        })
    }
}
