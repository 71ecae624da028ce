//! Tower layers on the server (`ServerBuilder::layer`, feature `tower`), tower-http's and
//! tower's own, as a tonic user puts them there: headers they add, answers they give without
//! the service, bodies they change (a stream's messages one by one), limits, their errors, and
//! the order of several.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use e2e::routeguide::{RouteGuideClient, RouteGuideServicer, RouteNote, add_route_guide_servicer_to_server};
use http::{HeaderName, HeaderValue};
use http_body::Frame;
use http_body_util::BodyExt;
use rust_rpc::stream::StreamExt;
use rust_rpc::{
    Code, HttpBody, HttpService, Metadata, RequestStream, ResponseStream, RpcError, Server, ServicerContext,
};
use tokio::sync::mpsc;
use tower::limit::ConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;
use tower::{Layer, Service, ServiceBuilder};
use tower_http::map_response_body::MapResponseBodyLayer;
use tower_http::set_header::{SetRequestHeaderLayer, SetResponseHeaderLayer};
use tower_http::validate_request::ValidateRequestHeaderLayer;

use crate::support::{TestGreeter, greeter_client, hello, no_hang, start_greeter_with};

fn header(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

fn value(text: &'static str) -> HeaderValue {
    HeaderValue::from_static(text)
}

#[tokio::test]
async fn a_response_header_layer_reaches_the_client_as_initial_metadata() {
    let server =
        Server::builder().layer(SetResponseHeaderLayer::overriding(header("x-served-by"), value("edge-1"))).build();
    let (server, port) = start_greeter_with(server, TestGreeter::default());
    let client = greeter_client(port);
    let response = client.say_hello(hello("world")).with_call().await.expect("call");
    assert_eq!(response.message().message, "Hello world");
    assert_eq!(response.initial_metadata().get("x-served-by"), Some("edge-1"));
    // A trailers-only error answer has one header block: the layer's header is in it too.
    let err = client.say_hello(hello("fail:5")).await.expect_err("fails");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.metadata().get("x-served-by"), Some("edge-1"));
    server.stop(None).await;
}

#[tokio::test]
async fn an_in_process_channel_goes_through_the_layers_too() {
    let server =
        Server::builder().layer(SetResponseHeaderLayer::overriding(header("x-served-by"), value("edge-1"))).build();
    e2e::helloworld::add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add service");
    let channel = server.in_process_channel().expect("channel");
    server.start().expect("start");
    let response =
        e2e::helloworld::GreeterClient::new(channel).say_hello(hello("world")).with_call().await.expect("call");
    assert_eq!(response.initial_metadata().get("x-served-by"), Some("edge-1"));
    server.stop(None).await;
}

#[tokio::test]
async fn a_bearer_layer_answers_http_401_which_the_client_reads_as_unauthenticated() {
    // tower-http deprecates `bearer` as too basic for real use, but it is the stock layer that
    // answers without calling the service, which is what this test is about.
    #[allow(deprecated)]
    let server = Server::builder().layer(ValidateRequestHeaderLayer::bearer("s3cret")).build();
    let (server, port) = start_greeter_with(server, TestGreeter::default());
    let client = greeter_client(port);
    let call = |token: Option<&str>| {
        let mut metadata = Metadata::new();
        if let Some(token) = token {
            metadata.insert("authorization", &format!("Bearer {token}")).expect("valid");
        }
        client.say_hello(hello("world")).metadata(metadata)
    };
    let err = call(None).await.expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err}");
    assert!(err.details().contains("401"), "{err}");
    assert_eq!(call(Some("wrong")).await.expect_err("a wrong token").code(), Code::Unauthenticated);
    assert_eq!(call(Some("s3cret")).await.expect("the right token").message, "Hello world");
    server.stop(None).await;
}

#[tokio::test]
async fn a_layer_that_changes_the_body_type_serves_messages_and_trailers() {
    // A byte counter over the response body, as a metrics layer would put there.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let count = MapResponseBodyLayer::new(move |body: HttpBody| {
        let counter = counter.clone();
        body.map_frame(move |frame: Frame<Bytes>| {
            if let Some(data) = frame.data_ref() {
                counter.fetch_add(data.len(), Ordering::SeqCst);
            }
            frame
        })
    });
    let server = Server::builder().layer(count).build();
    let (server, port) = start_greeter_with(server, TestGreeter::default());
    let client = greeter_client(port);
    let mut metadata = Metadata::new();
    metadata.insert("x-ascii", "through").expect("valid");
    metadata.insert_bin("x-blob-bin", [0u8, 255]).expect("valid");
    let response = client.say_hello(hello("echo-md")).metadata(metadata).with_call().await.expect("call");
    assert_eq!(response.message().message, "Hello echo-md");
    assert_eq!(response.initial_metadata().get("x-initial"), Some("through"));
    // The trailers (status, trailing metadata) came through the boxed body.
    assert_eq!(response.trailing_metadata().get_bin("x-trailing-bin").as_deref(), Some(&[0u8, 255][..]));
    // One gRPC frame: the 5-byte prefix and the encoded reply.
    let reply = rust_rpc::prost::Message::encoded_len(response.message());
    assert_eq!(sent.load(Ordering::SeqCst), 5 + reply);
    assert_eq!(client.say_hello(hello("fail:9")).await.expect_err("fails").code(), Code::FailedPrecondition);
    server.stop(None).await;
}

/// Answers each note as it comes, and ends with trailing metadata.
struct Chat;

impl RouteGuideServicer for Chat {
    async fn route_chat(
        &self,
        notes: RequestStream<RouteNote>,
        context: ServicerContext,
    ) -> rust_rpc::Result<ResponseStream<RouteNote>> {
        let mut trailing = Metadata::new();
        trailing.insert("x-chat", "over")?;
        context.set_trailing_metadata(trailing);
        Ok(ResponseStream::new(
            notes.map(|note| note.map(|n| RouteNote { message: format!("re: {}", n.message), ..n })),
        ))
    }
}

/// The notes a test sends, one at a time.
struct Notes(mpsc::UnboundedReceiver<RouteNote>);

impl rust_rpc::stream::Stream for Notes {
    type Item = RouteNote;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RouteNote>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn a_stream_goes_through_a_changed_body_message_by_message() {
    let frames = Arc::new(AtomicUsize::new(0));
    let counter = frames.clone();
    let count = MapResponseBodyLayer::new(move |body: HttpBody| {
        let counter = counter.clone();
        body.map_frame(move |frame: Frame<Bytes>| {
            counter.fetch_add(1, Ordering::SeqCst);
            frame
        })
    });
    let server = Server::builder().layer(count).build();
    add_route_guide_servicer_to_server(Chat, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    let (notes, outgoing) = mpsc::unbounded_channel();
    let mut replies = client.route_chat(Notes(outgoing)).await.expect("bidi");
    // Ping-pong: each reply must come through the boxed body before the next note is sent.
    for text in ["a", "b", "c"] {
        notes.send(RouteNote { message: text.into(), ..Default::default() }).expect("send");
        let reply = no_hang("a reply", replies.next()).await.expect("a reply").expect("ok");
        assert_eq!(reply.message, format!("re: {text}"));
    }
    drop(notes);
    assert!(no_hang("the end", replies.next()).await.is_none());
    assert_eq!(replies.trailing_metadata().and_then(|md| md.get("x-chat")), Some("over"));
    // Three messages and the trailers, at least: a frame each unless batched.
    assert!(frames.load(Ordering::SeqCst) >= 4, "{} frames", frames.load(Ordering::SeqCst));
    server.stop(None).await;
}

/// A body whose first frame is an error.
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other("disk on fire"))))
    }
}

#[tokio::test]
async fn a_layer_body_that_fails_ends_the_call_with_internal() {
    let server = Server::builder().layer(MapResponseBodyLayer::new(|_: HttpBody| FailingBody)).build();
    let (server, port) = start_greeter_with(server, TestGreeter::default());
    let err = greeter_client(port).say_hello(hello("world")).await.expect_err("the body failed");
    assert_eq!(err.code(), Code::Internal, "{err}");
    assert!(err.details().contains("disk on fire"), "{err}");
    server.stop(None).await;
}

#[tokio::test]
async fn a_concurrency_limit_makes_calls_wait_for_a_permit() {
    let greeter = TestGreeter::default();
    let server = Server::builder().layer(ConcurrencyLimitLayer::new(1)).build();
    let (server, port) = start_greeter_with(server, greeter.clone());
    let client = greeter_client(port);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("hold")).await }
    });
    no_hang("the first call's handler starts", greeter.started.notified()).await;
    // The one permit is the first call's: the second waits for it and never reaches its
    // handler before its deadline.
    let err = client.say_hello(hello("hold")).timeout(Duration::from_millis(300)).await.expect_err("waits");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    let started = greeter.started.notified();
    tokio::pin!(started);
    let second_started = std::future::poll_fn(|cx| Poll::Ready(started.as_mut().poll(cx).is_ready())).await;
    assert!(!second_started, "the second call reached its handler past the limit");
    // A third call waits too, and gets the permit once the first call ends.
    let third = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("third")).await }
    });
    greeter.release.add_permits(1);
    assert_eq!(no_hang("the first call", first).await.expect("join").expect("first").message, "Hello hold");
    assert_eq!(no_hang("the third call", third).await.expect("join").expect("third").message, "Hello third");
    server.stop(None).await;
}

#[tokio::test]
async fn load_shedding_answers_unavailable_instead_of_waiting() {
    let greeter = TestGreeter::default();
    let shed = ServiceBuilder::new().load_shed().concurrency_limit(1);
    let (server, port) = start_greeter_with(Server::builder().layer(shed).build(), greeter.clone());
    let client = greeter_client(port);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("hold")).await }
    });
    no_hang("the first call's handler starts", greeter.started.notified()).await;
    let err = no_hang("the shed call", client.say_hello(hello("second"))).await.expect_err("shed");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.details().contains("shed"), "{err}");
    greeter.release.add_permits(1);
    assert!(no_hang("the first call", first).await.expect("join").is_ok());
    assert!(client.say_hello(hello("again")).await.is_ok(), "the permit came back");
    server.stop(None).await;
}

#[tokio::test]
async fn a_tower_timeout_ends_the_call_with_deadline_exceeded() {
    let greeter = TestGreeter::default();
    let server = Server::builder().layer(TimeoutLayer::new(Duration::from_millis(100))).build();
    let (server, port) = start_greeter_with(server, greeter.clone());
    let client = greeter_client(port);
    let err = no_hang("the timed-out call", client.say_hello(hello("hold"))).await.expect_err("times out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err}");
    assert!(err.details().contains("timed the call out"), "{err}");
    // The handler was dropped with the layer's future: its call ended.
    no_hang("the handler hears its call end", greeter.cancelled.notified()).await;
    assert_eq!(client.say_hello(hello("quick")).await.expect("in time").message, "Hello quick");
    server.stop(None).await;
}

/// Fails requests that carry `x-reject` with its error; passes the others on.
#[derive(Clone)]
struct Reject<S> {
    inner: S,
    error: fn() -> tower::BoxError,
}

impl<S> Service<http::Request<hyper::body::Incoming>> for Reject<S>
where
    S: Service<http::Request<hyper::body::Incoming>, Error = tower::BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, tower::BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), tower::BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        if request.headers().contains_key("x-reject") {
            let error = (self.error)();
            return Box::pin(async move { Err(error) });
        }
        Box::pin(self.inner.call(request))
    }
}

fn reject(error: fn() -> tower::BoxError) -> impl Layer<HttpService, Service = Reject<HttpService>> + Clone {
    tower::layer::layer_fn(move |inner| Reject { inner, error })
}

#[tokio::test]
async fn a_layer_error_becomes_the_calls_status() {
    fn rpc_error() -> tower::BoxError {
        let mut metadata = Metadata::new();
        metadata.insert("x-why", "quota").expect("valid");
        Box::new(RpcError::resource_exhausted("over quota").with_metadata(metadata))
    }
    fn tonic_status() -> tower::BoxError {
        Box::new(tonic::Status::permission_denied("not on the list"))
    }
    fn other() -> tower::BoxError {
        "something else broke".into()
    }
    let server = Server::builder().layer(reject(rpc_error)).layer(reject(tonic_status)).layer(reject(other));
    let (server, port) = start_greeter_with(server.build(), TestGreeter::default());
    let client = greeter_client(port);
    let mut metadata = Metadata::new();
    metadata.insert("x-reject", "yes").expect("valid");
    // The outermost layer rejects first.
    let err = client.say_hello(hello("world")).metadata(metadata).await.expect_err("rejected");
    assert_eq!((err.code(), err.details()), (Code::ResourceExhausted, "over quota"));
    assert_eq!(err.metadata().get("x-why"), Some("quota"));
    let only = |layer: fn() -> tower::BoxError| {
        let server = Server::builder().layer(reject(layer)).build();
        start_greeter_with(server, TestGreeter::default())
    };
    for (layer, code, details) in [
        (tonic_status as fn() -> tower::BoxError, Code::PermissionDenied, "not on the list"),
        (other, Code::Unknown, "a tower layer failed the call: something else broke"),
    ] {
        let (server, port) = only(layer);
        let mut metadata = Metadata::new();
        metadata.insert("x-reject", "yes").expect("valid");
        let err = greeter_client(port).say_hello(hello("world")).metadata(metadata).await.expect_err("rejected");
        assert_eq!((err.code(), err.details()), (code, details));
        server.stop(None).await;
    }
    assert!(client.say_hello(hello("world")).await.is_ok());
    server.stop(None).await;
}

#[tokio::test]
async fn layers_run_in_service_builder_order() {
    // The first layer added is the outermost: it sees the request first and the response last.
    let server = Server::builder()
        .layer(SetRequestHeaderLayer::overriding(header("x-ascii"), value("first")))
        .layer(SetResponseHeaderLayer::appending(header("x-order"), value("first")))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestHeaderLayer::overriding(header("x-ascii"), value("second")))
                .layer(SetResponseHeaderLayer::appending(header("x-order"), value("second"))),
        )
        .build();
    let (server, port) = start_greeter_with(server, TestGreeter::default());
    let response = greeter_client(port).say_hello(hello("echo-md")).with_call().await.expect("call");
    // The handler echoes the x-ascii it got: the inner layer's value, set last.
    assert_eq!(response.initial_metadata().get("x-initial"), Some("second"));
    // The inner layer appended to the response first.
    assert_eq!(response.initial_metadata().get_all("x-order"), ["second", "first"]);
    server.stop(None).await;
}
