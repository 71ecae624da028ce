//! Blocking clients, as sync code uses them: plain `#[test]`s with no runtime of their own. The
//! servers run on a runtime the test keeps on other threads.

use std::sync::mpsc;
use std::time::Duration;

use e2e::helloworld::GreeterBlockingClient;
use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideBlockingClient, RouteGuideServicer, RouteNote, RouteSummary,
    add_route_guide_servicer_to_server,
};
use rust_rpc::stream::StreamExt;
use rust_rpc::{CallOptions, Code, Metadata, RequestStream, ResponseStream, Result, Server, ServicerContext};

use crate::support::{HANG_GUARD, TestGreeter, dead_port, hello, start_greeter};

/// A runtime for the servers, on threads of its own: the test's thread stays outside it.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn channel(port: u16) -> rust_rpc::Channel {
    rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel")
}

/// Streams `n` features for a rectangle whose `hi.latitude` is `n`; the other methods echo.
struct Guide {
    /// Told, by each `list_features` call, whether it ended cancelled.
    ended: mpsc::Sender<bool>,
}

impl RouteGuideServicer for Guide {
    async fn get_feature(&self, point: Point, _context: ServicerContext) -> Result<Feature> {
        Ok(Feature { name: format!("{},{}", point.latitude, point.longitude), location: Some(point) })
    }

    async fn list_features(&self, rect: Rectangle, context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let ended = std::sync::Mutex::new(self.ended.clone());
        context.add_callback(move |cancelled| {
            let _ = ended.lock().map(|ended| ended.send(cancelled));
        });
        let n = rect.hi.map_or(0, |p| p.latitude);
        if n < 0 {
            // Endless, until the client goes away.
            return Ok(ResponseStream::new(rust_rpc::stream::iter(
                (0..).map(|i| Ok(Feature { name: format!("f{i}"), location: None })),
            )));
        }
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

/// A route guide server on `runtime`, its port, and what its `list_features` calls report.
fn start_guide(runtime: &tokio::runtime::Runtime) -> (Server, u16, mpsc::Receiver<bool>) {
    let (ended, endings) = mpsc::channel();
    let server = Server::new();
    add_route_guide_servicer_to_server(Guide { ended }, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    let _inside = runtime.enter();
    server.start().expect("start");
    (server, port, endings)
}

fn note(message: &str) -> RouteNote {
    RouteNote { location: None, message: message.to_owned() }
}

#[test]
fn all_four_kinds_from_sync_code() {
    let runtime = server_runtime();
    let (_server, port, _) = start_guide(&runtime);
    let client = RouteGuideBlockingClient::new(channel(port));

    let feature = client.get_feature(Point { latitude: 1, longitude: 2 }).expect("unary");
    assert_eq!(feature.name, "1,2");

    let rect = Rectangle { lo: None, hi: Some(Point { latitude: 3, longitude: 0 }) };
    let names: Vec<String> =
        client.list_features(rect).expect("server streaming").map(|f| f.expect("feature").name).collect();
    assert_eq!(names, ["f0", "f1", "f2"]);

    let points = (1..=4).map(|latitude| Point { latitude, longitude: 0 });
    let summary = client.record_route(points).expect("client streaming");
    assert_eq!((summary.point_count, summary.distance), (4, 10));

    let replies: Vec<String> =
        client.route_chat(vec![note("a"), note("b")]).expect("bidi").map(|n| n.expect("note").message).collect();
    assert_eq!(replies, ["re: a", "re: b"]);
}

/// Bidi from an iterator that waits for each answer before it sends the next request: the
/// request iterator runs off the calling thread, so ping-pong works.
#[test]
fn bidi_requests_can_follow_the_answers() {
    let runtime = server_runtime();
    let (_server, port, _) = start_guide(&runtime);
    let client = RouteGuideBlockingClient::new(channel(port));
    let (requests, queued) = mpsc::channel();
    requests.send(note("ping 0")).expect("queued");
    let mut answers = client.route_chat(queued).expect("bidi");
    for i in 1..=3 {
        let answer = answers.next().expect("an answer").expect("ok");
        assert_eq!(answer.message, format!("re: ping {}", i - 1));
        requests.send(note(&format!("ping {i}"))).expect("queued");
    }
    assert_eq!(answers.next().expect("an answer").expect("ok").message, "re: ping 3");
    drop(requests);
    assert!(answers.next().is_none(), "ends with OK once the requests end");
    assert!(answers.trailing_metadata().is_some(), "trailers after the end");
}

#[test]
fn call_options_apply_to_blocking_calls() {
    let runtime = server_runtime();
    let (_server, port) = {
        let _inside = runtime.enter();
        start_greeter(TestGreeter::default())
    };
    let client = GreeterBlockingClient::new(channel(port));

    // Metadata: the greeter echoes `x-ascii` in its headers, which is how `echo-md` answers.
    let mut metadata = Metadata::new();
    metadata.insert("x-ascii", "sync").expect("metadata");
    let reply = rust_rpc::blocking::with_call(
        e2e::helloworld::GreeterClient::new(channel(port)).say_hello(hello("echo-md")).metadata(metadata.clone()),
    )
    .expect("with_call");
    assert_eq!(reply.initial_metadata().get("x-initial"), Some("sync"));

    // A timeout, through the client's options: DEADLINE_EXCEEDED, as an async call gives.
    let hurried = client.with_options(CallOptions::new().timeout(Duration::from_millis(50)).metadata(metadata));
    let err = hurried.say_hello(hello("sleep:5000")).expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    // The options stay with that client only.
    assert_eq!(client.say_hello(hello("you")).expect("no deadline").message, "Hello you");

    // A status from the server is the error.
    let err = client.say_hello(hello("fail:5")).expect_err("not found");
    assert_eq!(err.code(), Code::NotFound);
}

#[test]
fn a_refused_connection_is_unavailable() {
    let client = GreeterBlockingClient::new(channel(dead_port()));
    let err = client.say_hello(hello("anyone")).expect_err("nothing listens");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}

/// Dropping the iterator before the end cancels the call; the server sees it cancelled, and a
/// stream read to its end finished.
#[test]
fn dropping_the_response_iterator_cancels_the_call() {
    let runtime = server_runtime();
    let (_server, port, endings) = start_guide(&runtime);
    let client = RouteGuideBlockingClient::new(channel(port));

    let endless = Rectangle { lo: None, hi: Some(Point { latitude: -1, longitude: 0 }) };
    let mut features = client.list_features(endless).expect("server streaming");
    assert_eq!(features.next().expect("a feature").expect("ok").name, "f0");
    drop(features);
    assert_eq!(endings.recv_timeout(HANG_GUARD), Ok(true), "the server saw the call cancelled");

    let two = Rectangle { lo: None, hi: Some(Point { latitude: 2, longitude: 0 }) };
    assert_eq!(client.list_features(two).expect("server streaming").count(), 2);
    assert_eq!(endings.recv_timeout(HANG_GUARD), Ok(false), "the server saw the call finish");
}

/// Called inside a runtime, a blocking call neither blocks nor panics: it fails at once,
/// saying what to do instead. Here the server runs on the same single thread, so a call that
/// blocked would never be answered.
#[tokio::test(flavor = "current_thread")]
async fn inside_a_runtime_a_blocking_call_fails_with_a_clear_error() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let client = GreeterBlockingClient::new(channel(port));
    let err = client.say_hello(hello("anyone")).expect_err("refused inside a runtime");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.details().contains("use the async client"), "{err}");
    // The same client works from a thread of its own.
    let reply =
        tokio::task::spawn_blocking(move || std::thread::spawn(move || client.say_hello(hello("thread"))).join());
    let reply = crate::support::no_hang("the call from a thread", reply).await;
    assert_eq!(reply.expect("task").expect("thread").expect("call").message, "Hello thread");
}
