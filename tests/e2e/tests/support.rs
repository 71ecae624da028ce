//! Shared helpers: servers on 127.0.0.1 port 0, clients for them, and slow handlers.

use std::sync::Arc;
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Metadata, Result, RpcError, Server, ServicerContext};
use tokio::sync::Notify;

/// A greeter whose behaviour depends on the name it is sent:
/// `sleep:<ms>` sleeps first, `fail:<code>` fails with that code, `echo-md` echoes metadata,
/// `echo-ua` answers with the request's `user-agent`.
#[derive(Clone, Default)]
pub struct TestGreeter {
    /// Notified when a handler observes that its call was cancelled.
    pub cancelled: Arc<Notify>,
    /// Notified when a slow handler starts.
    pub started: Arc<Notify>,
}

impl GreeterServicer for TestGreeter {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> Result<HelloReply> {
        if let Some(ms) = request.name.strip_prefix("sleep:") {
            let ms: u64 = ms.parse().map_err(|_| RpcError::invalid_argument("bad sleep"))?;
            self.started.notify_one();
            let watcher = context.clone();
            let cancelled = self.cancelled.clone();
            tokio::spawn(async move {
                watcher.cancelled().await;
                cancelled.notify_one();
            });
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(code) = request.name.strip_prefix("fail:") {
            let code: i32 = code.parse().map_err(|_| RpcError::invalid_argument("bad code"))?;
            let mut trailers = Metadata::new();
            trailers.insert("x-why", "asked to fail")?;
            return Err(RpcError::new(rust_rpc::Code::from_i32(code), "failed as asked \u{263A}\nline two")
                .with_metadata(trailers));
        }
        if request.name == "echo-md" {
            let incoming = context.invocation_metadata();
            let mut initial = Metadata::new();
            initial.insert("x-initial", incoming.get("x-ascii").unwrap_or("missing"))?;
            context.set_initial_metadata(initial);
            let mut trailing = Metadata::new();
            trailing.insert_bin("x-trailing-bin", incoming.get_bin("x-blob-bin").unwrap_or_default())?;
            context.set_trailing_metadata(trailing);
        }
        if request.name == "echo-ua" {
            let agent = context.invocation_metadata().get("user-agent").unwrap_or("missing").to_owned();
            return Ok(HelloReply { message: agent });
        }
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

/// A started server with `greeter` on 127.0.0.1, and its port.
pub fn start_greeter(greeter: TestGreeter) -> (Server, u16) {
    start_greeter_with(Server::new(), greeter)
}

/// Like [`start_greeter`] on a configured server.
pub fn start_greeter_with(server: Server, greeter: TestGreeter) -> (Server, u16) {
    add_greeter_servicer_to_server(greeter, &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

/// A client for the greeter on `port`.
pub fn greeter_client(port: u16) -> GreeterClient {
    GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

/// A request with this name.
pub fn hello(name: &str) -> HelloRequest {
    HelloRequest { name: name.to_owned() }
}

/// A port nothing listens on.
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
