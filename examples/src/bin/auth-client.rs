//! Calls `auth-server` with a bearer token from a `ClientInterceptor`:
//! `auth-client [--addr HOST:PORT] [--token TOKEN] [--user NAME]` (defaults `localhost:50051`,
//! `s3cret`, `ada`). With a wrong token the call fails with UNAUTHENTICATED.

use std::time::Duration;

use examples::helloworld::{GreeterClient, HelloRequest};
use rust_rpc::{ChannelBuilder, ClientCall, ClientInterceptor, Result};

/// Sends the token and the user's name with every call.
struct Credentials {
    token: String,
    user: String,
}

impl ClientInterceptor for Credentials {
    async fn intercept(&self, call: &mut ClientCall<'_>) -> Result<()> {
        // A real client would refresh an expiring token here; the call's deadline bounds that.
        call.metadata_mut().insert("authorization", &format!("Bearer {}", self.token))?;
        call.metadata_mut().insert("x-user", &self.user)?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "localhost:50051".to_owned());
    let token = examples::flag("token").unwrap_or_else(|| "s3cret".to_owned());
    let user = examples::flag("user").unwrap_or_else(|| "ada".to_owned());
    let channel = ChannelBuilder::new(addr).interceptor(Credentials { token, user }).build()?;
    let client = GreeterClient::new(channel);
    let reply = client.say_hello(HelloRequest { name: "world".into() }).timeout(Duration::from_secs(5)).await?;
    println!("{}", reply.message);
    Ok(())
}
