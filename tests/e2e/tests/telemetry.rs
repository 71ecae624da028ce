//! Telemetry over loopback: the per-message hook and counts on all four kinds of call, the
//! `Tracing` spans (fields, nesting, status), trace context propagation through
//! tracing-opentelemetry, and the A66 metrics read back from the OpenTelemetry SDK.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary, route_guide_service,
};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use prost::Message as _;
use rust_rpc::bytes::Bytes;
use rust_rpc::stream::StreamExt;
use rust_rpc::telemetry::{Metrics, Tracing};
use rust_rpc::{
    CallOutcome, ChannelBuilder, ClientInterceptor, Code, Compression, Direction, MessageEvent, RequestStream,
    ResponseStream, Result, RpcError, Server, ServerInterceptor, ServicerContext,
};
use tracing_subscriber::layer::SubscriberExt;

use crate::support::no_hang;

/// Route guide for these tests: `GetFeature` logs an event and fails with the code in the
/// point's latitude (0 is OK); the streams are three features, the count of the points, and an
/// echo of the notes.
struct Guide;

impl RouteGuideServicer for Guide {
    async fn get_feature(&self, point: Point, _context: ServicerContext) -> Result<Feature> {
        tracing::info!(latitude = point.latitude, "in the handler");
        match Code::from_i32(point.latitude) {
            Code::Ok => Ok(Feature { name: "x".repeat(point.longitude.max(0) as usize), location: Some(point) }),
            code => Err(RpcError::new(code, "asked to fail")),
        }
    }

    async fn list_features(&self, _area: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        tracing::info!("streaming");
        Ok(ResponseStream::iter((0..3).map(|i| Feature { name: format!("f{i}"), location: None })))
    }

    async fn record_route(&self, mut points: RequestStream<Point>, _context: ServicerContext) -> Result<RouteSummary> {
        let mut count = 0;
        while points.message().await?.is_some() {
            count += 1;
        }
        Ok(RouteSummary { point_count: count, ..Default::default() })
    }

    async fn route_chat(
        &self,
        notes: RequestStream<RouteNote>,
        _context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        Ok(ResponseStream::new(notes))
    }
}

fn serve(server: Server) -> (Server, u16) {
    server.add_service(route_guide_service(Guide)).expect("add route guide");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

fn point(latitude: i32, longitude: i32) -> Point {
    Point { latitude, longitude }
}

fn note(message: &str) -> RouteNote {
    RouteNote { location: None, message: message.into() }
}

/// Waits (bounded) until `ready` holds: a call's end reaches the server's interceptors when the
/// server sends it, which can be after the client has the answer.
async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    no_hang(what, async {
        while !ready() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The per-message hook and the counts.

/// What an observer saw: per call, each message's direction, bytes and wire size; and each
/// call's counts as its outcome gave them.
#[derive(Clone, Default)]
struct Seen {
    messages: Shared<(String, Direction, Vec<u8>, usize)>,
    outcomes: Shared<(String, Code, [u64; 4])>,
}

/// A list the interceptors (or the layer) fill and the test reads.
type Shared<T> = Arc<Mutex<Vec<T>>>;

impl Seen {
    fn message(&self, method: &str, event: &MessageEvent<'_>) {
        let entry = (method.to_owned(), event.direction(), event.bytes().to_vec(), event.wire_size());
        self.messages.lock().expect("seen").push(entry);
    }

    fn outcome(&self, method: &str, outcome: &CallOutcome<'_>) {
        let counts = [
            outcome.messages_sent(),
            outcome.messages_received(),
            outcome.sent_message_bytes(),
            outcome.received_message_bytes(),
        ];
        self.outcomes.lock().expect("seen").push((method.to_owned(), outcome.code(), counts));
    }

    /// The messages of `method`'s calls, taken.
    fn take(&self, method: &str) -> Vec<(Direction, Vec<u8>, usize)> {
        let mut messages = self.messages.lock().expect("seen");
        let (mine, rest) = messages.drain(..).partition::<Vec<_>, _>(|m| m.0.ends_with(method));
        *messages = rest;
        mine.into_iter().map(|(_, direction, bytes, size)| (direction, bytes, size)).collect()
    }

    fn outcome_of(&self, method: &str) -> Option<(Code, [u64; 4])> {
        let outcomes = self.outcomes.lock().expect("seen");
        outcomes.iter().find(|o| o.0.ends_with(method)).map(|o| (o.1, o.2))
    }
}

/// Observes messages on both sides.
struct Observer(Seen);

impl ServerInterceptor for Observer {
    fn observes_messages(&self) -> bool {
        true
    }

    fn message(&self, context: &ServicerContext, event: &MessageEvent<'_>) {
        self.0.message(context.method(), event);
    }

    fn completed(&self, context: &ServicerContext, outcome: &CallOutcome<'_>) {
        self.0.outcome(context.method(), outcome);
    }
}

impl ClientInterceptor for Observer {
    fn observes_messages(&self) -> bool {
        true
    }

    fn message(&self, method: &str, event: &MessageEvent<'_>) {
        self.0.message(method, event);
    }

    fn completed(&self, method: &str, outcome: &CallOutcome<'_>) {
        self.0.outcome(method, outcome);
    }
}

/// Does not ask to see messages: its `message` must never run.
#[derive(Clone, Default)]
struct Bystander(Arc<Mutex<usize>>);

impl ServerInterceptor for Bystander {
    fn message(&self, _context: &ServicerContext, _event: &MessageEvent<'_>) {
        *self.0.lock().expect("count") += 1;
    }
}

impl ClientInterceptor for Bystander {
    fn message(&self, _method: &str, _event: &MessageEvent<'_>) {
        *self.0.lock().expect("count") += 1;
    }
}

/// Checks one side's view of a call: the messages it sent and received, in order within each
/// direction, as their encodings; wire sizes equal to them (nothing is compressed); and the
/// outcome's counts agreeing.
fn check_side(seen: &Seen, method: &str, sent: &[Vec<u8>], received: &[Vec<u8>]) {
    let messages = seen.take(method);
    let of = |direction| -> Vec<_> { messages.iter().filter(|m| m.0 == direction).cloned().collect() };
    let (got_sent, got_received) = (of(Direction::Sent), of(Direction::Received));
    assert_eq!(got_sent.iter().map(|m| m.1.clone()).collect::<Vec<_>>(), sent, "{method}: sent");
    assert_eq!(got_received.iter().map(|m| m.1.clone()).collect::<Vec<_>>(), received, "{method}: received");
    assert!(messages.iter().all(|m| m.1.len() == m.2), "{method}: uncompressed, the wire size is the encoding's");
    let total = |messages: &[Vec<u8>]| messages.iter().map(|m| m.len() as u64).sum::<u64>();
    let counts = [sent.len() as u64, received.len() as u64, total(sent), total(received)];
    assert_eq!(seen.outcome_of(method), Some((Code::Ok, counts)), "{method}: the outcome's counts");
}

#[tokio::test]
async fn observers_see_every_message_of_every_kind_and_others_are_never_asked() {
    let (server_seen, client_seen) = (Seen::default(), Seen::default());
    let bystander = Bystander::default();
    let server = Server::builder().interceptor(bystander.clone()).interceptor(Observer(server_seen.clone())).build();
    let (_server, port) = serve(server);
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .interceptor(Observer(client_seen.clone()))
        .interceptor(bystander.clone())
        .build()
        .expect("channel");
    let client = RouteGuideClient::new(channel);

    // Unary.
    let request = point(0, 7);
    let reply = no_hang("unary", client.get_feature(request)).await.expect("unary");
    let (request, reply) = (request.encode_to_vec(), reply.encode_to_vec());
    until("the server's unary outcome", || server_seen.outcome_of("GetFeature").is_some()).await;
    check_side(&client_seen, "GetFeature", std::slice::from_ref(&request), std::slice::from_ref(&reply));
    check_side(&server_seen, "GetFeature", std::slice::from_ref(&reply), std::slice::from_ref(&request));

    // Server streaming.
    let area = Rectangle::default();
    let features: Vec<_> =
        no_hang("list", async { client.list_features(area).await.expect("starts").collect().await }).await;
    let features: Vec<Vec<u8>> = features.into_iter().map(|f| f.expect("feature").encode_to_vec()).collect();
    assert_eq!(features.len(), 3);
    until("the server's streaming outcome", || server_seen.outcome_of("ListFeatures").is_some()).await;
    let area = vec![area.encode_to_vec()];
    check_side(&client_seen, "ListFeatures", &area, &features);
    check_side(&server_seen, "ListFeatures", &features, &area);

    // Client streaming.
    let points: Vec<Point> = (1..=4).map(|i| point(i, i)).collect();
    let encoded: Vec<Vec<u8>> = points.iter().map(|p| p.encode_to_vec()).collect();
    let summary = no_hang("record", client.record_route(rust_rpc::stream::iter(points))).await.expect("record");
    assert_eq!(summary.point_count, 4);
    until("the server's client-streaming outcome", || server_seen.outcome_of("RecordRoute").is_some()).await;
    let summary = vec![summary.encode_to_vec()];
    check_side(&client_seen, "RecordRoute", &encoded, &summary);
    check_side(&server_seen, "RecordRoute", &summary, &encoded);

    // Bidirectional.
    let notes = vec![note("a"), note("bb")];
    let encoded: Vec<Vec<u8>> = notes.iter().map(|n| n.encode_to_vec()).collect();
    let replies: Vec<_> = no_hang("chat", async {
        client.route_chat(rust_rpc::stream::iter(notes)).await.expect("starts").collect().await
    })
    .await;
    assert_eq!(replies.len(), 2);
    until("the server's bidi outcome", || server_seen.outcome_of("RouteChat").is_some()).await;
    check_side(&client_seen, "RouteChat", &encoded, &encoded);
    check_side(&server_seen, "RouteChat", &encoded, &encoded);

    assert_eq!(*bystander.0.lock().expect("count"), 0, "an interceptor that did not ask saw no message");

    // A chain with no observer at all: the calls still count, and nothing is shown.
    let quiet = Seen::default();
    struct CountOnly(Seen);
    impl ClientInterceptor for CountOnly {
        fn completed(&self, method: &str, outcome: &CallOutcome<'_>) {
            self.0.outcome(method, outcome);
        }
    }
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .interceptor(bystander.clone())
        .interceptor(CountOnly(quiet.clone()))
        .build()
        .expect("channel");
    let notes = vec![note("c")];
    let replies: Vec<_> = no_hang("chat", async {
        RouteGuideClient::new(channel).route_chat(rust_rpc::stream::iter(notes)).await.expect("starts").collect().await
    })
    .await;
    assert_eq!(replies.len(), 1);
    let size = note("c").encoded_len() as u64;
    assert_eq!(quiet.outcome_of("RouteChat"), Some((Code::Ok, [1, 1, size, size])));
    assert_eq!(*bystander.0.lock().expect("count"), 0, "a chain without observers shows no message");
}

#[tokio::test]
async fn a_compressed_message_counts_its_compressed_size() {
    let (server_seen, client_seen) = (Seen::default(), Seen::default());
    let (_server, port) = serve(Server::builder().interceptor(Observer(server_seen.clone())).build());
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}"))
        .interceptor(Observer(client_seen.clone()))
        .build()
        .expect("channel");
    let client = RouteGuideClient::new(channel);
    let request = Point { latitude: 0, longitude: 4000 };
    no_hang("unary", client.get_feature(request).compression(Compression::Gzip)).await.expect("unary");
    until("the server's outcome", || server_seen.outcome_of("GetFeature").is_some()).await;
    let client_sent = client_seen.take("GetFeature");
    let server_received = server_seen.take("GetFeature");
    let sent = client_sent.iter().find(|m| m.0 == Direction::Sent).expect("the client sent one");
    let received = server_received.iter().find(|m| m.0 == Direction::Received).expect("the server read one");
    assert_eq!(sent.1, request.encode_to_vec(), "the hook sees the message uncompressed");
    assert_eq!(received.1, sent.1);
    assert_eq!(sent.2, received.2, "both sides count the same wire size");
    // Gzip of a 3-byte message is larger than it: the size is the compressed one, not the encoding's.
    assert_ne!(sent.2, sent.1.len(), "the wire size is the compressed size");
    let (_, client_counts) = client_seen.outcome_of("GetFeature").expect("client outcome");
    assert_eq!(client_counts[2], sent.2 as u64);
}

// ---------------------------------------------------------------------------------------------
// Spans, captured with a Layer.

/// A span as the layer saw it: its name and fields.
#[derive(Clone, Debug, Default)]
struct SpanRecord {
    name: &'static str,
    fields: BTreeMap<String, String>,
    closed: bool,
}

/// Spans by id, and events with the fields of the span they happened in.
#[derive(Clone, Default)]
struct Captured {
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
    events: Shared<(String, Option<SpanRecord>)>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> tracing_subscriber::Layer<S> for Captured
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut record = SpanRecord { name: attrs.metadata().name(), ..SpanRecord::default() };
        attrs.record(&mut Fields(&mut record.fields));
        self.spans.lock().expect("spans").insert(id.into_u64(), record);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(record) = self.spans.lock().expect("spans").get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut record.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let span = ctx
            .event_span(event)
            .and_then(|span| self.spans.lock().expect("spans").get(&span.id().into_u64()).cloned());
        self.events.lock().expect("events").push((fields.remove("message").unwrap_or_default(), span));
    }

    fn on_close(&self, id: tracing::span::Id, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(record) = self.spans.lock().expect("spans").get_mut(&id.into_u64()) {
            record.closed = true;
        }
    }
}

impl Captured {
    /// The closed spans named `name` whose `otel.name` is `method`'s.
    fn closed(&self, name: &str, method: &str) -> Vec<SpanRecord> {
        let spans = self.spans.lock().expect("spans");
        let otel_name = format!("routeguide.RouteGuide/{method}");
        spans
            .values()
            .filter(|s| s.closed && s.name == name && s.fields.get("otel.name") == Some(&otel_name))
            .cloned()
            .collect()
    }

    fn clear(&self) {
        self.spans.lock().expect("spans").retain(|_, s| !s.closed);
        self.events.lock().expect("events").clear();
    }
}

fn field<'a>(span: &'a SpanRecord, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

// A current-thread runtime (the default): the server, its connections and the client all run on
// this thread, where the subscriber is the default.
#[tokio::test]
async fn spans_carry_the_semantic_convention_fields_and_nest_what_the_handler_logs() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    let (_server, port) = serve(Server::builder().interceptor(Tracing::new()).build());
    let channel =
        ChannelBuilder::new(format!("127.0.0.1:{port}")).interceptor(Tracing::new()).build().expect("channel");
    let client = RouteGuideClient::new(channel);

    no_hang("ok call", client.get_feature(point(0, 1))).await.expect("ok");
    until("both spans closed", || {
        !captured.closed("grpc.server", "GetFeature").is_empty()
            && !captured.closed("grpc.client", "GetFeature").is_empty()
    })
    .await;
    let server = captured.closed("grpc.server", "GetFeature").remove(0);
    let client_span = captured.closed("grpc.client", "GetFeature").remove(0);
    for (span, kind) in [(&server, "server"), (&client_span, "client")] {
        assert_eq!(field(span, "otel.kind"), Some(kind), "{span:?}");
        assert_eq!(field(span, "rpc.system"), Some("grpc"), "{span:?}");
        assert_eq!(field(span, "rpc.service"), Some("routeguide.RouteGuide"), "{span:?}");
        assert_eq!(field(span, "rpc.method"), Some("GetFeature"), "{span:?}");
        assert_eq!(field(span, "rpc.grpc.status_code"), Some("0"), "{span:?}");
        assert_eq!(field(span, "otel.status_code"), None, "OK is no error: {span:?}");
        let duration: f64 = field(span, "duration_ms").expect("duration").parse().expect("a number");
        assert!(duration >= 0.0, "{span:?}");
    }
    assert_eq!(field(&server, "network.peer.address"), Some("127.0.0.1"));
    let peer_port: u16 = field(&server, "network.peer.port").expect("peer port").parse().expect("a port");
    assert_ne!(peer_port, 0);
    assert_eq!(field(&client_span, "server.address"), Some("127.0.0.1"));
    assert_eq!(field(&client_span, "server.port"), Some(port.to_string().as_str()));
    let events = captured.events.lock().expect("events").clone();
    let (_, span) = events.iter().find(|(message, _)| message == "in the handler").expect("the handler's event");
    let span = span.as_ref().expect("the handler's event is inside a span");
    assert_eq!((span.name, field(span, "otel.name")), ("grpc.server", Some("routeguide.RouteGuide/GetFeature")));

    // A response stream is polled in the span too, and its handler logs inside it.
    captured.clear();
    let features: Vec<_> =
        no_hang("stream", async { client.list_features(Rectangle::default()).await.expect("starts").collect().await })
            .await;
    assert_eq!(features.len(), 3);
    until("the stream's spans closed", || !captured.closed("grpc.server", "ListFeatures").is_empty()).await;
    let events = captured.events.lock().expect("events").clone();
    let (_, span) = events.iter().find(|(message, _)| message == "streaming").expect("the handler's event");
    assert_eq!(span.as_ref().and_then(|s| field(s, "otel.name")), Some("routeguide.RouteGuide/ListFeatures"));

    // NOT_FOUND: an error for the client, an answer for the server. INTERNAL: an error for both.
    for (code, server_error) in [(Code::NotFound, false), (Code::Internal, true)] {
        captured.clear();
        let err = no_hang("failing call", client.get_feature(point(code.as_i32(), 0))).await.expect_err("fails");
        assert_eq!(err.code(), code);
        until("both spans closed", || {
            !captured.closed("grpc.server", "GetFeature").is_empty()
                && !captured.closed("grpc.client", "GetFeature").is_empty()
        })
        .await;
        let server = captured.closed("grpc.server", "GetFeature").remove(0);
        let client_span = captured.closed("grpc.client", "GetFeature").remove(0);
        let numeric = code.as_i32().to_string();
        assert_eq!(field(&server, "rpc.grpc.status_code"), Some(numeric.as_str()));
        assert_eq!(field(&client_span, "rpc.grpc.status_code"), Some(numeric.as_str()));
        assert_eq!(field(&client_span, "otel.status_code"), Some("ERROR"), "{code:?}");
        assert_eq!(field(&server, "otel.status_code"), server_error.then_some("ERROR"), "{code:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Propagation through tracing-opentelemetry.

#[tokio::test]
async fn propagated_context_makes_the_client_span_the_server_spans_parent() {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e"));
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let tracing = Tracing::new().propagate_context(true);
    let (_server, port) = serve(Server::builder().interceptor(tracing.clone()).build());
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}")).interceptor(tracing).build().expect("channel");
    let client = RouteGuideClient::new(channel);

    {
        let root = tracing::info_span!("test root");
        let _entered = root.enter();
        no_hang("call", client.get_feature(point(0, 1))).await.expect("ok");
    }
    let name = "routeguide.RouteGuide/GetFeature";
    let finished = || exporter.get_finished_spans().expect("spans");
    until("three spans exported", || finished().len() >= 3).await;
    let spans = finished();
    let by_kind = |kind: opentelemetry::trace::SpanKind| {
        spans.iter().find(|s| s.name == name && s.span_kind == kind).cloned().expect("span of that kind")
    };
    let client_span = by_kind(opentelemetry::trace::SpanKind::Client);
    let server_span = by_kind(opentelemetry::trace::SpanKind::Server);
    let root = spans.iter().find(|s| s.name == "test root").expect("root span");
    assert_eq!(
        client_span.span_context.trace_id(),
        root.span_context.trace_id(),
        "the client joins the caller's trace"
    );
    assert_eq!(client_span.parent_span_id, root.span_context.span_id());
    assert_eq!(server_span.span_context.trace_id(), client_span.span_context.trace_id(), "one trace");
    assert_eq!(server_span.parent_span_id, client_span.span_context.span_id(), "the client span is the parent");
    assert!(server_span.parent_span_is_remote);
    let attribute = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
        span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
    };
    assert_eq!(attribute(&server_span, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(attribute(&server_span, "rpc.grpc.status_code").as_deref(), Some("0"));

    // Without propagation the server starts a trace of its own.
    exporter.reset();
    let (_plain_server, plain_port) = serve(Server::builder().interceptor(Tracing::new()).build());
    let channel =
        ChannelBuilder::new(format!("127.0.0.1:{plain_port}")).interceptor(Tracing::new()).build().expect("channel");
    no_hang("call", RouteGuideClient::new(channel).get_feature(point(0, 1))).await.expect("ok");
    until("two spans exported", || finished().len() >= 2).await;
    let spans = finished();
    let client_span = spans.iter().find(|s| s.span_kind == opentelemetry::trace::SpanKind::Client).expect("client");
    let server_span = spans.iter().find(|s| s.span_kind == opentelemetry::trace::SpanKind::Server).expect("server");
    assert_ne!(server_span.span_context.trace_id(), client_span.span_context.trace_id());
}

// ---------------------------------------------------------------------------------------------
// Metrics through the SDK's in-memory exporter.

/// One data point: its attributes, and its count and sum (a histogram) or value (a counter).
#[derive(Debug)]
struct DataPoint {
    attributes: BTreeMap<String, String>,
    count: u64,
    sum: f64,
}

/// Every metric's unit and points, by name.
fn collect(exporter: &InMemoryMetricExporter) -> BTreeMap<String, (String, Vec<DataPoint>)> {
    let mut metrics = BTreeMap::new();
    for resource in exporter.get_finished_metrics().expect("metrics") {
        for scope in resource.scope_metrics() {
            assert_eq!(scope.scope().name(), "rust-rpc");
            for metric in scope.metrics() {
                let attributes = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                    kvs.map(|kv| (kv.key.to_string(), kv.value.to_string())).collect::<BTreeMap<_, _>>()
                };
                let points: Vec<DataPoint> = match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => sum
                        .data_points()
                        .map(|p| DataPoint { attributes: attributes(&mut p.attributes()), count: p.value(), sum: 0.0 })
                        .collect(),
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => h
                        .data_points()
                        .map(|p| DataPoint {
                            attributes: attributes(&mut p.attributes()),
                            count: p.count(),
                            sum: p.sum(),
                        })
                        .collect(),
                    AggregatedMetrics::U64(MetricData::Histogram(h)) => h
                        .data_points()
                        .map(|p| DataPoint {
                            attributes: attributes(&mut p.attributes()),
                            count: p.count(),
                            sum: p.sum() as f64,
                        })
                        .collect(),
                    other => panic!("{}: unexpected data {other:?}", metric.name()),
                };
                if let AggregatedMetrics::F64(MetricData::Histogram(h)) = metric.data() {
                    let bounds: Vec<f64> = h.data_points().next().expect("a point").bounds().collect();
                    assert_eq!(
                        (bounds.len(), bounds[1], bounds[40]),
                        (41, 0.00001, 100.0),
                        "{}: A66 latency buckets",
                        metric.name()
                    );
                }
                if let AggregatedMetrics::U64(MetricData::Histogram(h)) = metric.data() {
                    let bounds: Vec<f64> = h.data_points().next().expect("a point").bounds().collect();
                    assert_eq!(
                        (bounds.len(), bounds[1], bounds[13]),
                        (14, 1024.0, 4294967296.0),
                        "{}: A66 size buckets",
                        metric.name()
                    );
                }
                metrics.insert(metric.name().to_owned(), (metric.unit().to_owned(), points));
            }
        }
    }
    metrics
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn a66_metrics_have_the_names_units_attributes_and_sizes() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();
    let (_server, port) = serve(Server::builder().interceptor(Metrics::new(&provider)).build());
    let target = format!("127.0.0.1:{port}");
    let channel = ChannelBuilder::new(target.clone()).interceptor(Metrics::new(&provider)).build().expect("channel");
    let client = RouteGuideClient::new(channel);

    let ok = point(0, 3);
    let reply = no_hang("ok", client.get_feature(ok)).await.expect("ok");
    let failing = point(Code::NotFound.as_i32(), 0);
    no_hang("failing", client.get_feature(failing)).await.expect_err("not found");
    let compressed = point(0, 9000);
    let big_reply =
        no_hang("compressed", client.get_feature(compressed).compression(Compression::Gzip)).await.expect("ok");
    let features: Vec<_> =
        no_hang("stream", async { client.list_features(Rectangle::default()).await.expect("starts").collect().await })
            .await;
    let streamed: u64 = features.iter().map(|f| f.as_ref().expect("feature").encoded_len() as u64).sum();

    // The server's end of the last call can come after the client has it: wait for its count.
    let server_calls = || {
        provider.force_flush().expect("flush");
        let metrics = collect(&exporter);
        metrics.get("grpc.server.call.duration").map_or(0, |(_, points)| points.iter().map(|p| p.count).sum::<u64>())
    };
    until("four server calls recorded", || server_calls() >= 4).await;
    provider.force_flush().expect("flush");
    let metrics = collect(&exporter);

    let unit = |name: &str| metrics.get(name).map(|(unit, _)| unit.as_str()).unwrap_or_else(|| panic!("no {name}"));
    for (name, expected) in [
        ("grpc.client.attempt.started", "{attempt}"),
        ("grpc.client.attempt.duration", "s"),
        ("grpc.client.attempt.sent_total_compressed_message_size", "By"),
        ("grpc.client.attempt.rcvd_total_compressed_message_size", "By"),
        ("grpc.client.call.duration", "s"),
        ("grpc.server.call.started", "{call}"),
        ("grpc.server.call.duration", "s"),
        ("grpc.server.call.sent_total_compressed_message_size", "By"),
        ("grpc.server.call.rcvd_total_compressed_message_size", "By"),
    ] {
        assert_eq!(unit(name), expected, "{name}");
    }
    let points = |name: &str| &metrics[name].1;
    let get_feature = "routeguide.RouteGuide/GetFeature";
    let list_features = "routeguide.RouteGuide/ListFeatures";
    let canonical = format!("dns:///{target}");
    let point_with = |name: &str, attributes: &BTreeMap<String, String>| {
        points(name)
            .iter()
            .find(|p| &p.attributes == attributes)
            .unwrap_or_else(|| panic!("{name}: no point {attributes:?} in {:?}", points(name)))
    };

    // Started: by method (and target), no status.
    let started = attrs(&[("grpc.method", get_feature), ("grpc.target", &canonical)]);
    assert_eq!(point_with("grpc.client.attempt.started", &started).count, 3);
    assert_eq!(point_with("grpc.server.call.started", &attrs(&[("grpc.method", get_feature)])).count, 3);
    assert_eq!(point_with("grpc.server.call.started", &attrs(&[("grpc.method", list_features)])).count, 1);

    // Ended: by method and status.
    let client_ok = attrs(&[("grpc.method", get_feature), ("grpc.target", &canonical), ("grpc.status", "OK")]);
    let client_failed =
        attrs(&[("grpc.method", get_feature), ("grpc.target", &canonical), ("grpc.status", "NOT_FOUND")]);
    let server_ok = attrs(&[("grpc.method", get_feature), ("grpc.status", "OK")]);
    let server_failed = attrs(&[("grpc.method", get_feature), ("grpc.status", "NOT_FOUND")]);
    for name in ["grpc.client.attempt.duration", "grpc.client.call.duration"] {
        assert_eq!(point_with(name, &client_ok).count, 2, "{name}");
        assert_eq!(point_with(name, &client_failed).count, 1, "{name}");
    }
    assert_eq!(point_with("grpc.server.call.duration", &server_ok).count, 2);
    assert_eq!(point_with("grpc.server.call.duration", &server_failed).count, 1);

    // Sizes: both sides agree, and the uncompressed ones are the encodings' sizes. The failed
    // call sent its request and got no reply.
    let client_sent = point_with("grpc.client.attempt.sent_total_compressed_message_size", &client_ok);
    let server_rcvd = point_with("grpc.server.call.rcvd_total_compressed_message_size", &server_ok);
    assert_eq!((client_sent.count, client_sent.sum), (server_rcvd.count, server_rcvd.sum));
    let gzip_request = client_sent.sum as u64 - ok.encoded_len() as u64;
    assert!(gzip_request > 0 && gzip_request != compressed.encoded_len() as u64, "compressed size {gzip_request}");
    let client_rcvd = point_with("grpc.client.attempt.rcvd_total_compressed_message_size", &client_ok);
    let server_sent = point_with("grpc.server.call.sent_total_compressed_message_size", &server_ok);
    assert_eq!(client_rcvd.sum, server_sent.sum);
    assert_eq!(client_rcvd.sum as u64, (reply.encoded_len() + big_reply.encoded_len()) as u64);
    let failed_sent = point_with("grpc.client.attempt.sent_total_compressed_message_size", &client_failed);
    let failed_rcvd = point_with("grpc.client.attempt.rcvd_total_compressed_message_size", &client_failed);
    assert_eq!((failed_sent.sum as u64, failed_rcvd.sum as u64), (failing.encoded_len() as u64, 0));

    let stream_ok = attrs(&[("grpc.method", list_features), ("grpc.target", &canonical), ("grpc.status", "OK")]);
    assert_eq!(point_with("grpc.client.attempt.rcvd_total_compressed_message_size", &stream_ok).sum as u64, streamed);
    let server_stream_ok = attrs(&[("grpc.method", list_features), ("grpc.status", "OK")]);
    assert_eq!(
        point_with("grpc.server.call.sent_total_compressed_message_size", &server_stream_ok).sum as u64,
        streamed
    );
}

#[tokio::test]
async fn a_method_the_server_did_not_register_is_recorded_as_other() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();
    let server = Server::builder()
        .interceptor(Metrics::new(&provider))
        .fallback(|requests, _context| async move { Ok(ResponseStream::new(requests)) })
        .build();
    let (_server, port) = serve(server);
    let client = RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    no_hang("registered", client.get_feature(point(0, 1))).await.expect("ok");
    let generic = rust_rpc::GenericClient::raw(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("ch"));
    for n in 0..3 {
        // Made-up paths, each answered by the fallback: one metric series for all of them.
        let echoed = no_hang("unregistered", generic.unary(format!("/made.Up/Path{n}"), Bytes::from_static(b"hi")))
            .await
            .expect("echo");
        assert_eq!(&echoed[..], b"hi");
    }
    let methods = || {
        provider.force_flush().expect("flush");
        let metrics = collect(&exporter);
        let points = metrics.get("grpc.server.call.duration").map(|(_, points)| points.as_slice()).unwrap_or(&[]);
        points.iter().map(|p| (p.attributes["grpc.method"].clone(), p.count)).collect::<BTreeMap<_, _>>()
    };
    until("four server calls recorded", || methods().values().sum::<u64>() >= 4).await;
    let expected = BTreeMap::from([("other".to_owned(), 3), ("routeguide.RouteGuide/GetFeature".to_owned(), 1)]);
    assert_eq!(methods(), expected);
}
