//! In-process channels: generated clients of fake servicers, served through memory with the
//! semantics of a TCP connection (metadata, deadlines, cancellation, status, limits,
//! interceptors, compression, a stopped server).

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::helloworld::{GreeterClient, add_greeter_servicer_to_server};
use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary, route_guide_service,
};
use rust_rpc::error_details::ErrorInfo;
use rust_rpc::stream::StreamExt;
use rust_rpc::{
    ChannelBuilder, Code, Compression, Metadata, RequestStream, ResponseStream, Result, RpcError, Server,
    ServerInterceptor, ServicerContext,
};

use crate::support::{TestGreeter, hello, no_hang};

/// A fake route guide, as a test of code that uses a `RouteGuideClient` would write one.
struct FakeGuide;

impl RouteGuideServicer for FakeGuide {
    async fn get_feature(&self, point: Point, context: ServicerContext) -> Result<Feature> {
        if point.latitude < 0 {
            return Err(RpcError::invalid_argument("south of the equator").with_error_details([ErrorInfo {
                reason: "SOUTH".into(),
                domain: "guide.test".into(),
                metadata: [("latitude".to_owned(), point.latitude.to_string())].into(),
            }]));
        }
        let from = if context.peer_addr().is_none() { "no address" } else { "an address" };
        Ok(Feature { name: format!("{},{} from {from}", point.latitude, point.longitude), location: Some(point) })
    }

    async fn list_features(&self, rect: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let n = rect.hi.map_or(0, |p| p.latitude);
        Ok(ResponseStream::iter((0..n).map(|i| Feature { name: format!("f{i}"), location: None })))
    }

    async fn record_route(&self, mut points: RequestStream<Point>, _context: ServicerContext) -> Result<RouteSummary> {
        let mut summary = RouteSummary::default();
        while let Some(point) = points.message().await? {
            summary.point_count += 1;
            summary.distance += point.latitude;
        }
        Ok(summary)
    }

    async fn route_chat(
        &self,
        notes: RequestStream<RouteNote>,
        context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        // Answers compressed as asked, and says how the request came.
        let compression = context.request_compression();
        context.set_compression(compression);
        let how = compression.map_or("plain", |c| c.as_str());
        Ok(ResponseStream::new(
            notes.map(move |note| note.map(|n| RouteNote { message: format!("re: {} ({how})", n.message), ..n })),
        ))
    }
}

fn note(message: &str) -> RouteNote {
    RouteNote { location: None, message: message.to_owned() }
}

#[tokio::test]
async fn a_generated_client_of_a_fake_servicer_makes_all_four_kinds_of_call_in_process() {
    let channel = rust_rpc::in_process_channel([route_guide_service(FakeGuide)]).expect("in-process channel");
    let client = RouteGuideClient::new(channel);

    let feature = no_hang("unary", client.get_feature(Point { latitude: 1, longitude: 2 })).await.expect("unary");
    // No socket: the server sees no address.
    assert_eq!(feature.name, "1,2 from no address");

    let rect = Rectangle { lo: None, hi: Some(Point { latitude: 3, longitude: 0 }) };
    let stream = no_hang("server streaming", client.list_features(rect)).await.expect("server streaming");
    let names: Vec<String> = stream.map(|f| f.expect("feature").name).collect().await;
    assert_eq!(names, ["f0", "f1", "f2"]);

    let points = rust_rpc::stream::iter((1..=4).map(|latitude| Point { latitude, longitude: 0 }));
    let summary = no_hang("client streaming", client.record_route(points)).await.expect("client streaming");
    assert_eq!((summary.point_count, summary.distance), (4, 10));

    let notes = rust_rpc::stream::iter([note("a"), note("b")]);
    let replies = no_hang("bidi", client.route_chat(notes)).await.expect("bidi");
    let replies: Vec<String> = replies.map(|n| n.expect("note").message).collect().await;
    assert_eq!(replies, ["re: a (plain)", "re: b (plain)"]);
}

#[tokio::test]
async fn metadata_goes_both_ways_and_a_status_keeps_its_details_in_process() {
    let server = Server::new();
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    server.add_service(route_guide_service(FakeGuide)).expect("add");
    let channel = server.in_process_channel().expect("channel");
    server.start().expect("start without ports");

    let greeter = GreeterClient::new(channel.clone());
    let response = greeter
        .say_hello(hello("echo-md"))
        .add_metadata("x-ascii", "hi")
        .expect("metadata")
        .metadata({
            let mut md = Metadata::new();
            md.insert_bin("x-blob-bin", b"\x00\x01").expect("bin");
            md
        })
        .with_call()
        .await
        .expect("call");
    assert_eq!(response.initial_metadata().get("x-initial"), Some("hi"));
    assert_eq!(response.trailing_metadata().get_bin("x-trailing-bin"), Some(bytes::Bytes::from_static(b"\x00\x01")));

    let failed = greeter.say_hello(hello("fail:9")).await.expect_err("asked to fail");
    assert_eq!(failed.code(), Code::FailedPrecondition);
    assert_eq!(failed.metadata().get("x-why"), Some("asked to fail"));

    let guide = RouteGuideClient::new(channel);
    let err = guide.get_feature(Point { latitude: -5, longitude: 0 }).await.expect_err("south");
    assert_eq!(err.code(), Code::InvalidArgument);
    let info = err.error_detail::<ErrorInfo>().expect("an ErrorInfo detail");
    assert_eq!((info.reason.as_str(), info.metadata.get("latitude").map(String::as_str)), ("SOUTH", Some("-5")));
}

#[tokio::test]
async fn a_deadline_ends_the_call_on_both_sides_in_process() {
    let greeter = TestGreeter::default();
    let server = Server::new();
    add_greeter_servicer_to_server(greeter.clone(), &server).expect("add");
    let client = GreeterClient::new(server.in_process_channel().expect("channel"));
    server.start().expect("start");
    let err = no_hang("deadline", client.say_hello(hello("hold")).timeout(Duration::from_millis(100)))
        .await
        .expect_err("held past its deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    // The handler saw its call end (it was never released).
    no_hang("the handler sees the deadline", greeter.cancelled.notified()).await;
}

#[tokio::test]
async fn cancelling_a_call_reaches_the_handler_in_process() {
    let greeter = TestGreeter::default();
    let channel = rust_rpc::in_process_channel([e2e::helloworld::greeter_service(greeter.clone())]).expect("channel");
    let client = GreeterClient::new(channel);
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let call = tokio::spawn(
        client
            .say_hello(hello("hold"))
            .cancel_on(async move {
                let _ = cancelled.await;
            })
            .into_future(),
    );
    no_hang("the handler starts", greeter.started.notified()).await;
    drop(cancel);
    let err = no_hang("the cancelled call", call).await.expect("join").expect_err("cancelled");
    assert_eq!(err.code(), Code::Cancelled);
    no_hang("the handler sees the cancellation", greeter.cancelled.notified()).await;
}

#[tokio::test]
async fn message_size_limits_hold_in_process() {
    let server = Server::builder().max_receive_message_length(64).build();
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    let small_client_limit =
        ChannelBuilder::in_process(&server).max_receive_message_length(16).build().expect("channel");
    let client = GreeterClient::new(server.in_process_channel().expect("channel"));
    server.start().expect("start");

    let err = client.say_hello(hello(&"x".repeat(100))).await.expect_err("request over the server's limit");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.details().contains("64"), "{err}");
    client.say_hello(hello("small")).await.expect("a request under the limit");

    let err = GreeterClient::new(small_client_limit)
        .say_hello(hello("a name that makes a long reply"))
        .await
        .expect_err("reply over the client's limit");
    assert_eq!(err.code(), Code::ResourceExhausted);
}

/// Lets calls through with `x-token: open`; counts them.
#[derive(Default, Clone)]
struct Gate(Arc<AtomicUsize>);

impl ServerInterceptor for Gate {
    async fn intercept(&self, context: &ServicerContext) -> Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        match context.invocation_metadata().get("x-token") {
            Some("open") => Ok(()),
            _ => Err(RpcError::unauthenticated("no token")),
        }
    }
}

#[tokio::test]
async fn interceptors_and_compression_work_in_process() {
    let gate = Gate::default();
    let server = Server::builder().interceptor(gate.clone()).build();
    server.add_service(route_guide_service(FakeGuide)).expect("add");
    let client = RouteGuideClient::new(server.in_process_channel().expect("channel"));
    server.start().expect("start");

    let err = client.get_feature(Point::default()).await.expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);

    let mut replies = client
        .route_chat(rust_rpc::stream::iter([note(&"long ".repeat(200))]))
        .add_metadata("x-token", "open")
        .expect("metadata")
        .compression(Compression::Gzip)
        .await
        .expect("bidi");
    let reply = replies.message().await.expect("reply").expect("one note");
    assert!(reply.message.starts_with("re: long") && reply.message.ends_with("(gzip)"), "{}", reply.message);
    assert_eq!(gate.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_stopped_server_refuses_in_process_calls_with_unavailable() {
    let server = Server::new();
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    let channel = server.in_process_channel().expect("channel");
    server.start().expect("start");
    let client = GreeterClient::new(channel);
    client.say_hello(hello("before")).await.expect("served while running");
    assert!(client.channel().is_connected());

    no_hang("stop", server.stop(None)).await;
    let err = no_hang("call after stop", client.say_hello(hello("after"))).await.expect_err("stopped");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    // A channel made after the stop is refused too.
    let late = GreeterClient::new(server.in_process_channel().expect("channel"));
    let err = no_hang("new channel after stop", late.say_hello(hello("late"))).await.expect_err("stopped");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.details().contains("stopped"), "{err}");
}

#[tokio::test]
async fn a_call_made_before_the_server_starts_waits_for_the_start() {
    let server = Server::new();
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    let client = GreeterClient::new(server.in_process_channel().expect("channel"));
    let call = tokio::spawn(client.say_hello(hello("early")).into_future());
    server.start().expect("start");
    let reply = no_hang("the early call", call).await.expect("join").expect("served once started");
    assert_eq!(reply.message, "Hello early");
}

#[tokio::test]
async fn a_server_without_ports_or_in_process_channels_does_not_start() {
    let err = Server::new().start().expect_err("nothing to serve on");
    assert!(err.to_string().contains("in-process channel"), "{err}");
    let creds = rust_rpc::ChannelCredentials::with_root_ca(Vec::new());
    let err = ChannelBuilder::in_process(&Server::new()).credentials(creds).build().expect_err("TLS in memory");
    assert!(err.to_string().contains("in-process"), "{err}");
}
