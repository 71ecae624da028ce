//! A handler that panics fails its own call with UNKNOWN and the panic's message (as Python
//! grpc answers an exception in a handler), whether it panics before answering or while its
//! response stream is read; the server goes on serving, on the same connection.

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use e2e::routeguide::{Feature, Rectangle, RouteGuideClient, RouteGuideServicer, add_route_guide_servicer_to_server};
use rust_rpc::stream::StreamExt;
use rust_rpc::{Code, ResponseStream, Result, Server, ServicerContext};

use crate::support::{hello, no_hang};

/// Panics on `panic` (a literal message) and `panic-n` (a formatted one); greets otherwise.
struct Panicky;

impl GreeterServicer for Panicky {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        match request.name.as_str() {
            "panic" => panic!("the greeter fell over"),
            "panic-n" => panic!("the greeter fell over {} times", request.name.len()),
            name => Ok(HelloReply { message: format!("Hello {name}") }),
        }
    }
}

/// Streams `lo.latitude` features, then panics while its stream is polled for the next one.
impl RouteGuideServicer for Panicky {
    async fn list_features(&self, rect: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let before = rect.lo.map(|p| p.latitude).unwrap_or_default();
        let features = rust_rpc::stream::iter(0..).map(move |i| {
            if i == before {
                panic!("feature {i} is cursed");
            }
            Ok(Feature { name: format!("feature {i}"), location: None })
        });
        Ok(ResponseStream::new(features))
    }
}

fn start() -> (Server, rust_rpc::Channel) {
    let server = Server::new();
    add_greeter_servicer_to_server(Panicky, &server).expect("add greeter");
    add_route_guide_servicer_to_server(Panicky, &server).expect("add route guide");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

#[tokio::test]
async fn a_unary_handler_panic_is_unknown_with_its_message() {
    let (server, channel) = start();
    let client = GreeterClient::new(channel);

    let err = no_hang("panicking call", client.say_hello(hello("panic"))).await.expect_err("the handler panicked");
    assert_eq!(err.code(), Code::Unknown, "{err:?}");
    assert_eq!(err.details(), "the method handler panicked: the greeter fell over");
    let err = no_hang("panicking call", client.say_hello(hello("panic-n"))).await.expect_err("the handler panicked");
    assert_eq!(
        (err.code(), err.details()),
        (Code::Unknown, "the method handler panicked: the greeter fell over 7 times")
    );

    // The same connection goes on serving.
    let reply = no_hang("a later call", client.say_hello(hello("after"))).await.expect("a later call succeeds");
    assert_eq!(reply.message, "Hello after");
    server.stop(None).await;
}

#[tokio::test]
async fn a_stream_that_panics_ends_its_call_with_unknown_after_its_messages() {
    let (server, channel) = start();
    let client = RouteGuideClient::new(channel.clone());

    for before in [0, 3, 200] {
        let rect = Rectangle { lo: Some(e2e::routeguide::Point { latitude: before, longitude: 0 }), hi: None };
        let mut features = no_hang("the stream's head", client.list_features(rect)).await.expect("the call starts");
        let mut names = Vec::new();
        let err = loop {
            match no_hang("the next feature", features.message()).await {
                Ok(Some(feature)) => names.push(feature.name),
                Ok(None) => panic!("the stream ended OK after {names:?}"),
                Err(err) => break err,
            }
        };
        let expected: Vec<String> = (0..before).map(|i| format!("feature {i}")).collect();
        assert_eq!(names, expected, "every message before the panic arrives");
        assert_eq!(err.code(), Code::Unknown, "{err:?}");
        assert_eq!(err.details(), format!("the method handler panicked: feature {before} is cursed"));
    }

    // The server, and the same connection, go on serving.
    let reply = GreeterClient::new(channel).say_hello(hello("after")).await.expect("a later call succeeds");
    assert_eq!(reply.message, "Hello after");
    server.stop(None).await;
}
