//! A server's ports: binding them (`add_insecure_port`, `add_secure_port`) and, once the server
//! starts, accepting connections on them until it drains.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::server::builder::ServerBuilder;
use crate::server::connection;
use crate::server::limits::ConnectionSlots;
#[cfg(feature = "tls")]
use crate::server::peer::AuthContext;
use crate::server::peer::Peer;
use crate::server::router::Router;
use crate::server::stop::Shutdown;
use crate::transport::coalesce::{Coalesce, OpenCalls};
use crate::transport::io::IoStream;
use crate::transport::tls::Acceptor;

/// A bound socket, not yet accepting.
pub(crate) struct Listener {
    socket: Socket,
    tls: Option<Acceptor>,
}

enum Socket {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener, PathBuf),
}

fn bind_error(addr: &str, err: std::io::Error) -> Error {
    Error::new(ErrorKind::Bind, format!("could not bind {addr}: {err}")).with_source(err)
}

/// Binds `address` (`[::]:50051`, `localhost:0`, `unix:/path`): every address it names, all on
/// the port the first one got. Gives the listeners and that port (0 for a Unix socket).
pub(crate) fn bind(address: &str, tls: Option<Acceptor>) -> Result<(Vec<Listener>, u16), Error> {
    let mut bound = Vec::new();
    let port = if let Some(path) = address.strip_prefix("unix:") {
        let path = PathBuf::from(path.strip_prefix("//").unwrap_or(path));
        let listener = std::os::unix::net::UnixListener::bind(&path).map_err(|e| bind_error(address, e))?;
        listener.set_nonblocking(true).map_err(|e| bind_error(address, e))?;
        bound.push(Socket::Unix(listener, path));
        0
    } else {
        let addrs: Vec<SocketAddr> =
            std::net::ToSocketAddrs::to_socket_addrs(address).map_err(|e| bind_error(address, e))?.collect();
        let mut port = None;
        let mut last_error = None;
        for mut addr in addrs {
            if let Some(port) = port {
                // Every address of a name like `localhost` gets the port the first one got.
                addr.set_port(port);
            }
            match listen_tcp(addr) {
                Ok(listener) => {
                    listener.set_nonblocking(true).map_err(|e| bind_error(address, e))?;
                    let local = listener.local_addr().map_err(|e| bind_error(address, e))?;
                    port.get_or_insert(local.port());
                    bound.push(Socket::Tcp(listener));
                }
                Err(e) => last_error = Some(e),
            }
        }
        match (port, last_error) {
            (Some(port), _) => port,
            (None, Some(e)) => return Err(bind_error(address, e)),
            (None, None) => {
                return Err(Error::new(ErrorKind::Bind, format!("could not bind {address}: it names no address")));
            }
        }
    };
    let listeners = bound.into_iter().map(|socket| Listener { socket, tls: tls.clone() }).collect();
    Ok((listeners, port))
}

/// How many connections the kernel may hold for a listener before it accepts them (capped by
/// `net.core.somaxconn`). std's `TcpListener::bind` asks for 128, which a burst of clients
/// connecting at once overflows (their SYNs are dropped and retried a second later); grpc-go
/// asks for `somaxconn` itself, 4096 on current Linux.
const BACKLOG: i32 = 4096;

/// A TCP listener on `addr`, as `std::net::TcpListener::bind` makes one (`SO_REUSEADDR` on
/// Unix, the system's dual-stack default for IPv6) but with [`BACKLOG`].
fn listen_tcp(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

impl Listener {
    /// Hands the socket to the current Tokio runtime.
    pub(crate) fn listen(self) -> Result<Accepting, Error> {
        let socket = match self.socket {
            Socket::Tcp(l) => tokio::net::TcpListener::from_std(l).map(Accept::Tcp),
            Socket::Unix(l, path) => tokio::net::UnixListener::from_std(l).map(|l| Accept::Unix(l, path)),
        }
        .map_err(|e| Error::new(ErrorKind::Bind, format!("could not listen: {e}")).with_source(e))?;
        Ok(Accepting { socket, tls: self.tls })
    }
}

/// A socket accepting connections.
pub(crate) struct Accepting {
    socket: Accept,
    tls: Option<Acceptor>,
}

enum Accept {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Accept {
    async fn accept(&self) -> std::io::Result<(Box<dyn IoStream>, Option<SocketAddr>)> {
        match self {
            Accept::Tcp(listener) => {
                let (stream, peer) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok((Box::new(stream), Some(peer)))
            }
            Accept::Unix(listener, _) => {
                let (stream, _) = listener.accept().await?;
                Ok((Box::new(stream), None))
            }
        }
    }
}

impl Accepting {
    /// Accepts connections until the server drains, serving each on a task of its own.
    /// Connections over the server's limit (`slots`) are closed as soon as they are accepted.
    pub(crate) async fn run(
        self,
        router: Arc<Router>,
        config: Arc<ServerBuilder>,
        shutdown: Shutdown,
        slots: ConnectionSlots,
    ) {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.draining.cancelled() => break,
                accepted = self.socket.accept() => accepted,
            };
            let (stream, addr) = match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.take() else {
                // Over `max_connections`: closed at once (dropping the stream), unread.
                continue;
            };
            let (router, config, tls, connection_shutdown) =
                (router.clone(), config.clone(), self.tls.clone(), shutdown.clone());
            shutdown.tasks.spawn(async move {
                let _slot = slot;
                let deadline = config.limits.handshake_deadline();
                let (io, peer): (Box<dyn IoStream>, Peer) = match tls {
                    None => (stream, Peer { addr, auth: None }),
                    #[cfg(not(feature = "tls"))]
                    Some(never) => match never {},
                    #[cfg(feature = "tls")]
                    Some(acceptor) => {
                        match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                // The client's identity, read once for every call on the connection.
                                let auth = Arc::new(AuthContext::new(tls.get_ref().1));
                                (Box::new(tls), Peer { addr, auth: Some(auth) })
                            }
                            _ => return,
                        }
                    }
                };
                // Responses ready together go out in one write (see transport/coalesce.rs).
                let calls = OpenCalls::default();
                #[cfg(feature = "grpc-web")]
                if let Some(web) = &config.grpc_web {
                    let serving = crate::server::web::connection::serve(
                        io,
                        deadline,
                        peer,
                        router,
                        calls.clone(),
                        config.clone(),
                        connection_shutdown,
                        web,
                    );
                    return Coalesce::new(serving, calls).await;
                }
                let serving =
                    connection::serve(io, deadline, peer, router, calls.clone(), &config, &connection_shutdown);
                Coalesce::new(serving, calls).await;
            });
        }
        if let Accept::Unix(_, path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of clients connecting before the server accepts any all wait in the kernel's
    /// queue. With std's backlog of 128 the 130th and later connections are not answered (their
    /// SYNs are dropped) and time out here.
    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_backlog() {
        let (listeners, port) = bind("127.0.0.1:0", None).expect("bind");
        // The kernel caps the backlog at somaxconn: test what this machine can hold.
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(128);
        let burst = somaxconn.saturating_sub(8).min(400);
        let mut held = Vec::with_capacity(burst);
        for n in 0..burst {
            let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
            let connected = tokio::time::timeout(std::time::Duration::from_secs(10), connect).await;
            let stream = connected.unwrap_or_else(|_| panic!("connection {n} of {burst} was not answered"));
            held.push(stream.expect("connect"));
        }
        drop(listeners);
    }
}
