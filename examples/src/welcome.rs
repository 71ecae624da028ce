//! Code that uses a generated client, and its unit test against a fake servicer through an
//! in-process channel: no port, no socket, the client used exactly as in production.

use rust_rpc::{Code, Result};

use crate::helloworld::{GreeterClient, HelloRequest};

/// A welcome line for `names`, greeting each through the Greeter; a name the server refuses
/// (INVALID_ARGUMENT) is left out, any other failure ends it.
pub async fn welcome(client: &GreeterClient, names: &[&str]) -> Result<String> {
    let mut greetings = Vec::new();
    for name in names {
        match client.say_hello(HelloRequest { name: (*name).to_owned() }).await {
            Ok(reply) => greetings.push(reply.message),
            Err(err) if err.code() == Code::InvalidArgument => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(greetings.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helloworld::{GreeterServicer, HelloReply, greeter_service};
    use rust_rpc::{RpcError, ServicerContext};

    /// The fake: refuses empty names, fails on "down", greets everyone else.
    struct FakeGreeter;

    impl GreeterServicer for FakeGreeter {
        async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
            match request.name.as_str() {
                "" => Err(RpcError::invalid_argument("name must not be empty")),
                "down" => Err(RpcError::unavailable("the fake is down")),
                name => Ok(HelloReply { message: format!("hi {name}") }),
            }
        }
    }

    #[tokio::test]
    async fn welcome_skips_refused_names_and_stops_at_other_errors() {
        let channel = rust_rpc::in_process_channel([greeter_service(FakeGreeter)]).expect("in-process channel");
        let client = GreeterClient::new(channel);

        assert_eq!(welcome(&client, &["ada", "", "bob"]).await.expect("welcome"), "hi ada / hi bob");
        let err = welcome(&client, &["ada", "down"]).await.expect_err("the fake is down");
        assert_eq!(err.code(), Code::Unavailable);
    }
}
