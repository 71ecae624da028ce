//! Interceptors on both sides, over loopback, on all four kinds of call: order, short-circuits,
//! what they can change, and that they hear how every call ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary,
    add_route_guide_servicer_to_server,
};
use rust_rpc::stream::StreamExt;
use rust_rpc::{
    CallOutcome, ChannelBuilder, ClientCall, ClientInterceptor, Code, Compression, Direction, MessageEvent,
    RequestStream, ResponseStream, Result, RpcError, Server, ServerInterceptor, ServicerContext,
};

use crate::support::{HANG_GUARD, no_hang};

/// What the interceptors did, in order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().expect("log").push(entry);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("log"))
    }

    /// Waits until the log holds `n` entries (a call's end reaches a server interceptor when
    /// the server sends it, which can be after the client has the answer), then takes them.
    async fn take_when(&self, n: usize) -> Vec<String> {
        let filled = async {
            while self.0.lock().expect("log").len() < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        if tokio::time::timeout(HANG_GUARD, filled).await.is_err() {
            panic!("the log never reached {n} entries: {:?}", self.take());
        }
        self.take()
    }
}

/// A server interceptor that logs, and fails calls whose metadata has `x-reject: <name>`.
struct Logging {
    name: &'static str,
    log: Log,
}

impl ServerInterceptor for Logging {
    async fn intercept(&self, context: &ServicerContext) -> Result<()> {
        self.log.push(format!("{} intercept {}", self.name, context.method()));
        if context.invocation_metadata().get("x-reject") == Some(self.name) {
            return Err(RpcError::unauthenticated(format!("{} said no", self.name)));
        }
        if context.invocation_metadata().get("x-panic") == Some(self.name) {
            panic!("{} panicked", self.name);
        }
        if context.invocation_metadata().get("x-hang") == Some(self.name) {
            std::future::pending::<()>().await;
        }
        context.insert_extension(Seen(self.name));
        Ok(())
    }

    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        self.log.push(format!("{} completed {} {:?}", self.name, context.method(), outcome.code()));
    }
}

/// The last server interceptor that let a call through, as the handler sees it.
#[derive(Clone, Copy)]
struct Seen(&'static str);

/// Route guide answering from what the interceptors attached; counts the calls it runs.
#[derive(Clone, Default)]
struct Guide {
    runs: Arc<Mutex<usize>>,
}

impl Guide {
    fn seen(&self, context: &ServicerContext) -> String {
        *self.runs.lock().expect("runs") += 1;
        context.extension::<Seen>().map_or("nobody".to_owned(), |seen| seen.0.to_owned())
    }
}

impl RouteGuideServicer for Guide {
    async fn get_feature(&self, _point: Point, context: ServicerContext) -> Result<Feature> {
        Ok(Feature { name: self.seen(&context), location: None })
    }

    async fn list_features(&self, _area: Rectangle, context: ServicerContext) -> Result<ResponseStream<Feature>> {
        let name = self.seen(&context);
        Ok(ResponseStream::iter((0..3).map(move |_| Feature { name: name.clone(), location: None })))
    }

    async fn record_route(&self, mut points: RequestStream<Point>, context: ServicerContext) -> Result<RouteSummary> {
        self.seen(&context);
        let mut count = 0;
        while points.message().await?.is_some() {
            count += 1;
        }
        Ok(RouteSummary { point_count: count, ..Default::default() })
    }

    async fn route_chat(
        &self,
        notes: RequestStream<RouteNote>,
        context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        let name = self.seen(&context);
        Ok(ResponseStream::new(notes.map(move |note| note.map(|note| RouteNote { message: name.clone(), ..note }))))
    }
}

/// A server with interceptors `a` and `b` on the server and `c` on the route guide service.
fn serve(log: &Log, guide: Guide) -> (Server, u16) {
    let server = Server::builder()
        .interceptor(Logging { name: "a", log: log.clone() })
        .interceptor(Logging { name: "b", log: log.clone() })
        .build();
    let service = e2e::routeguide::route_guide_service(guide).with_interceptor(Logging { name: "c", log: log.clone() });
    server.add_service(service).expect("add route guide");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

fn client(port: u16) -> RouteGuideClient {
    RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

fn note() -> RouteNote {
    RouteNote { location: None, message: "hi".into() }
}

/// The log of one call through `a`, `b`, `c` that ended with `code`.
fn through_all(method: &str, code: &str) -> Vec<String> {
    let path = format!("/routeguide.RouteGuide/{method}");
    vec![
        format!("a intercept {path}"),
        format!("b intercept {path}"),
        format!("c intercept {path}"),
        format!("c completed {path} {code}"),
        format!("b completed {path} {code}"),
        format!("a completed {path} {code}"),
    ]
}

#[tokio::test]
async fn server_interceptors_run_in_order_on_every_kind_and_hear_the_end_in_reverse() {
    let log = Log::default();
    let (_server, port) = serve(&log, Guide::default());
    let client = client(port);

    let feature = client.get_feature(Point::default()).await.expect("unary");
    assert_eq!(feature.name, "c", "the handler sees what the last interceptor attached");
    assert_eq!(log.take_when(6).await, through_all("GetFeature", "Ok"));

    let features: Vec<_> = client.list_features(Rectangle::default()).await.expect("server streaming").collect().await;
    assert_eq!(features.len(), 3);
    assert!(features.iter().all(|f| f.as_ref().is_ok_and(|f| f.name == "c")), "{features:?}");
    assert_eq!(log.take_when(6).await, through_all("ListFeatures", "Ok"));

    let points = rust_rpc::stream::iter(vec![Point::default(); 4]);
    assert_eq!(client.record_route(points).await.expect("client streaming").point_count, 4);
    assert_eq!(log.take_when(6).await, through_all("RecordRoute", "Ok"));

    let notes = rust_rpc::stream::iter(vec![note(), note()]);
    let replies: Vec<_> = client.route_chat(notes).await.expect("bidi").collect().await;
    assert_eq!(replies.len(), 2);
    assert!(replies.iter().all(|n| n.as_ref().is_ok_and(|n| n.message == "c")), "{replies:?}");
    assert_eq!(log.take_when(6).await, through_all("RouteChat", "Ok"));
}

#[tokio::test]
async fn a_server_interceptor_that_fails_ends_the_call_before_the_handler_on_every_kind() {
    let log = Log::default();
    let guide = Guide::default();
    let (_server, port) = serve(&log, guide.clone());
    let client = client(port);
    let rejected = |err: RpcError| {
        assert_eq!(err.code(), Code::Unauthenticated, "{err}");
        assert_eq!(err.details(), "b said no");
    };
    let path = |method: &str| format!("/routeguide.RouteGuide/{method}");
    // `b` fails: `c` and the handler never run, and only `a` and `b` hear the end.
    let expected = |method: &str| {
        vec![
            format!("a intercept {}", path(method)),
            format!("b intercept {}", path(method)),
            format!("b completed {} Unauthenticated", path(method)),
            format!("a completed {} Unauthenticated", path(method)),
        ]
    };

    let err =
        client.get_feature(Point::default()).add_metadata("x-reject", "b").expect("md").await.expect_err("rejected");
    rejected(err);
    assert_eq!(log.take_when(4).await, expected("GetFeature"));

    let mut stream =
        client.list_features(Rectangle::default()).add_metadata("x-reject", "b").expect("md").await.expect("starts");
    rejected(stream.message().await.expect_err("rejected"));
    assert_eq!(log.take_when(4).await, expected("ListFeatures"));

    let points = rust_rpc::stream::iter(vec![Point::default()]);
    rejected(client.record_route(points).add_metadata("x-reject", "b").expect("md").await.expect_err("rejected"));
    assert_eq!(log.take_when(4).await, expected("RecordRoute"));

    let notes = rust_rpc::stream::iter(vec![note()]);
    let mut stream = client.route_chat(notes).add_metadata("x-reject", "b").expect("md").await.expect("starts");
    rejected(stream.message().await.expect_err("rejected"));
    assert_eq!(log.take_when(4).await, expected("RouteChat"));

    assert_eq!(*guide.runs.lock().expect("runs"), 0, "no handler ran");
}

#[tokio::test]
async fn a_panicking_or_hanging_server_interceptor_fails_only_its_own_call() {
    let log = Log::default();
    let (_server, port) = serve(&log, Guide::default());
    let client = client(port);
    let err = client.get_feature(Point::default()).add_metadata("x-panic", "c").expect("md").await.expect_err("panics");
    assert_eq!(err.code(), Code::Unknown, "{err}");
    assert_eq!(log.take_when(6).await[5], "a completed /routeguide.RouteGuide/GetFeature Unknown");
    // One that hangs is ended by the call's deadline, and hears so.
    let err = client
        .get_feature(Point::default())
        .add_metadata("x-hang", "a")
        .expect("md")
        .timeout(Duration::from_millis(200))
        .await
        .expect_err("times out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert_eq!(log.take_when(2).await[1], "a completed /routeguide.RouteGuide/GetFeature DeadlineExceeded");
    // And the server goes on.
    assert_eq!(client.get_feature(Point::default()).await.expect("serves").name, "c");
}

#[tokio::test]
async fn a_call_the_client_abandons_is_reported_cancelled() {
    let log = Log::default();
    let (_server, port) = serve(&log, Guide::default());
    let notes = rust_rpc::stream::iter(vec![note()]).chain(rust_rpc::stream::iter(std::iter::repeat_with(note)).then(
        |note| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            note
        },
    ));
    let mut chat = client(port).route_chat(notes).await.expect("starts");
    no_hang("the first reply", chat.message()).await.expect("a reply").expect("not ended");
    drop(chat);
    let ends: Vec<_> = log.take_when(6).await.split_off(3);
    assert_eq!(ends[2], "a completed /routeguide.RouteGuide/RouteChat Cancelled", "{ends:?}");
}

/// A client interceptor that logs, adds metadata, and fails calls to methods named in `refuse`.
struct ClientLogging {
    name: &'static str,
    log: Log,
    refuse: Option<&'static str>,
    hang: bool,
}

impl ClientInterceptor for ClientLogging {
    async fn intercept(&self, call: &mut ClientCall<'_>) -> Result<()> {
        self.log.push(format!("{} intercept {}", self.name, call.method()));
        if self.hang {
            std::future::pending::<()>().await;
        }
        if self.refuse.is_some_and(|method| call.method().ends_with(method)) {
            return Err(RpcError::permission_denied(format!("{} refused", self.name)));
        }
        call.metadata_mut().append("x-client-seen", self.name)?;
        Ok(())
    }

    fn completed(&self, method: &str, outcome: &CallOutcome<'_>) {
        self.log.push(format!("{} completed {method} {:?}", self.name, outcome.code()));
    }
}

/// Records the `x-client-seen` metadata the server receives, as `Seen` tells it to the handler.
struct EchoSeen;

impl ServerInterceptor for EchoSeen {
    async fn intercept(&self, context: &ServicerContext) -> Result<()> {
        let seen = context.invocation_metadata().get_all("x-client-seen").join(",");
        context.insert_extension(Seen(Box::leak(seen.into_boxed_str())));
        Ok(())
    }
}

fn server_echoing_seen(guide: Guide) -> (Server, u16) {
    let server = Server::builder().interceptor(EchoSeen).build();
    add_route_guide_servicer_to_server(guide, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

fn intercepted_client(port: u16, log: &Log, refuse: Option<&'static str>, hang: bool) -> RouteGuideClient {
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .interceptor(ClientLogging { name: "x", log: log.clone(), refuse: None, hang: false })
        .interceptor(ClientLogging { name: "y", log: log.clone(), refuse, hang })
        .build()
        .expect("channel");
    RouteGuideClient::new(channel)
}

fn client_log(method: &str, code: &str) -> Vec<String> {
    let path = format!("/routeguide.RouteGuide/{method}");
    vec![
        format!("x intercept {path}"),
        format!("y intercept {path}"),
        format!("y completed {path} {code}"),
        format!("x completed {path} {code}"),
    ]
}

#[tokio::test]
async fn client_interceptors_change_metadata_and_hear_the_end_on_every_kind() {
    let guide = Guide::default();
    let (_server, port) = server_echoing_seen(guide);
    let log = Log::default();
    let client = intercepted_client(port, &log, None, false);

    assert_eq!(client.get_feature(Point::default()).await.expect("unary").name, "x,y");
    assert_eq!(log.take(), client_log("GetFeature", "Ok"));

    let mut features = client.list_features(Rectangle::default()).await.expect("server streaming");
    assert_eq!(features.message().await.expect("first").expect("some").name, "x,y");
    assert_eq!(log.take(), client_log("ListFeatures", "Ok")[..2], "not ended yet");
    while features.message().await.expect("ok").is_some() {}
    assert_eq!(log.take(), client_log("ListFeatures", "Ok")[2..]);

    let points = rust_rpc::stream::iter(vec![Point::default(); 2]);
    assert_eq!(client.record_route(points).await.expect("client streaming").point_count, 2);
    assert_eq!(log.take(), client_log("RecordRoute", "Ok"));

    let replies: Vec<_> = client.route_chat(rust_rpc::stream::iter(vec![note()])).await.expect("bidi").collect().await;
    assert!(replies.iter().all(|n| n.as_ref().is_ok_and(|n| n.message == "x,y")), "{replies:?}");
    assert_eq!(log.take(), client_log("RouteChat", "Ok"));
}

#[tokio::test]
async fn a_client_interceptor_that_fails_sends_nothing() {
    let guide = Guide::default();
    let (_server, port) = server_echoing_seen(guide.clone());
    let log = Log::default();
    let client = intercepted_client(port, &log, Some("GetFeature"), false);
    let err = client.get_feature(Point::default()).await.expect_err("refused");
    assert_eq!(err.code(), Code::PermissionDenied, "{err}");
    assert_eq!(err.details(), "y refused");
    assert_eq!(log.take(), client_log("GetFeature", "PermissionDenied"));
    let mut stream = intercepted_client(port, &log, Some("ListFeatures"), false)
        .list_features(Rectangle::default())
        .await
        .expect("starts");
    assert_eq!(stream.message().await.expect_err("refused").code(), Code::PermissionDenied);
    assert_eq!(log.take(), client_log("ListFeatures", "PermissionDenied"));
    assert_eq!(*guide.runs.lock().expect("runs"), 0, "no call reached the server");
}

#[tokio::test]
async fn a_hanging_client_interceptor_is_ended_by_the_calls_deadline() {
    let (_server, port) = server_echoing_seen(Guide::default());
    let log = Log::default();
    let client = intercepted_client(port, &log, None, true);
    let call = client.get_feature(Point::default()).timeout(Duration::from_millis(200));
    let err = no_hang("the deadline ends the call", call).await.expect_err("times out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert_eq!(log.take(), client_log("GetFeature", "DeadlineExceeded"));
}

/// Counts how often it was asked; fails with `fail` when set; hangs when `hang`.
#[derive(Clone, Default)]
struct Token {
    asked: Arc<Mutex<usize>>,
    fail: Option<Code>,
    hang: bool,
}

impl rust_rpc::CallCredentials for Token {
    async fn metadata(&self, method: &str) -> Result<rust_rpc::Metadata> {
        *self.asked.lock().expect("asked") += 1;
        if self.hang {
            std::future::pending::<()>().await;
        }
        if let Some(code) = self.fail {
            return Err(RpcError::new(code, "the token service said no"));
        }
        let mut metadata = rust_rpc::Metadata::new();
        metadata.insert("x-client-seen", &format!("token for {method}"))?;
        Ok(metadata)
    }
}

fn credentialed(port: u16, token: &Token, allow_insecure: bool) -> RouteGuideClient {
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .call_credentials(token.clone())
        .allow_insecure_call_credentials(allow_insecure)
        .build()
        .expect("channel");
    RouteGuideClient::new(channel)
}

#[tokio::test]
async fn call_credentials_are_not_sent_without_tls_unless_the_channel_allows_it() {
    let guide = Guide::default();
    let (_server, port) = server_echoing_seen(guide.clone());
    let token = Token::default();
    let err = credentialed(port, &token, false).get_feature(Point::default()).await.expect_err("refused");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.details().contains("only over TLS"), "{err}");
    assert_eq!(*token.asked.lock().expect("asked"), 0, "the provider is not asked");
    assert_eq!(*guide.runs.lock().expect("runs"), 0, "nothing was sent");
    // A local connection may opt in; the metadata reaches the server.
    let feature = credentialed(port, &token, true).get_feature(Point::default()).await.expect("sent");
    assert_eq!(feature.name, "token for /routeguide.RouteGuide/GetFeature");
    // Per call, on a channel without any: the same rule.
    let err = client(port).get_feature(Point::default()).call_credentials(token.clone()).await.expect_err("refused");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
}

#[tokio::test]
async fn a_failing_credentials_provider_fails_the_call_unavailable_or_unauthenticated() {
    let (_server, port) = server_echoing_seen(Guide::default());
    for (fail, expected) in [
        (Code::Internal, Code::Unavailable),
        (Code::InvalidArgument, Code::Unavailable),
        (Code::Unauthenticated, Code::Unauthenticated),
    ] {
        let token = Token { fail: Some(fail), ..Token::default() };
        let err = credentialed(port, &token, true).get_feature(Point::default()).await.expect_err("fails");
        assert_eq!(err.code(), expected, "provider failed with {fail:?}: {err}");
        assert!(err.details().contains("the token service said no"), "{err}");
    }
    // One that hangs is ended by the call's deadline.
    let token = Token { hang: true, ..Token::default() };
    let call = credentialed(port, &token, true).get_feature(Point::default()).timeout(Duration::from_millis(200));
    let err = no_hang("the deadline ends the call", call).await.expect_err("times out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
}

/// Changes the call's options: gzip for every request, and wait-for-ready.
struct OptionsChanger;

impl ClientInterceptor for OptionsChanger {
    async fn intercept(&self, call: &mut ClientCall<'_>) -> Result<()> {
        assert_eq!(call.compression(), None, "the call set no compression");
        assert!(!call.wait_for_ready(), "the call did not ask to wait");
        call.set_compression(Some(Compression::Gzip));
        call.set_wait_for_ready(true);
        Ok(())
    }
}

/// Tells the handler (as `Seen`) whether the request message came compressed: on the wire it
/// then has another size than its encoding.
struct CompressionSeen;

impl ServerInterceptor for CompressionSeen {
    fn observes_messages(&self) -> bool {
        true
    }

    fn message(&self, context: &ServicerContext, event: &MessageEvent<'_>) {
        if event.direction() == Direction::Received {
            let compressed = event.wire_size() != event.bytes().len();
            context.insert_extension(Seen(if compressed { "compressed" } else { "plain" }));
        }
    }
}

#[tokio::test]
async fn a_client_interceptor_changes_compression_and_wait_for_ready() {
    let server = Server::builder().interceptor(CompressionSeen).build();
    add_route_guide_servicer_to_server(Guide::default(), &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let point = Point { latitude: 407_838_351, longitude: -746_143_763 };

    let plain = client(port).get_feature(point).await.expect("plain call");
    assert_eq!(plain.name, "plain");
    let changed = RouteGuideClient::new(
        ChannelBuilder::new(format!("127.0.0.1:{port}")).interceptor(OptionsChanger).build().expect("channel"),
    );
    let feature = changed.get_feature(point).await.expect("compressed call");
    assert_eq!(feature.name, "compressed", "the interceptor's gzip reached the server");

    // Nothing listens on `closed`: without wait-for-ready a call fails at once with UNAVAILABLE;
    // with the interceptor's, it waits until its deadline.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let err = client(closed).get_feature(point).timeout(HANG_GUARD).await.expect_err("nobody listens");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    let waiting = RouteGuideClient::new(
        ChannelBuilder::new(format!("127.0.0.1:{closed}")).interceptor(OptionsChanger).build().expect("channel"),
    );
    let err = waiting.get_feature(point).timeout(Duration::from_millis(300)).await.expect_err("waits");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
}
