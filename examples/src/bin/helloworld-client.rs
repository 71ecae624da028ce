//! The helloworld client: `helloworld-client [--addr HOST:PORT] [--name NAME]`.

use std::time::Duration;

use examples::helloworld::{GreeterClient, HelloRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "localhost:50051".to_owned());
    let name = examples::flag("name").unwrap_or_else(|| "world".to_owned());
    let channel = rust_rpc::insecure_channel(&addr)?;
    let client = GreeterClient::new(channel);
    let reply = client.say_hello(HelloRequest { name }).timeout(Duration::from_secs(5)).await?;
    println!("{}", reply.message);
    Ok(())
}
