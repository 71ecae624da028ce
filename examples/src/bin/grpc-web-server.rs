//! The helloworld server with gRPC-Web on: browsers call it directly, no proxy.
//!
//! `grpc-web-server [--addr HOST:PORT] [--allow-origin ORIGIN[,ORIGIN...]]` (default address
//! `[::]:8080`). Pages from the listed origins may call it (`examples/web/` has one); gRPC
//! clients call it on the same port as ever.
//!
//! Besides `helloworld.Greeter/SayHello` it serves `helloworld.stream.StreamingGreeter`, a
//! server stream, and shows metadata both ways: the request's `x-request-id` comes back as
//! initial metadata (exposed to pages through CORS) and every call ends with the trailing
//! metadata `x-served-by`. An empty name fails with INVALID_ARGUMENT and a `BadRequest` detail.

use std::time::Duration;

use examples::helloworld::stream::{
    HelloStreamRequest, StreamingGreeterServicer, add_streaming_greeter_servicer_to_server,
};
use examples::helloworld::{GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::error_details::{BadRequest, bad_request::FieldViolation};
use rust_rpc::{GrpcWeb, Metadata, ResponseStream, Result, RpcError, Server, ServicerContext};

struct Greeter;

/// The metadata both methods send: the caller's request id back, and who served the call.
fn answer_metadata(context: &ServicerContext) {
    if let Some(id) = context.invocation_metadata().get("x-request-id") {
        let mut initial = Metadata::new();
        if initial.insert("x-request-id", id).is_ok() {
            context.set_initial_metadata(initial);
        }
    }
    let mut trailing = Metadata::new();
    if trailing.insert("x-served-by", "rust-rpc grpc-web-server").is_ok() {
        context.set_trailing_metadata(trailing);
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(RpcError::invalid_argument("name must not be empty").with_error_details([BadRequest {
            field_violations: vec![FieldViolation {
                field: "name".into(),
                description: "a greeting needs a name".into(),
                ..Default::default()
            }],
        }]));
    }
    Ok(())
}

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> Result<HelloReply> {
        answer_metadata(&context);
        check_name(&request.name)?;
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

impl StreamingGreeterServicer for Greeter {
    async fn say_hello_stream(
        &self,
        request: HelloStreamRequest,
        context: ServicerContext,
    ) -> Result<ResponseStream<HelloReply>> {
        answer_metadata(&context);
        check_name(&request.name)?;
        let (sender, stream) = ResponseStream::channel(4);
        tokio::spawn(async move {
            for i in 1..=request.count {
                if i > 1 {
                    tokio::time::sleep(Duration::from_millis(u64::from(request.interval_ms))).await;
                }
                let reply = HelloReply { message: format!("Hello {} #{i}", request.name) };
                if sender.send(Ok(reply)).await.is_err() {
                    return; // The call ended (deadline, cancellation): stop greeting.
                }
            }
        });
        Ok(stream)
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let addr = examples::flag("addr").unwrap_or_else(|| "[::]:8080".to_owned());
    // Pages read initial metadata only when listed. Trailing metadata travels in the body,
    // except when a call fails before its first message: that status and its metadata come in
    // the headers (a trailers-only response), so x-served-by is listed too.
    let mut web = GrpcWeb::new().expose_header("x-request-id").expose_header("x-served-by");
    for origin in examples::flag("allow-origin").iter().flat_map(|list| list.split(',')) {
        web = web.allow_origin(origin);
    }
    let server = Server::builder().grpc_web(web).build();
    add_greeter_servicer_to_server(Greeter, &server)?;
    add_streaming_greeter_servicer_to_server(Greeter, &server)?;
    let port = server.add_insecure_port(&addr)?;
    server.start()?;
    println!("grpc-web-server listening on port {port}");
    examples::serve_until_signal(&server).await?;
    Ok(())
}
