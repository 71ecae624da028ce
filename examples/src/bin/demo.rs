//! The quick demo: serve `helloworld.Greeter` on a free loopback port and call it, in one
//! process. The stubs were generated from `protos/helloworld.proto` by this crate's build.rs.

use std::time::Duration;

use examples::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Result, Server, ServicerContext};

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> Result<HelloReply> {
        Ok(HelloReply { message: format!("Hello {} (from {})", request.name, context.peer()) })
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let server = Server::new();
    add_greeter_servicer_to_server(Greeter, &server)?;
    let port = server.add_insecure_port("127.0.0.1:0")?;
    server.start()?;
    println!("server: listening on 127.0.0.1:{port}");

    let client = GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
    let reply = client.say_hello(HelloRequest { name: "rust-rpc".into() }).timeout(Duration::from_secs(5)).await?;
    println!("client: {}", reply.message);

    server.stop(Some(Duration::from_secs(1))).await;
    println!("server: stopped");
    Ok(())
}
