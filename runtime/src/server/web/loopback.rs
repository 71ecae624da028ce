//! The in-memory HTTP/2 connection a gRPC-Web client connection's calls reach the router by:
//! made on the connection's first gRPC-Web call, served by the server's own connection code
//! (`server/connection.rs`) for the same peer, so a translated call runs exactly as a gRPC call
//! does (limits, interceptors, deadlines, the stop). It ends with its client connection.

use std::sync::Arc;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::OnceCell;

use crate::RpcError;
use crate::server::builder::ServerBuilder;
use crate::server::connection;
use crate::server::peer::Peer;
use crate::server::router::Router;
use crate::server::stop::Shutdown;
use crate::transport::coalesce::OpenCalls;
use crate::transport::http2::MAX_HEADER_LIST_SIZE;
use crate::transport::io::IoStream;
use crate::transport::memory;

/// What making the loopback takes, and the connection once made.
pub(crate) struct Loopback {
    sender: OnceCell<SendRequest<Bytes>>,
    router: Arc<Router>,
    peer: Peer,
    config: Arc<ServerBuilder>,
    shutdown: Shutdown,
}

impl Loopback {
    pub(crate) fn new(router: Arc<Router>, peer: Peer, config: Arc<ServerBuilder>, shutdown: Shutdown) -> Self {
        Loopback { sender: OnceCell::new(), router, peer, config, shutdown }
    }

    /// A handle to send a call on, ready for one more stream.
    pub(crate) async fn ready(&self) -> Result<SendRequest<Bytes>, RpcError> {
        let sender = self.sender.get_or_try_init(|| self.connect()).await?;
        sender.clone().ready().await.map_err(|e| unavailable(&e))
    }

    async fn connect(&self) -> Result<SendRequest<Bytes>, RpcError> {
        let (client, server) = memory::pipe();
        let (router, peer, config, shutdown) =
            (self.router.clone(), self.peer.clone(), self.config.clone(), self.shutdown.clone());
        // The server's task tracker: a stop waits for these calls as for any.
        self.shutdown.tasks.spawn(async move {
            let deadline = config.limits.handshake_deadline();
            let calls = OpenCalls::default();
            connection::serve(Box::new(server), deadline, peer, router, calls, &config, &shutdown).await;
        });
        let (sender, connection) = h2::client::Builder::new()
            .initial_window_size(self.config.http2.stream_window)
            .initial_connection_window_size(self.config.http2.connection_window)
            .max_header_list_size(MAX_HEADER_LIST_SIZE)
            // Boxed as the client's connections are: the same h2 code drives both.
            .handshake::<Box<dyn IoStream>, Bytes>(Box::new(client))
            .await
            .map_err(|e| unavailable(&e))?;
        self.shutdown.tasks.spawn(async move {
            // Ends when every handle and stream is dropped, or the server side closes.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

fn unavailable(err: &h2::Error) -> RpcError {
    RpcError::unavailable(format!("the server's gRPC-Web loopback failed: {err}"))
}
