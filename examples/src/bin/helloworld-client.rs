//! The helloworld client: `helloworld-client [--addr HOST:PORT] [--name NAME]
//! [--ca_file F [--server_host_override NAME]]` (with a CA file it uses TLS).

use std::time::Duration;

use examples::helloworld::{GreeterClient, HelloRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "localhost:50051".to_owned());
    let name = examples::flag("name").unwrap_or_else(|| "world".to_owned());
    let channel = match examples::flag("ca_file") {
        Some(ca) => {
            let mut credentials = rust_rpc::ChannelCredentials::with_root_ca(std::fs::read(ca)?);
            if let Some(name) = examples::flag("server_host_override") {
                credentials = credentials.server_name_override(name);
            }
            rust_rpc::secure_channel(&addr, credentials)?
        }
        None => rust_rpc::insecure_channel(&addr)?,
    };
    let client = GreeterClient::new(channel);
    let reply = client.say_hello(HelloRequest { name }).timeout(Duration::from_secs(5)).await?;
    println!("{}", reply.message);
    Ok(())
}
