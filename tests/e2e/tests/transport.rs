//! Transport details: Unix sockets, peer addresses, readiness and close, client-streaming
//! deadlines, and backpressure from a slow reader back to the producing handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteSummary, add_route_guide_servicer_to_server,
};
use rust_rpc::{Code, RequestStream, ResponseStream, Result, Server, ServicerContext};

use crate::support::{TestGreeter, dead_port, hello, start_greeter};

#[tokio::test]
async fn unix_socket_round_trip_and_peer_addresses() {
    let path = std::env::temp_dir().join(format!("rust-rpc-e2e-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = Server::new();
    server.add_service(e2e::helloworld::greeter_service(PeerEcho)).expect("add");
    server.add_insecure_port(&format!("unix:{}", path.display())).expect("bind unix socket");
    let tcp = server.add_insecure_port("127.0.0.1:0").expect("bind tcp");
    server.start().expect("start");

    let over_unix = e2e::helloworld::GreeterClient::new(
        rust_rpc::insecure_channel(&format!("unix:{}", path.display())).expect("unix target"),
    );
    assert_eq!(over_unix.say_hello(hello("x")).await.expect("unix call").message, "unix:");
    let over_tcp =
        e2e::helloworld::GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{tcp}")).expect("channel"));
    let peer = over_tcp.say_hello(hello("x")).await.expect("tcp call").message;
    assert!(peer.starts_with("ipv4:127.0.0.1:"), "{peer}");
    server.stop(None).await;
    assert!(!path.exists(), "the socket file is removed on stop");
}

struct PeerEcho;

impl e2e::helloworld::GreeterServicer for PeerEcho {
    async fn say_hello(
        &self,
        _request: e2e::helloworld::HelloRequest,
        context: ServicerContext,
    ) -> Result<e2e::helloworld::HelloReply> {
        Ok(e2e::helloworld::HelloReply { message: context.peer() })
    }
}

#[tokio::test]
async fn ready_connects_and_close_ends_the_channel() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    assert!(!channel.is_connected(), "channels connect lazily");
    channel.ready(Duration::from_secs(5)).await.expect("ready");
    assert!(channel.is_connected());
    channel.close();
    let err = e2e::helloworld::GreeterClient::new(channel).say_hello(hello("x")).await.expect_err("closed");
    assert_eq!(err.code(), Code::Unavailable, "{err}");

    let nowhere = rust_rpc::insecure_channel(&format!("127.0.0.1:{}", dead_port())).expect("channel");
    let err = nowhere.ready(Duration::from_millis(300)).await.expect_err("nothing listens");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(err.details().contains("Connection refused"), "names the last connect error: {err}");
}

/// Counts how many features the handler managed to hand over.
#[derive(Clone, Default)]
struct Producer {
    sent: Arc<AtomicUsize>,
}

impl RouteGuideServicer for Producer {
    async fn list_features(&self, _rect: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let (sender, stream) = ResponseStream::channel(1);
        let sent = self.sent.clone();
        tokio::spawn(async move {
            for i in 0..1000 {
                let feature =
                    Feature { name: "x".repeat(100_000), location: Some(Point { latitude: i, longitude: 0 }) };
                if sender.send(Ok(feature)).await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
            }
        });
        Ok(stream)
    }

    async fn record_route(&self, mut points: RequestStream<Point>, _context: ServicerContext) -> Result<RouteSummary> {
        let mut summary = RouteSummary::default();
        while let Some(_point) = points.message().await? {
            summary.point_count += 1;
        }
        Ok(summary)
    }
}

fn start_producer(producer: Producer) -> RouteGuideClient {
    let server = Server::new();
    add_route_guide_servicer_to_server(producer, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    std::mem::forget(server); // serves until the test process ends
    RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

#[tokio::test]
async fn a_slow_reader_holds_back_the_producer() {
    let producer = Producer::default();
    let client = start_producer(producer.clone());
    let mut stream = client.list_features(Rectangle::default()).await.expect("started");
    let first = stream.message().await.expect("first").expect("some");
    assert_eq!(first.location.map(|p| p.latitude), Some(0));
    // Not an ordering sleep: a window to watch a negative in. A producer without backpressure
    // would run on to 1000 in it; with backpressure it stays stalled however long the window
    // or however loaded the machine, so this cannot fail falsely.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = producer.sent.load(Ordering::SeqCst);
    // 100 kB messages against ~1 MiB of HTTP/2 window and a one-slot channel: the producer
    // stalls after a few dozen at most, far from the 1000 it would send unchecked.
    assert!(sent < 100, "the producer ran ahead of a reader that stopped reading: {sent} sent");
    let mut received = 1;
    while stream.message().await.expect("message").is_some() {
        received += 1;
    }
    assert_eq!(received, 1000);
}

#[tokio::test]
async fn client_streaming_deadline_is_deadline_exceeded() {
    let client = start_producer(Producer::default());
    let (_keep_open, receiver) = tokio::sync::mpsc::channel::<Point>(1);
    let never_ending = RequestStreamOf(receiver);
    let err = client.record_route(never_ending).timeout(Duration::from_millis(300)).await.expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
}

struct RequestStreamOf<T>(tokio::sync::mpsc::Receiver<T>);

impl<T> rust_rpc::stream::Stream for RequestStreamOf<T> {
    type Item = T;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn ipv6_literal_and_dns_scheme_targets() {
    let server = Server::new();
    server.add_service(e2e::helloworld::greeter_service(PeerEcho)).expect("add");
    let v6 = server.add_insecure_port("[::1]:0").expect("bind ::1");
    let v4 = server.add_insecure_port("127.0.0.1:0").expect("bind 127.0.0.1");
    server.start().expect("start");
    for (target, peer_prefix) in [
        (format!("[::1]:{v6}"), "ipv6:[::1]:"),
        (format!("ipv6:[::1]:{v6}"), "ipv6:[::1]:"),
        (format!("dns:///127.0.0.1:{v4}"), "ipv4:127.0.0.1:"),
        (format!("ipv4:127.0.0.1:{v4}"), "ipv4:127.0.0.1:"),
    ] {
        let client = e2e::helloworld::GreeterClient::new(rust_rpc::insecure_channel(&target).expect("target parses"));
        let peer = client.say_hello(hello("x")).await.unwrap_or_else(|e| panic!("{target}: {e}")).message;
        assert!(peer.starts_with(peer_prefix), "{target}: peer {peer}");
    }
}
