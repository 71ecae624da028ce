//! Generic calls (any method by a run-time path, raw bytes or any codec) against generated
//! servers, and a server's fallback handler: a tiny proxy that forwards every unknown method's
//! bytes to another server with generic calls, used by generated clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use e2e::helloworld::{GreeterClient, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary,
    add_route_guide_servicer_to_server,
};
use rust_rpc::prost::Message;
use rust_rpc::stream::StreamExt;
use rust_rpc::{
    Channel, Code, Codec, GenericClient, RequestStream, ResponseStream, Result, RpcError, Server, ServerInterceptor,
    ServicerContext,
};

use crate::support::{TestGreeter, hello, no_hang};

/// A route guide whose answers show what it received.
struct Guide;

impl RouteGuideServicer for Guide {
    async fn get_feature(&self, point: Point, context: ServicerContext) -> Result<Feature> {
        let via = context.invocation_metadata().get("x-via").unwrap_or("direct").to_owned();
        Ok(Feature { name: format!("{},{} {via}", point.latitude, point.longitude), location: Some(point) })
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
        _context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        Ok(ResponseStream::new(
            notes.map(|note| note.map(|n| RouteNote { message: format!("re: {}", n.message), ..n })),
        ))
    }
}

/// A backend on 127.0.0.1 serving the route guide and the test greeter, and a channel to it.
fn start_backend() -> (Server, Channel) {
    let server = Server::new();
    add_route_guide_servicer_to_server(Guide, &server).expect("add");
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

fn method(name: &str) -> String {
    // Built at run time, as a dynamic client's would be.
    format!("/routeguide.RouteGuide/{name}")
}

fn note(message: &str) -> RouteNote {
    RouteNote { location: None, message: message.to_owned() }
}

#[tokio::test]
async fn raw_bytes_calls_of_all_four_kinds_reach_a_generated_server() {
    let (_backend, channel) = start_backend();
    let client = GenericClient::raw(channel);

    let request = Bytes::from(Point { latitude: 3, longitude: 4 }.encode_to_vec());
    let reply: Bytes = no_hang("unary", client.unary(method("GetFeature"), request)).await.expect("unary");
    assert_eq!(Feature::decode(reply).expect("a Feature").name, "3,4 direct");

    let rect = Rectangle { lo: None, hi: Some(Point { latitude: 2, longitude: 0 }) };
    let stream = client.server_streaming::<_, Bytes>(method("ListFeatures"), Bytes::from(rect.encode_to_vec()));
    let features: Vec<String> = no_hang("server streaming", stream)
        .await
        .expect("started")
        .map(|bytes| Feature::decode(bytes.expect("message")).expect("a Feature").name)
        .collect()
        .await;
    assert_eq!(features, ["f0", "f1"]);

    let points =
        rust_rpc::stream::iter([5, 6].map(|latitude| Bytes::from(Point { latitude, longitude: 0 }.encode_to_vec())));
    let summary: Bytes = no_hang("client streaming", client.client_streaming(method("RecordRoute"), points))
        .await
        .expect("client streaming");
    let summary = RouteSummary::decode(summary).expect("a RouteSummary");
    assert_eq!((summary.point_count, summary.distance), (2, 11));

    let notes = rust_rpc::stream::iter([note("x"), note("y")].map(|n| Bytes::from(n.encode_to_vec())));
    let mut replies =
        no_hang("bidi", client.bidi_streaming::<_, Bytes>(method("RouteChat"), notes)).await.expect("bidi");
    let mut got = Vec::new();
    while let Some(bytes) = replies.message().await.expect("reply") {
        got.push(RouteNote::decode(bytes).expect("a RouteNote").message);
    }
    assert_eq!(got, ["re: x", "re: y"]);
    assert!(replies.trailing_metadata().is_some(), "trailers after the stream ended with OK");
}

#[tokio::test]
async fn prost_calls_by_run_time_path_carry_options_metadata_and_status() {
    let (_backend, channel) = start_backend();
    let client = GenericClient::new(channel);
    let path: &str = &String::from("/helloworld.Greeter/SayHello");

    let response = client
        .unary::<_, HelloReply>(path, hello("echo-md"))
        .add_metadata("x-ascii", "generic")
        .expect("metadata")
        .timeout(Duration::from_secs(10))
        .with_call()
        .await
        .expect("call");
    assert_eq!(response.initial_metadata().get("x-initial"), Some("generic"));

    let err = client.unary::<_, HelloReply>(path, hello("fail:8")).await.expect_err("asked to fail");
    assert_eq!((err.code(), err.metadata().get("x-why")), (Code::ResourceExhausted, Some("asked to fail")));

    let err = client
        .unary::<_, HelloReply>(path, hello("sleep:5000"))
        .timeout(Duration::from_millis(50))
        .await
        .expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    let err = client.unary::<_, HelloReply>("/helloworld.Greeter/Nope", hello("x")).await.expect_err("unknown");
    assert_eq!(err.code(), Code::Unimplemented);
    let err = client.unary::<_, HelloReply>("no-slash", hello("x")).await.expect_err("a bad path");
    assert_eq!(err.code(), Code::Internal);
}

/// Text messages; refuses to encode `"poison"`.
#[derive(Clone, Copy, Debug)]
struct PickyText;

impl Codec<String> for PickyText {
    fn encode(&self, message: String) -> Result<Bytes> {
        if message == "poison" {
            return Err(RpcError::invalid_argument("PickyText does not send poison"));
        }
        Ok(Bytes::from(message))
    }

    fn decode(&self, bytes: Bytes) -> Result<String> {
        String::from_utf8(bytes.to_vec()).map_err(|e| RpcError::internal(e.to_string()))
    }
}

#[tokio::test]
async fn a_custom_codec_is_used_both_ways_and_its_errors_fail_the_call() {
    // An echo server for any method, so text goes through as it is.
    let server =
        Server::builder().fallback(|requests, _context| async move { Ok(ResponseStream::new(requests)) }).build();
    let channel = server.in_process_channel().expect("channel");
    server.start().expect("start");
    let client = GenericClient::with_codec(channel, PickyText);

    let echoed: String = client.unary("/text.Echo/Say", "héllo".to_owned()).await.expect("unary");
    assert_eq!(echoed, "héllo");

    let err = client.unary::<_, String>("/text.Echo/Say", "poison".to_owned()).await.expect_err("not encoded");
    assert_eq!(err.code(), Code::InvalidArgument);

    // In a stream, the codec's error fails the call, rather than the stream ending early.
    let words = rust_rpc::stream::iter(["one", "poison", "three"].map(str::to_owned));
    let err = no_hang("client streaming", client.client_streaming::<_, String>("/text.Echo/Many", words))
        .await
        .expect_err("poisoned");
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");

    let words = rust_rpc::stream::iter(["one", "poison"].map(str::to_owned));
    let mut replies =
        no_hang("bidi", client.bidi_streaming::<_, String>("/text.Echo/Chat", words)).await.expect("started");
    let mut last = None;
    while let Some(item) = no_hang("a reply", replies.next()).await {
        match item {
            Ok(word) => assert_eq!(word, "one"),
            Err(err) => last = Some(err),
        }
    }
    assert_eq!(last.map(|e| e.code()), Some(Code::InvalidArgument));
}

/// Counts the calls it sees and the methods they were for.
#[derive(Default, Clone)]
struct Seen(Arc<std::sync::Mutex<Vec<String>>>);

impl ServerInterceptor for Seen {
    async fn intercept(&self, context: &ServicerContext) -> Result<()> {
        self.0.lock().expect("lock").push(context.method().to_owned());
        Ok(())
    }
}

/// A proxy server whose only handler is the fallback: every call's bytes, metadata and
/// deadline go to `backend` through a generic call.
fn start_proxy(backend: Channel, seen: Seen) -> (Server, u16) {
    let upstream = GenericClient::raw(backend);
    let proxy = Server::builder()
        .interceptor(seen)
        .fallback(move |requests: RequestStream<Bytes>, context: ServicerContext| {
            let upstream = upstream.clone();
            async move {
                let mut metadata = context.invocation_metadata().clone();
                metadata.insert("x-via", "proxy")?;
                let requests = requests.map_while(Result::ok);
                let mut call =
                    upstream.bidi_streaming::<_, Bytes>(context.method().to_owned(), requests).metadata(metadata);
                if let Some(deadline) = context.deadline() {
                    call = call.deadline(deadline);
                }
                Ok(ResponseStream::new(call.await?))
            }
        })
        .build();
    let port = proxy.add_insecure_port("127.0.0.1:0").expect("bind");
    proxy.start().expect("start");
    (proxy, port)
}

#[tokio::test]
async fn a_fallback_handler_proxies_every_kind_of_call_for_typed_clients() {
    let (_backend, backend) = start_backend();
    let seen = Seen::default();
    let (_proxy, port) = start_proxy(backend, seen.clone());
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    let guide = RouteGuideClient::new(channel.clone());

    let feature = no_hang("unary", guide.get_feature(Point { latitude: 7, longitude: 8 })).await.expect("unary");
    assert_eq!(feature.name, "7,8 proxy");

    let rect = Rectangle { lo: None, hi: Some(Point { latitude: 3, longitude: 0 }) };
    let names: Vec<String> = no_hang("server streaming", guide.list_features(rect))
        .await
        .expect("started")
        .map(|f| f.expect("feature").name)
        .collect()
        .await;
    assert_eq!(names, ["f0", "f1", "f2"]);

    let points = rust_rpc::stream::iter([1, 2, 3].map(|latitude| Point { latitude, longitude: 0 }));
    let summary = no_hang("client streaming", guide.record_route(points)).await.expect("client streaming");
    assert_eq!((summary.point_count, summary.distance), (3, 6));

    let replies = no_hang("bidi", guide.route_chat(rust_rpc::stream::iter([note("p")]))).await.expect("bidi");
    let replies: Vec<String> = replies.map(|n| n.expect("note").message).collect().await;
    assert_eq!(replies, ["re: p"]);

    // The backend's status comes back through the proxy, and the client's deadline goes through.
    let greeter = GreeterClient::new(channel);
    let err = greeter.say_hello(HelloRequest { name: "fail:7".into() }).await.expect_err("asked to fail");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.details().contains("failed as asked"), "{err}");
    let err = greeter.say_hello(hello("sleep:5000")).timeout(Duration::from_millis(100)).await.expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // The proxy's interceptor ran for every fallback call.
    let seen = seen.0.lock().expect("lock").clone();
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0], "/routeguide.RouteGuide/GetFeature");
}

#[tokio::test]
async fn without_a_fallback_unknown_methods_stay_unimplemented_and_known_ones_skip_the_fallback() {
    let (_backend, channel) = start_backend();
    let err = GenericClient::raw(channel)
        .unary::<_, Bytes>("/nowhere.Service/Method", Bytes::new())
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(err.details().contains("unknown service nowhere.Service"), "{err}");

    let fallback_calls = Arc::new(AtomicUsize::new(0));
    let counter = fallback_calls.clone();
    let server = Server::builder()
        .fallback(move |_requests, context| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Err(RpcError::not_found(format!("no {}", context.method()))) }
        })
        .build();
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    let channel = server.in_process_channel().expect("channel");
    server.start().expect("start");
    let reply = GreeterClient::new(channel.clone()).say_hello(hello("known")).await.expect("a known method");
    assert_eq!(reply.message, "Hello known");
    assert_eq!(fallback_calls.load(Ordering::SeqCst), 0);
    let err = GenericClient::raw(channel)
        .unary::<_, Bytes>("/helloworld.Greeter/Other", Bytes::new())
        .await
        .expect_err("fallback");
    assert_eq!((err.code(), err.details()), (Code::NotFound, "no /helloworld.Greeter/Other"));
    assert_eq!(fallback_calls.load(Ordering::SeqCst), 1);
}
