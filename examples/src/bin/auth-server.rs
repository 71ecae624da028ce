//! The helloworld server behind a bearer-token check: `auth-server [--addr HOST:PORT]
//! [--token TOKEN]` (default `[::]:50051`, token `s3cret`). A `ServerInterceptor` answers
//! UNAUTHENTICATED to calls without `authorization: Bearer TOKEN`, and hands the caller's name
//! (`x-user`) to the handler; a second one logs every call's method, status and duration.
//! Try it with `auth-client`.

use examples::helloworld::{GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{CallOutcome, Result, RpcError, Server, ServerInterceptor, ServicerContext};

/// Who the token belongs to, as the check hands it to the handler.
#[derive(Clone)]
struct Caller(String);

struct BearerToken(String);

impl ServerInterceptor for BearerToken {
    async fn intercept(&self, context: &ServicerContext) -> Result<()> {
        let metadata = context.invocation_metadata();
        if metadata.get("authorization") != Some(format!("Bearer {}", self.0).as_str()) {
            return Err(RpcError::unauthenticated("a valid bearer token is required"));
        }
        context.insert_extension(Caller(metadata.get("x-user").unwrap_or("someone").to_owned()));
        Ok(())
    }
}

struct Logging;

impl ServerInterceptor for Logging {
    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        println!("{} {} {:?} in {:?}", context.peer(), context.method(), outcome.code(), outcome.duration());
    }
}

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> Result<HelloReply> {
        let caller = context.extension::<Caller>().map_or_else(|| "someone".to_owned(), |c| c.0);
        Ok(HelloReply { message: format!("Hello {}, from a call {caller} made", request.name) })
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "[::]:50051".to_owned());
    let token = examples::flag("token").unwrap_or_else(|| "s3cret".to_owned());
    // Logging first, so it hears of the calls the token check refuses too.
    let server = Server::builder().interceptor(Logging).interceptor(BearerToken(token)).build();
    add_greeter_servicer_to_server(Greeter, &server)?;
    let port = server.add_insecure_port(&addr)?;
    server.start()?;
    println!("auth-server listening on port {port}");
    examples::serve_until_signal(&server).await?;
    Ok(())
}
