//! The helloworld server: `helloworld-server [--addr HOST:PORT] [--tls_cert_file F --tls_key_file F]`
//! (default address `[::]:50051`; with both TLS flags it serves TLS).

use examples::helloworld::{GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Result, RpcError, Server, ServicerContext};

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        if request.name.is_empty() {
            return Err(RpcError::invalid_argument("name must not be empty"));
        }
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "[::]:50051".to_owned());
    let server = Server::new();
    add_greeter_servicer_to_server(Greeter, &server)?;
    // The standard health service: probes and load balancers ask it whether we serve.
    let health = rust_rpc::health::Health::new();
    health.set_status("helloworld.Greeter", rust_rpc::health::ServingStatus::Serving);
    rust_rpc::health::add_health_servicer_to_server(health, &server)?;
    // Server reflection: grpcurl, buf curl, Evans and Postman discover our services.
    rust_rpc::reflection::enable_server_reflection(&server)?;
    let port = match (examples::flag("tls_cert_file"), examples::flag("tls_key_file")) {
        (Some(cert), Some(key)) => {
            let credentials = rust_rpc::ServerCredentials::new(std::fs::read(cert)?, std::fs::read(key)?);
            server.add_secure_port(&addr, credentials)?
        }
        _ => server.add_insecure_port(&addr)?,
    };
    server.start()?;
    println!("helloworld-server listening on port {port}");
    examples::serve_until_signal(&server).await?;
    Ok(())
}
