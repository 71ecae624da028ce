//! In-process channels: a [`Channel`] connected to a [`Server`] of the same process through
//! in-memory pipes instead of a socket, for tests with a fake servicer and for in-process use.
//!
//! Both sides run their usual code (the client's h2 connection, the server's hyper one) over
//! the pipe, so metadata, deadlines, cancellation, status, limits, interceptors and
//! compression are those of a TCP connection. Here only the two ends meet; the client side
//! (`client/`) knows a pipe it can dial, the server side (`server/in_process.rs`) serves one.

use crate::client::target::IN_PROCESS_AUTHORITY;
use crate::{Channel, ChannelBuilder, Error, Server, ServiceDefinition};

impl Server {
    /// A channel to this server through memory: no port, no socket.
    ///
    /// Make it before or after [`start`](Server::start); a server with such a channel may start
    /// without ports. Calls made before the start wait for it (as on a port bound but not yet
    /// serving), and once the server [stops](Server::stop) new connections are refused, so calls
    /// fail with UNAVAILABLE as they would against a stopped TCP server. For the channel's own
    /// settings (interceptors, limits, default options) use [`ChannelBuilder::in_process`].
    ///
    /// ```
    /// # async fn demo(my_fake_service: rust_rpc::ServiceDefinition) -> Result<(), rust_rpc::Error> {
    /// let server = rust_rpc::Server::new();
    /// server.add_service(my_fake_service)?;
    /// let channel = server.in_process_channel()?;
    /// server.start()?;
    /// // let client = GreeterClient::new(channel);  (generated code, unchanged)
    /// # Ok(()) }
    /// ```
    pub fn in_process_channel(&self) -> Result<Channel, Error> {
        ChannelBuilder::in_process(self).build()
    }
}

impl ChannelBuilder {
    /// Settings for a channel to `server` through memory (see [`Server::in_process_channel`]).
    /// TLS credentials are refused when it is built: the bytes never leave the process.
    ///
    /// ```
    /// # fn demo(server: &rust_rpc::Server) -> Result<(), rust_rpc::Error> {
    /// let channel = rust_rpc::ChannelBuilder::in_process(server)
    ///     .max_receive_message_length(1024)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn in_process(server: &Server) -> ChannelBuilder {
        let mut builder = ChannelBuilder::new(IN_PROCESS_AUTHORITY);
        builder.in_process = Some(server.in_process_dialer());
        builder
    }
}

/// A channel to a new server, started at once, that serves `services` in memory: the shortest
/// way from a fake servicer to a client of it. The server runs on the current Tokio runtime
/// until the runtime ends; make the [`Server`] yourself (and [`Server::in_process_channel`])
/// to stop it or to give it settings.
///
/// ```
/// # async fn demo(fake_greeter: rust_rpc::ServiceDefinition) -> Result<(), rust_rpc::Error> {
/// // let channel = rust_rpc::in_process_channel([greeter_service(FakeGreeter)])?;  (generated)
/// let channel = rust_rpc::in_process_channel([fake_greeter])?;
/// // let client = GreeterClient::new(channel);
/// # Ok(()) }
/// ```
pub fn in_process_channel(services: impl IntoIterator<Item = ServiceDefinition>) -> Result<Channel, Error> {
    let server = Server::new();
    for service in services {
        server.add_service(service)?;
    }
    let channel = server.in_process_channel()?;
    server.start()?;
    Ok(channel)
}
