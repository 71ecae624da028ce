//! The four RPC kinds, metadata, status and deadlines, client and server over loopback.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use e2e::helloworld::GreeterClient;
use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary,
    add_route_guide_servicer_to_server,
};
use rust_rpc::stream::StreamExt;
use rust_rpc::{Code, Metadata, RequestStream, ResponseStream, Result, Server, ServicerContext};

use crate::support::{TestGreeter, dead_port, greeter_client, hello, no_hang, start_greeter};

struct Guide;

impl RouteGuideServicer for Guide {
    async fn get_feature(&self, point: Point, _context: ServicerContext) -> Result<Feature> {
        Ok(Feature { name: format!("{},{}", point.latitude, point.longitude), location: Some(point) })
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
        if context.invocation_metadata().get("x-reply-compression") == Some("gzip") {
            context.set_compression(Some(rust_rpc::Compression::Gzip));
        }
        let mut trailing = Metadata::new();
        trailing.insert("x-chat", "over")?;
        context.set_trailing_metadata(trailing);
        Ok(ResponseStream::new(
            notes.map(|note| note.map(|n| RouteNote { message: format!("re: {}", n.message), ..n })),
        ))
    }
}

fn start_guide() -> (Server, RouteGuideClient) {
    start_guide_with(Guide)
}

/// A started server with `servicer` on 127.0.0.1, and a client for it.
fn start_guide_with(servicer: impl RouteGuideServicer) -> (Server, RouteGuideClient) {
    let server = Server::new();
    add_route_guide_servicer_to_server(servicer, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    (server, client)
}

#[tokio::test]
async fn all_four_kinds_round_trip() {
    let (_server, client) = start_guide();
    let feature = client.get_feature(Point { latitude: 1, longitude: 2 }).await.expect("unary");
    assert_eq!(feature.name, "1,2");

    let rect = Rectangle { lo: None, hi: Some(Point { latitude: 5, longitude: 0 }) };
    let names: Vec<String> =
        client.list_features(rect).await.expect("server streaming").map(|f| f.expect("item").name).collect().await;
    assert_eq!(names, ["f0", "f1", "f2", "f3", "f4"]);

    let points = (1..=4).map(|i| Point { latitude: i, longitude: 0 });
    let summary = client.record_route(rust_rpc::stream::iter(points)).await.expect("client streaming");
    assert_eq!((summary.point_count, summary.distance), (4, 10));

    let notes = ["a", "b", "c"].map(|m| RouteNote { location: None, message: m.into() });
    let replies: Vec<String> = client
        .route_chat(rust_rpc::stream::iter(notes))
        .await
        .expect("bidi")
        .map(|n| n.expect("item").message)
        .collect()
        .await;
    assert_eq!(replies, ["re: a", "re: b", "re: c"]);
}

fn note(message: String) -> RouteNote {
    RouteNote { location: None, message }
}

/// Sends `notes` to `route_chat` and gives the replies, up to the first error.
async fn chat(client: &RouteGuideClient, notes: Vec<RouteNote>) -> (Vec<String>, Option<rust_rpc::RpcError>) {
    chat_with(client, notes, Metadata::new()).await
}

/// [`chat`] with request metadata.
async fn chat_with(
    client: &RouteGuideClient,
    notes: Vec<RouteNote>,
    metadata: Metadata,
) -> (Vec<String>, Option<rust_rpc::RpcError>) {
    let mut replies = client.route_chat(rust_rpc::stream::iter(notes)).metadata(metadata).await.expect("bidi");
    let mut messages = Vec::new();
    while let Some(reply) = replies.next().await {
        match reply {
            Ok(reply) => messages.push(reply.message),
            Err(err) => return (messages, Some(err)),
        }
    }
    (messages, None)
}

#[tokio::test]
async fn streamed_messages_of_any_size_arrive_whole_and_in_order() {
    let (_server, client) = start_guide();
    // Empty, tiny, and ones longer than a DATA frame, an HTTP/2 window and a batch.
    let sizes = [0, 1, 1000, 70_000, 5, 1_500_000, 16_000, 2];
    let notes: Vec<RouteNote> =
        sizes.iter().zip('a'..).map(|(&size, letter)| note(letter.to_string().repeat(size))).collect();
    let expected: Vec<String> = notes.iter().map(|n| format!("re: {}", n.message)).collect();
    let (replies, err) = chat(&client, notes).await;
    assert!(err.is_none(), "{err:?}");
    assert!(replies == expected, "replies differ from the notes");

    // Many small ones: several batches of messages each way.
    let notes: Vec<RouteNote> = (0..3000).map(|i| note(format!("note {i}"))).collect();
    let expected: Vec<String> = (0..3000).map(|i| format!("re: note {i}")).collect();
    let (replies, err) = chat(&client, notes).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(replies, expected);
}

#[tokio::test]
async fn a_streamed_message_over_a_limit_ends_the_call_resource_exhausted() {
    let server = Server::builder().max_send_message_length(1024).max_receive_message_length(4096).build();
    add_route_guide_servicer_to_server(Guide, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    // The reply to the second note is over the server's send limit; the first one still arrives.
    // Compressed replies too: the limit is on the message, not its compressed size, as in gRPC
    // C-core (and so Python). The reply compresses to a few bytes; tonic's encoder sent it.
    for compression in [None, Some("gzip")] {
        let mut md = Metadata::new();
        if let Some(compression) = compression {
            md.insert("x-reply-compression", compression).expect("valid");
        }
        let notes = vec![note("a".into()), note("b".repeat(2000)), note("c".into())];
        let (replies, err) = chat_with(&client, notes, md).await;
        assert_eq!(replies, ["re: a"], "{compression:?}");
        let err = err.expect("fails");
        assert_eq!(err.code(), Code::ResourceExhausted, "{compression:?}: {err}");
        assert!(err.details().contains("the server's send limit"), "{compression:?}: {err}");
        assert_eq!(err.metadata().get("x-chat"), Some("over"), "{compression:?}: {err}");
    }
    // The second note is over the server's receive limit.
    let (replies, err) = chat(&client, vec![note("a".into()), note("b".repeat(5000)), note("c".into())]).await;
    assert_eq!(replies, ["re: a"]);
    assert_eq!(err.map(|e| e.code()), Some(Code::ResourceExhausted));
    // The second note is over the channel's send limit: the call fails before it is sent.
    let channel = rust_rpc::ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .max_send_message_length(100)
        .build()
        .expect("channel");
    let (replies, err) = chat(&RouteGuideClient::new(channel), vec![note("a".into()), note("b".repeat(200))]).await;
    assert!(replies.is_empty(), "{replies:?}");
    assert_eq!(err.map(|e| e.code()), Some(Code::ResourceExhausted));
    // The server serves on.
    let rect = Rectangle { lo: None, hi: Some(Point { latitude: 2, longitude: 0 }) };
    let features: Vec<_> = client.list_features(rect).await.expect("still serving").collect().await;
    assert_eq!(features.len(), 2);
}

#[tokio::test]
async fn metadata_round_trips_ascii_and_binary() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let mut md = Metadata::new();
    md.insert("x-ascii", "hello").expect("valid");
    md.insert_bin("x-blob-bin", [0u8, 1, 254, 255]).expect("valid");
    let client = greeter_client(port);
    // Uncompressed, and compressed (tonic's codec on the client).
    for compression in [None, Some(rust_rpc::Compression::Gzip)] {
        let mut call = client.say_hello(hello("echo-md")).metadata(md.clone());
        if let Some(compression) = compression {
            call = call.compression(compression);
        }
        let response = call.with_call().await.expect("call");
        assert_eq!(response.initial_metadata().get("x-initial"), Some("hello"));
        assert_eq!(response.trailing_metadata().get_bin("x-trailing-bin").as_deref(), Some(&[0u8, 1, 254, 255][..]));
        // Only what the handler set: content-type, grpc-status and the like are the protocol's.
        assert_eq!(keys(response.initial_metadata()), ["x-initial"], "{compression:?}");
        assert_eq!(keys(response.trailing_metadata()), ["x-trailing-bin"], "{compression:?}");
    }
}

#[tokio::test]
async fn requests_carry_the_channels_user_agent() {
    // As grpc-go's and Python's do: the library's product token, after the application's own
    // when the channel sets one. Metadata cannot override it.
    let (_server, port) = start_greeter(TestGreeter::default());
    let ours = format!("grpc-rust-rpc/{}", env!("CARGO_PKG_VERSION"));
    let mut md = Metadata::new();
    md.insert("user-agent", "spoofed/1.0").expect("valid");
    let plain = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    let named =
        rust_rpc::ChannelBuilder::new(format!("127.0.0.1:{port}")).user_agent("my-app/1.2").build().expect("channel");
    for (channel, expected) in [(plain, ours.clone()), (named, format!("my-app/1.2 {ours}"))] {
        let client = GreeterClient::new(channel);
        // Uncompressed, and compressed (tonic's codec on the client).
        for compression in [None, Some(rust_rpc::Compression::Gzip)] {
            let mut call = client.say_hello(hello("echo-ua")).metadata(md.clone());
            if let Some(compression) = compression {
                call = call.compression(compression);
            }
            assert_eq!(call.await.expect("call").message, expected, "{compression:?}");
        }
    }
    let refused = rust_rpc::ChannelBuilder::new("127.0.0.1:1").user_agent("bad\nagent").build();
    assert!(refused.is_err_and(|e| e.is_invalid_setting()));
}

fn keys(metadata: &Metadata) -> Vec<String> {
    metadata.iter().map(|(key, _)| key.to_owned()).collect()
}

#[tokio::test]
async fn connection_specific_metadata_is_dropped_not_fatal() {
    // HTTP/2 forbids these headers (RFC 9113, 8.2.2) and h2 refuses a request carrying one, so
    // the client leaves them out; the rest of the metadata still arrives.
    let (_server, port) = start_greeter(TestGreeter::default());
    let mut md = Metadata::new();
    for (key, value) in [("connection", "close"), ("keep-alive", "5"), ("upgrade", "h2c"), ("te", "gzip")] {
        md.insert(key, value).expect("valid metadata key");
    }
    md.insert("x-ascii", "kept").expect("valid");
    let response = greeter_client(port).say_hello(hello("echo-md")).metadata(md).with_call().await.expect("call");
    assert_eq!(response.initial_metadata().get("x-initial"), Some("kept"));
}

#[tokio::test]
async fn errors_keep_code_details_and_metadata() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let client = greeter_client(port);
    for code in [Code::NotFound, Code::InvalidArgument, Code::PermissionDenied, Code::DataLoss] {
        let err = client.say_hello(hello(&format!("fail:{}", code.as_i32()))).await.expect_err("fails");
        assert_eq!(err.code(), code);
        assert_eq!(err.details(), "failed as asked \u{263A}\nline two");
        assert_eq!(err.metadata().get("x-why"), Some("asked to fail"));
        assert_eq!(keys(err.metadata()), ["x-why"]);
    }
}

#[tokio::test]
async fn unknown_methods_and_services_are_unimplemented() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    for path in ["/helloworld.Greeter/Nope", "/nope.Service/Call"] {
        let err = channel
            .unary::<e2e::helloworld::HelloRequest, e2e::helloworld::HelloReply>(path, hello("x"))
            .await
            .expect_err("unimplemented");
        assert_eq!(err.code(), Code::Unimplemented, "{path}: {err}");
    }
    // A servicer that implements nothing answers UNIMPLEMENTED from the trait's default.
    struct Nothing;
    impl e2e::routeguide::RouteGuideServicer for Nothing {}
    let (_server, client) = start_guide_with(Nothing);
    let err = client.get_feature(Point::default()).await.expect_err("unimplemented");
    assert_eq!(err.code(), Code::Unimplemented);
}

#[tokio::test]
async fn expired_deadline_is_deadline_exceeded_and_reaches_the_handler() {
    let greeter = TestGreeter::default();
    let (_server, port) = start_greeter(greeter.clone());
    let err = no_hang(
        "the call with a deadline",
        greeter_client(port).say_hello(hello("sleep:5000")).timeout(Duration::from_millis(200)),
    )
    .await
    .expect_err("times out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    // The call ended at its deadline, not with the handler's 5 s sleep: the handler was cut off.
    assert_cut_off(&greeter).await;
}

/// Asserts that the greeter's `sleep:<ms>` handler saw its call end before it slept its time
/// out: the call was cut off (deadline, cancel, stop), it did not run to its end.
async fn assert_cut_off(greeter: &TestGreeter) {
    assert!(!greeter.slept_out(), "the call ended only after the handler slept its time out");
    no_hang("the handler sees the call end", greeter.cancelled.notified()).await;
    assert!(!greeter.slept_out(), "the handler slept its time out before it saw the call end");
}

#[tokio::test]
async fn a_channel_default_timeout_is_each_calls_deadline() {
    let greeter = TestGreeter::default();
    let (_server, port) = start_greeter(greeter.clone());
    let channel = rust_rpc::ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .default_call_options(rust_rpc::CallOptions::new().timeout(Duration::from_millis(200)))
        .build()
        .expect("channel");
    let client = e2e::helloworld::GreeterClient::new(channel);
    let err = no_hang("the call with the channel's deadline", client.say_hello(hello("sleep:5000")))
        .await
        .expect_err("times out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert_cut_off(&greeter).await;
    // A call's own timeout wins over the channel's: the handler sleeps past the channel's.
    let reply = client.say_hello(hello("sleep:400")).timeout(Duration::from_secs(30)).await.expect("call");
    assert_eq!(reply.message, "Hello sleep:400");
    assert!(greeter.slept_out(), "the handler ran to its end");
}

#[tokio::test]
async fn dropping_a_call_cancels_the_handler() {
    let greeter = TestGreeter::default();
    let (_server, port) = start_greeter(greeter.clone());
    let client = greeter_client(port);
    let call = tokio::spawn(async move { client.say_hello(hello("sleep:5000")).await });
    no_hang("the handler starts", greeter.started.notified()).await;
    call.abort();
    assert!(call.await.is_err_and(|e| e.is_cancelled()), "the call was dropped, not finished");
    assert_cut_off(&greeter).await;
}

#[tokio::test]
async fn refused_connection_is_unavailable_and_wait_for_ready_waits() {
    let port = dead_port();
    let client = greeter_client(port);
    let err = client.say_hello(hello("x")).await.expect_err("nothing listens");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    let err = client
        .say_hello(hello("x"))
        .wait_for_ready(true)
        .timeout(Duration::from_millis(300))
        .await
        .expect_err("still nothing");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
}

#[tokio::test]
async fn one_client_serves_many_tasks_at_once() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let client = greeter_client(port);
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.say_hello(hello(&i.to_string())).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.expect("task").expect("call").message, format!("Hello {i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_call_succeeds_once_the_server_starts() {
    let port = dead_port();
    let client = greeter_client(port);
    let call = client.say_hello(hello("patient")).wait_for_ready(true).timeout(Duration::from_secs(30)).into_future();
    tokio::pin!(call);
    // Under way before the server starts: the waiting call is polled until a call without
    // wait-for-ready on the same channel has been refused, so a connection attempt has failed.
    let probe = tokio::select! {
        reply = &mut call => panic!("the waiting call ended before the server started: {reply:?}"),
        probe = client.say_hello(hello("impatient")) => probe,
    };
    assert_eq!(probe.expect_err("nothing listens yet").code(), Code::Unavailable);
    let server = Server::new();
    server.add_service(e2e::helloworld::greeter_service(TestGreeter::default())).expect("add");
    server.add_insecure_port(&format!("127.0.0.1:{port}")).expect("bind the waited-for port");
    server.start().expect("start");
    assert_eq!(no_hang("the waiting call", call).await.expect("served after waiting").message, "Hello patient");
}

/// Streams features without end: two at once, then one every 50 ms. Each carries the time the
/// handler had left (-1: no deadline) as its latitude.
#[derive(Clone, Default)]
struct Ticker {
    /// Notified when the handler observes that its call ended.
    ended: Arc<tokio::sync::Notify>,
}

impl RouteGuideServicer for Ticker {
    async fn list_features(&self, _rect: Rectangle, context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let remaining = context.time_remaining().map_or(-1, |d| d.as_millis() as i32);
        let ended = self.ended.clone();
        tokio::spawn(async move {
            context.cancelled().await;
            ended.notify_one();
        });
        let (sender, stream) = ResponseStream::channel(1);
        tokio::spawn(async move {
            for i in 0.. {
                let feature =
                    Feature { name: format!("{i}"), location: Some(Point { latitude: remaining, longitude: 0 }) };
                if sender.send(Ok(feature)).await.is_err() {
                    return;
                }
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        Ok(stream)
    }
}

#[tokio::test]
async fn a_streaming_call_ends_at_its_deadline_and_the_server_knows_it() {
    let ticker = Ticker::default();
    let (_server, client) = start_guide_with(ticker.clone());

    let mut stream =
        client.list_features(Rectangle::default()).timeout(Duration::from_millis(400)).await.expect("started");
    let first = stream.message().await.expect("first").expect("some");
    let remaining = first.location.expect("point").latitude;
    assert!((1..=400).contains(&remaining), "the handler saw {remaining} ms remaining");
    let mut received = 1;
    let err = loop {
        match no_hang("the stream ends at its deadline", stream.message()).await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the endless stream ended OK"),
            Err(err) => break err,
        }
    };
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    // The handler sends two at once: the stream flowed before the deadline ended it.
    assert!(received >= 2, "{received} messages before the deadline");
    no_hang("the handler sees the call end", ticker.ended.notified()).await;

    // Without a timeout the handler sees no deadline.
    let mut stream = client.list_features(Rectangle::default()).await.expect("started");
    let first = stream.message().await.expect("first").expect("some");
    assert_eq!(first.location.expect("point").latitude, -1);
}

/// A response stream that always has its next message ready: unlike `ResponseStream::iter`
/// (tokio-stream's `iter` returns `Pending` every 32 items, to share the thread), it never
/// gives the response body an idle moment to notice a stop in. Counts the messages it gives
/// once `grace_over` is set.
struct NeverPending {
    grace_over: Arc<AtomicBool>,
    late: Arc<AtomicUsize>,
}

impl rust_rpc::stream::Stream for NeverPending {
    type Item = Result<Feature>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Feature>>> {
        if self.grace_over.load(Ordering::SeqCst) {
            self.late.fetch_add(1, Ordering::SeqCst);
        }
        std::task::Poll::Ready(Some(Ok(Feature { name: "again".into(), location: None })))
    }
}

/// `list_features` streams [`NeverPending`]; `get_feature` never answers, and marks the grace
/// over when the server drops it (a stop drops the handlers still running when grace ends).
#[derive(Clone, Default)]
struct Endless {
    /// Notified when `get_feature` has started.
    waiting: Arc<tokio::sync::Notify>,
    /// Set when the server dropped `get_feature`'s handler.
    grace_over: Arc<AtomicBool>,
    /// Messages the endless stream gave after that.
    late: Arc<AtomicUsize>,
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl RouteGuideServicer for Endless {
    async fn get_feature(&self, _point: Point, _context: ServicerContext) -> Result<Feature> {
        let _dropped = SetOnDrop(self.grace_over.clone());
        self.waiting.notify_one();
        std::future::pending().await
    }

    async fn list_features(&self, _rect: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        Ok(ResponseStream::new(NeverPending { grace_over: self.grace_over.clone(), late: self.late.clone() }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stop_ends_an_endless_stream_that_always_has_a_message_ready() {
    let endless = Endless::default();
    let (server, client) = start_guide_with(endless.clone());
    let mut stream = client.list_features(Rectangle::default()).await.expect("started");
    stream.message().await.expect("first").expect("some");
    // A second call, still running at the end of grace: its handler's drop marks that moment.
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.get_feature(Point::default()).await }
    });
    no_hang("the waiting call's handler starts", endless.waiting.notified()).await;
    let stopping = tokio::spawn(async move { server.stop(Some(Duration::from_millis(100))).await });
    let err = loop {
        match no_hang("the endless stream ends", stream.message()).await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the endless stream ended OK"),
            Err(err) => break err,
        }
    };
    // Usually the server's own "shutting down" status; the connection closing right after it
    // can overtake it on a loaded machine, which the client also reports as UNAVAILABLE.
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    no_hang("the server stops", stopping).await.expect("stop");
    let err = waiting.await.expect("task").expect_err("cut off at the end of grace");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(endless.grace_over.load(Ordering::SeqCst), "the waiting call's handler was dropped");
    // At the end of grace, not when the server gives up flushing (1 s later): the body noticed
    // the stop between two ready messages, so it took at most the one message it was pulling
    // when the stop came. A body that missed the stop would pull them until the connection
    // was cut.
    let late = endless.late.load(Ordering::SeqCst);
    assert!(late <= 1, "the stream gave {late} messages after the grace was over");
}
