//! Retries and hedging from a service config (gRFC A6) against rust-rpc servers that record
//! each attempt: pushback, streaming calls retried until their first response and not after,
//! the per-call replay buffer, throttling, hedged attempts cancelled once one answers, the
//! config's timeout and message limits, and transparent retries of streams a server refused
//! (REFUSED_STREAM, or above a GOAWAY's last stream) before processing them.
//! Retries against grpcio, and grpcio's own retries, are in tests/interop/tests/retries.rs.

use std::future::{Future, IntoFuture};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary,
    add_route_guide_servicer_to_server,
};
use rust_rpc::{
    ChannelBuilder, Code, Metadata, RequestStream, ResponseStream, Result, RpcError, Server, ServicerContext,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::raw_h2::{GOAWAY, HEADERS, SETTINGS, frame};
use crate::support::{hello, no_hang};

/// One attempt as a server saw it.
#[derive(Clone, Debug)]
struct Seen {
    /// The request's name (or a streaming method's name).
    name: String,
    /// Its `grpc-previous-rpc-attempts`, 0 when absent.
    previous: u32,
    at: Instant,
    /// How many request messages it read (streaming requests).
    messages: usize,
}

#[derive(Clone, Default)]
struct Attempts(Arc<Mutex<Vec<Seen>>>);

impl Attempts {
    fn record(&self, name: &str, context: &ServicerContext, messages: usize) -> u32 {
        let previous = context
            .invocation_metadata()
            .get("grpc-previous-rpc-attempts")
            .map_or(0, |v| v.parse().unwrap_or_else(|_| panic!("grpc-previous-rpc-attempts {v:?} is not a number")));
        let seen = Seen { name: name.to_owned(), previous, at: Instant::now(), messages };
        self.0.lock().expect("lock").push(seen);
        previous
    }

    fn of(&self, name: &str) -> Vec<Seen> {
        self.0.lock().expect("lock").iter().filter(|s| s.name == name).cloned().collect()
    }

    fn previous_of(&self, name: &str) -> Vec<u32> {
        self.of(name).iter().map(|s| s.previous).collect()
    }
}

/// A greeter whose answer depends on the name it is sent (`<kind>:<args>`, a unique name per
/// test so attempts are told apart):
/// - `fail:<n>:<code>:..` fails with `code` while fewer than `n` attempts came before;
/// - `pushback:<ms>:..` fails UNAVAILABLE with `grpc-retry-pushback-ms: <ms>` on the first attempt;
/// - `slow-first:..` waits until cancelled on the first attempt (no previous attempts), answers
///   at once on the others; `cancelled` hears how the first one ended;
/// - anything else: `hello <name>`.
#[derive(Clone, Default)]
struct Flaky {
    attempts: Attempts,
    cancelled: Arc<Mutex<Option<tokio::sync::oneshot::Sender<bool>>>>,
}

impl GreeterServicer for Flaky {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> Result<HelloReply> {
        let name = request.name;
        let previous = self.attempts.record(&name, &context, 1);
        let parts: Vec<&str> = name.split(':').collect();
        match parts.as_slice() {
            ["fail", n, code, ..] => {
                let n: u32 = n.parse().expect("n");
                if previous < n {
                    let code = Code::from_i32(code.parse().expect("code"));
                    return Err(RpcError::new(code, format!("attempt {} fails", previous + 1)));
                }
            }
            ["pushback", ms, ..] if previous == 0 => {
                let mut trailers = Metadata::new();
                trailers.insert("grpc-retry-pushback-ms", ms)?;
                return Err(RpcError::unavailable("come back later").with_metadata(trailers));
            }
            ["slow-first", ..] if previous == 0 => {
                // Watched from a task of its own: a cancelled handler is dropped where it waits.
                let (watched, sender) = (context.clone(), self.cancelled.lock().expect("lock").take());
                tokio::spawn(async move {
                    watched.cancelled().await;
                    if let Some(sender) = sender {
                        let _ = sender.send(watched.is_cancelled());
                    }
                });
                std::future::pending::<()>().await;
            }
            ["big", ..] => return Ok(HelloReply { message: "x".repeat(4096) }),
            ["sleep", ms] => tokio::time::sleep(Duration::from_millis(ms.parse().expect("ms"))).await,
            _ => {}
        }
        Ok(HelloReply { message: format!("hello {name} after {previous}") })
    }
}

/// A route guide whose streaming methods fail as the tests need:
/// - `list_features`: `lo.latitude` 1 fails UNAVAILABLE before any response on the first
///   attempt; 2 sends one feature, then fails UNAVAILABLE on every attempt;
/// - `record_route`: reads every point, then fails UNAVAILABLE on the first attempt.
#[derive(Clone, Default)]
struct FlakyGuide {
    attempts: Attempts,
}

impl RouteGuideServicer for FlakyGuide {
    async fn get_feature(&self, _point: Point, _context: ServicerContext) -> Result<Feature> {
        Err(RpcError::unimplemented("not in this test"))
    }

    async fn list_features(&self, rect: Rectangle, context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let mode = rect.lo.map_or(0, |p| p.latitude);
        let previous = self.attempts.record(&format!("list:{mode}"), &context, 1);
        let feature = |name: &str| Feature { name: name.to_owned(), location: None };
        match mode {
            1 if previous == 0 => Err(RpcError::unavailable("not yet")),
            2 => Ok(ResponseStream::new(rust_rpc::stream::iter([
                Ok(feature("first")),
                Err(RpcError::unavailable("after the first response")),
            ]))),
            _ => Ok(ResponseStream::iter([feature("a"), feature("b")])),
        }
    }

    async fn record_route(&self, mut points: RequestStream<Point>, context: ServicerContext) -> Result<RouteSummary> {
        let mut summary = RouteSummary::default();
        while let Some(point) = points.message().await? {
            summary.point_count += 1;
            summary.distance = summary.distance.wrapping_add(point.latitude);
        }
        let count = usize::try_from(summary.point_count).expect("count");
        let previous = self.attempts.record("record", &context, count);
        if previous == 0 {
            return Err(RpcError::unavailable("read it all, failed anyway"));
        }
        Ok(summary)
    }

    async fn route_chat(
        &self,
        _notes: RequestStream<RouteNote>,
        _context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        Err(RpcError::unimplemented("not in this test"))
    }
}

/// A server with both services on 127.0.0.1, and its port.
fn start(greeter: Flaky, guide: FlakyGuide) -> (Server, u16) {
    let server = Server::new();
    add_greeter_servicer_to_server(greeter, &server).expect("greeter");
    add_route_guide_servicer_to_server(guide, &server).expect("guide");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

fn channel(port: u16, config: &str) -> rust_rpc::Channel {
    ChannelBuilder::new(format!("127.0.0.1:{port}")).service_config(config).build().expect("valid config")
}

/// A config with `policy` (a `"retryPolicy": {..}` or `"hedgingPolicy": {..}` member) for
/// every method, and `extra` top-level members.
fn config(policy: &str, extra: &str) -> String {
    format!(r#"{{"methodConfig": [{{"name": [{{}}], {policy}}}]{extra}}}"#)
}

/// Retries on UNAVAILABLE, at most `attempts` attempts, quickly.
fn retry_unavailable(attempts: u32) -> String {
    format!(
        r#""retryPolicy": {{"maxAttempts": {attempts}, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}"#
    )
}

#[tokio::test]
async fn pushback_sets_the_wait_before_the_retry_and_a_negative_one_stops_retries() {
    let greeter = Flaky::default();
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    let client = GreeterClient::new(channel(port, &config(&retry_unavailable(3), "")));

    let reply = no_hang("pushback 300", client.say_hello(hello("pushback:300:a"))).await.expect("retried");
    assert_eq!(reply.message, "hello pushback:300:a after 1");
    let seen = greeter.attempts.of("pushback:300:a");
    assert_eq!(seen.len(), 2, "{seen:?}");
    // The backoff alone would retry within 10 ms; the server asked for 300.
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_millis(300), "the retry came {gap:?} after the first attempt");

    let err = no_hang("pushback -1", client.say_hello(hello("pushback:-1:b"))).await.expect_err("not retried");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.metadata().get("grpc-retry-pushback-ms"), Some("-1"), "the server's trailers reach the caller");
    assert_eq!(greeter.attempts.previous_of("pushback:-1:b"), [0], "a negative pushback: no retry");

    let err = no_hang("pushback soon", client.say_hello(hello("pushback:soon:c"))).await.expect_err("not retried");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(greeter.attempts.previous_of("pushback:soon:c"), [0], "an unreadable pushback: no retry");
    server.stop(None).await;
}

#[tokio::test]
async fn retries_follow_the_policy_codes_and_attempt_count() {
    let greeter = Flaky::default();
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    let client = GreeterClient::new(channel(port, &config(&retry_unavailable(4), "")));

    let reply = no_hang("3 failures", client.say_hello(hello("fail:3:14:a"))).await.expect("4th attempt");
    assert_eq!(reply.message, "hello fail:3:14:a after 3");
    assert_eq!(greeter.attempts.previous_of("fail:3:14:a"), [0, 1, 2, 3]);

    let err = no_hang("4 failures", client.say_hello(hello("fail:4:14:b"))).await.expect_err("out of attempts");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(err.details(), "attempt 4 fails", "the last attempt's status");
    assert_eq!(greeter.attempts.previous_of("fail:4:14:b"), [0, 1, 2, 3]);

    let err = no_hang("internal", client.say_hello(hello("fail:1:13:c"))).await.expect_err("not retryable");
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(greeter.attempts.previous_of("fail:1:13:c"), [0], "INTERNAL is not in retryableStatusCodes");
    server.stop(None).await;
}

#[tokio::test]
async fn the_deadline_and_cancellation_cover_every_attempt_and_the_waits_between() {
    let greeter = Flaky::default();
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    // The server's pushback makes the wait before the retry 60 s.
    let client = GreeterClient::new(channel(port, &config(&retry_unavailable(5), "")));
    let call = client.say_hello(hello("pushback:60000:a")).timeout(Duration::from_millis(300));
    let err = no_hang("the deadline", call).await.expect_err("deadline during the wait");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(greeter.attempts.previous_of("pushback:60000:a"), [0], "no attempt after the deadline");

    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let call = client.say_hello(hello("pushback:60000:b")).cancel_on(async move {
        let _ = cancelled.await;
    });
    let call = tokio::spawn(call.into_future());
    // Cancelled once the first attempt has failed and the call waits for its retry.
    while greeter.attempts.of("pushback:60000:b").is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(cancel);
    let err = no_hang("the cancel", call).await.expect("joined").expect_err("cancelled");
    assert_eq!(err.code(), Code::Cancelled);
    assert_eq!(greeter.attempts.previous_of("pushback:60000:b"), [0]);
    server.stop(None).await;
}

#[tokio::test]
async fn a_streaming_call_is_retried_before_its_first_response_and_not_after() {
    let guide = FlakyGuide::default();
    let (server, port) = start(Flaky::default(), guide.clone());
    let client = RouteGuideClient::new(channel(port, &config(&retry_unavailable(3), "")));
    let rect = |mode: i32| Rectangle { lo: Some(Point { latitude: mode, longitude: 0 }), hi: None };

    let mut stream = no_hang("list 1", client.list_features(rect(1))).await.expect("started");
    let mut names = Vec::new();
    while let Some(feature) = no_hang("a feature", stream.message()).await.expect("no error") {
        names.push(feature.name);
    }
    assert_eq!(names, ["a", "b"]);
    assert_eq!(guide.attempts.previous_of("list:1"), [0, 1], "a trailers-only failure is retried");

    let mut stream = no_hang("list 2", client.list_features(rect(2))).await.expect("started");
    let first = no_hang("the first feature", stream.message()).await.expect("a feature");
    assert_eq!(first.map(|f| f.name).as_deref(), Some("first"));
    let err = no_hang("the failure", stream.message()).await.expect_err("UNAVAILABLE after it");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(guide.attempts.previous_of("list:2"), [0], "committed by its response headers: no retry");

    // A client stream is replayed whole on the retry.
    let points: Vec<Point> = (1..=100).map(|i| Point { latitude: i, longitude: 0 }).collect();
    let summary = no_hang("record", client.record_route(rust_rpc::stream::iter(points))).await.expect("retried");
    assert_eq!((summary.point_count, summary.distance), (100, 5050));
    let seen = guide.attempts.of("record");
    assert_eq!(seen.iter().map(|s| (s.previous, s.messages)).collect::<Vec<_>>(), [(0, 100), (1, 100)]);
    server.stop(None).await;
}

#[tokio::test]
async fn a_request_larger_than_the_per_call_buffer_is_not_retried() {
    let guide = FlakyGuide::default();
    let (server, port) = start(Flaky::default(), guide.clone());
    let client = RouteGuideClient::new(channel(port, &config(&retry_unavailable(3), "")));
    // Each point is a 5-byte prefix and 11 bytes of message: 40,000 of them are about 640 KB,
    // well past the 256 KiB a call may keep for replay.
    let points: Vec<Point> = (0..40_000).map(|_| Point { latitude: 1_000_000, longitude: 1 }).collect();
    let err = no_hang("record", client.record_route(rust_rpc::stream::iter(points))).await.expect_err("not retried");
    assert_eq!(err.code(), Code::Unavailable);
    let seen = guide.attempts.of("record");
    assert_eq!(seen.iter().map(|s| (s.previous, s.messages)).collect::<Vec<_>>(), [(0, 40_000)]);
    server.stop(None).await;
}

#[tokio::test]
async fn throttling_stops_retries_after_enough_failures() {
    let greeter = Flaky::default();
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    // 4 tokens: a failure leaves 3 (more than half: retry), the next leaves 2 (not: stop).
    let throttled = config(&retry_unavailable(5), r#", "retryThrottling": {"maxTokens": 4, "tokenRatio": 0.1}"#);
    let client = GreeterClient::new(channel(port, &throttled));

    let err = no_hang("first", client.say_hello(hello("fail:9:14:a"))).await.expect_err("fails");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(greeter.attempts.previous_of("fail:9:14:a"), [0, 1], "throttled after two failures");
    let err = no_hang("second", client.say_hello(hello("fail:9:14:b"))).await.expect_err("fails");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(greeter.attempts.previous_of("fail:9:14:b"), [0], "no retry while throttled");
    server.stop(None).await;
}

#[tokio::test]
async fn a_hedged_call_answers_with_the_fast_attempt_and_cancels_the_slow_one() {
    let (sender, cancelled) = tokio::sync::oneshot::channel();
    let greeter = Flaky { cancelled: Arc::new(Mutex::new(Some(sender))), ..Flaky::default() };
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    let hedging = r#""hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.05s", "nonFatalStatusCodes": []}"#;
    let client = GreeterClient::new(channel(port, &config(hedging, "")));

    let reply = no_hang("hedged", client.say_hello(hello("slow-first:a"))).await.expect("the hedge answers");
    assert_eq!(reply.message, "hello slow-first:a after 1");
    let was_cancelled = no_hang("the slow attempt's end", cancelled).await.expect("it ended");
    assert!(was_cancelled, "the slow attempt was cancelled, not finished");
    assert_eq!(greeter.attempts.previous_of("slow-first:a"), [0, 1], "no third attempt once one answered");
    server.stop(None).await;
}

#[tokio::test]
async fn hedging_sends_the_next_attempt_on_a_non_fatal_status_and_stops_on_a_fatal_one() {
    let greeter = Flaky::default();
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    // A long delay: only a non-fatal failure starts the next attempt before the deadline.
    let hedging =
        r#""hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "20s", "nonFatalStatusCodes": ["UNAVAILABLE"]}"#;
    let client = GreeterClient::new(channel(port, &config(hedging, "")));

    let reply = no_hang("non-fatal", client.say_hello(hello("fail:2:14:a"))).await.expect("third attempt");
    assert_eq!(reply.message, "hello fail:2:14:a after 2");
    assert_eq!(greeter.attempts.previous_of("fail:2:14:a"), [0, 1, 2]);

    let err = no_hang("fatal", client.say_hello(hello("fail:2:13:b"))).await.expect_err("fatal");
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(greeter.attempts.previous_of("fail:2:13:b"), [0], "INTERNAL is fatal");
    server.stop(None).await;
}

/// Points with latitudes `next..=last`, a millisecond apart.
struct Trickle {
    next: i32,
    last: i32,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl rust_rpc::stream::Stream for Trickle {
    type Item = Point;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Point>> {
        if self.next > self.last {
            return std::task::Poll::Ready(None);
        }
        std::task::ready!(self.sleep.as_mut().poll(cx));
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1);
        self.sleep.as_mut().reset(deadline);
        self.next += 1;
        std::task::Poll::Ready(Some(Point { latitude: self.next - 1, longitude: 0 }))
    }
}

#[tokio::test]
async fn a_hedged_client_stream_is_sent_whole_to_each_attempt() {
    let guide = FlakyGuide::default();
    let (server, port) = start(Flaky::default(), guide.clone());
    let hedging =
        r#""hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.01s", "nonFatalStatusCodes": ["UNAVAILABLE"]}"#;
    let client = RouteGuideClient::new(channel(port, &config(hedging, "")));
    // Sent a little at a time, so the second attempt starts while the first is still sending:
    // both read the one request stream, the second catching up from what was kept.
    let points = Trickle { next: 1, last: 50, sleep: Box::pin(tokio::time::sleep(Duration::ZERO)) };
    let summary = no_hang("record", client.record_route(points)).await.expect("the second attempt");
    assert_eq!((summary.point_count, summary.distance), (50, 1275));
    let mut seen: Vec<_> = guide.attempts.of("record").iter().map(|s| (s.previous, s.messages)).collect();
    seen.sort();
    assert_eq!(seen, [(0, 50), (1, 50)], "both attempts got every point");
    server.stop(None).await;
}

#[tokio::test]
async fn the_config_sets_the_timeout_wait_for_ready_and_message_limits_per_method() {
    let greeter = Flaky::default();
    let (server, port) = start(greeter.clone(), FlakyGuide::default());
    let json = r#"{"methodConfig": [
        {"name": [{"service": "helloworld.Greeter", "method": "SayHello"}], "timeout": "0.2s",
         "maxResponseMessageBytes": 1024},
        {"name": [{"service": "routeguide.RouteGuide"}], "maxRequestMessageBytes": 4}]}"#;
    let channel = channel(port, json);
    let client = GreeterClient::new(channel.clone());

    let err =
        no_hang("sleeps past the config's timeout", client.say_hello(hello("sleep:5000"))).await.expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    let err = no_hang("a large reply", client.say_hello(hello("big"))).await.expect_err("too large");
    assert_eq!(err.code(), Code::ResourceExhausted);
    let reply = no_hang("a small one", client.say_hello(hello("small"))).await.expect("fits");
    assert_eq!(reply.message, "hello small after 0");

    let guide = RouteGuideClient::new(channel);
    let point = Point { latitude: 1_000_000, longitude: 1_000_000 };
    let err = no_hang("a large request", guide.get_feature(point)).await.expect_err("too large to send");
    assert_eq!(err.code(), Code::ResourceExhausted);

    // waitForReady from the config: a call to a dead port waits (here until its deadline)
    // instead of failing at once with UNAVAILABLE.
    let dead = crate::support::dead_port();
    let waiting = r#"{"methodConfig": [{"name": [{}], "waitForReady": true, "timeout": "0.3s"}]}"#;
    let client = GreeterClient::new(self::channel(dead, waiting));
    let err = no_hang("waits for ready", client.say_hello(hello("x"))).await.expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    let err = no_hang("the call says no", client.say_hello(hello("x")).wait_for_ready(false)).await.expect_err("fast");
    assert_eq!(err.code(), Code::Unavailable, "the call's own setting wins: {err}");
    server.stop(None).await;
}

#[test]
fn an_invalid_service_config_fails_the_build_naming_the_problem() {
    let err = ChannelBuilder::new("localhost:1").service_config("{\"methodConfig\": [").build().expect_err("bad json");
    assert!(err.is_invalid_setting() && err.to_string().contains("not valid JSON"), "{err}");
    let bad = config(
        r#""retryPolicy": {"maxAttempts": 3, "initialBackoff": "1", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}"#,
        "",
    );
    let err = ChannelBuilder::new("localhost:1").service_config(bad).build().expect_err("bad duration");
    assert!(err.to_string().contains("methodConfig[0].retryPolicy.initialBackoff"), "{err}");
}

/// How a hand-made HTTP/2 server refuses the first stream it is sent.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// RST_STREAM with REFUSED_STREAM, on a connection that then serves normally.
    RefusedStream,
    /// GOAWAY with last stream 0 (the stream is above it), then the connection closes.
    GoAway,
}

/// Reads frames from `socket` until a HEADERS frame has come; returns its stream id.
async fn read_until_headers(socket: &mut tokio::net::TcpStream) -> u32 {
    let mut preface = [0u8; 24];
    socket.read_exact(&mut preface).await.expect("preface");
    loop {
        let mut head = [0u8; 9];
        socket.read_exact(&mut head).await.expect("frame header");
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        socket.read_exact(&mut payload).await.expect("payload");
        if head[3] == HEADERS {
            return u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        }
    }
}

/// A listener whose first connection (HTTP/2 by hand) refuses its first stream as `refusal`
/// says, then goes away; later connections are passed byte for byte to the rust-rpc server on
/// `backend`. Returns the port and how many streams were refused.
async fn refusing_server(refusal: Refusal, backend: u16) -> (u16, Arc<Mutex<u32>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let refused = Arc::new(Mutex::new(0));
    let count = refused.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            if !std::mem::take(&mut first) {
                // Every later connection goes to the real server, byte for byte.
                tokio::spawn(async move {
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", backend)).await {
                        let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                    }
                });
                continue;
            }
            let count = count.clone();
            tokio::spawn(async move {
                // Our SETTINGS first, as a server must; the client's ACK is read and ignored.
                socket.write_all(&frame(SETTINGS, 0, 0, &[])).await.expect("settings");
                let stream = read_until_headers(&mut socket).await;
                *count.lock().expect("lock") += 1;
                // GOAWAY (either way): no later stream may use this connection, so the retry
                // goes out on a new one, to the backend. With REFUSED_STREAM, the GOAWAY keeps
                // the stream (its last stream id) and the reset comes after it: the client has
                // read the GOAWAY when it retries, as it would not if the reset came first (its
                // retry could race the GOAWAY onto this connection and be refused again).
                let last = match refusal {
                    Refusal::RefusedStream => stream,
                    Refusal::GoAway => 0,
                };
                let mut payload = last.to_be_bytes().to_vec();
                payload.extend_from_slice(&0u32.to_be_bytes());
                socket.write_all(&frame(GOAWAY, 0, 0, &payload)).await.expect("goaway");
                if let Refusal::RefusedStream = refusal {
                    let code = crate::raw_h2::REFUSED_STREAM.to_be_bytes();
                    socket.write_all(&frame(crate::raw_h2::RST_STREAM, 0, stream, &code)).await.expect("reset");
                }
                socket.flush().await.expect("flush");
                tokio::time::sleep(Duration::from_millis(200)).await;
            });
        }
    });
    (port, refused)
}

#[tokio::test]
async fn a_stream_refused_before_processing_is_retried_transparently() {
    for refusal in [Refusal::GoAway, Refusal::RefusedStream] {
        let greeter = Flaky::default();
        let (server, backend) = start(greeter.clone(), FlakyGuide::default());
        let (port, refused) = refusing_server(refusal, backend).await;
        // UNAVAILABLE is not retryable here: only the transparent retry can make the call succeed.
        let policy = r#""retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
            "backoffMultiplier": 1, "retryableStatusCodes": ["ABORTED"]}"#;
        let client = GreeterClient::new(channel(port, &config(policy, "")));
        let reply = no_hang("refused, then served", client.say_hello(hello("again"))).await;
        let reply = reply.unwrap_or_else(|err| panic!("{refusal:?}: {err}"));
        assert_eq!(reply.message, "hello again after 0", "{refusal:?}: not counted as an attempt");
        assert_eq!(*refused.lock().expect("lock"), 1, "{refusal:?}: the first stream was refused");
        assert_eq!(greeter.attempts.previous_of("again").len(), 1, "{refusal:?}");
        server.stop(None).await;
    }
}
