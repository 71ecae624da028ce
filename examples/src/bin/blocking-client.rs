//! The helloworld client without async: `blocking-client [--addr HOST:PORT] [--name NAME]`.
//! A plain `fn main()`; the generated `GreeterBlockingClient` runs its calls on the runtime's
//! shared background runtime, so there is nothing to set up.

use std::time::Duration;

use examples::helloworld::{GreeterBlockingClient, HelloRequest};
use rust_rpc::{CallOptions, Code};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "localhost:50051".to_owned());
    let name = examples::flag("name").unwrap_or_else(|| "world".to_owned());
    let client = GreeterBlockingClient::new(rust_rpc::insecure_channel(&addr)?)
        .with_options(CallOptions::new().timeout(Duration::from_secs(5)));

    let reply = client.say_hello(HelloRequest { name })?;
    println!("{}", reply.message);

    // Failures are errors like any other: the helloworld server refuses an empty name.
    match client.say_hello(HelloRequest::default()) {
        Err(err) if err.code() == Code::InvalidArgument => println!("refused: {}", err.details()),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
