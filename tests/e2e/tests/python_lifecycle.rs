//! The lifecycle as Python grpc users expect it: a context that tells a cancelled call from a
//! finished one and runs callbacks when the call ends; `stop` from sync code;
//! `wait_for_termination` true on timeout; `https://` targets; errors that say what to do.

use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{ChannelCredentials, Code, RpcError, Server, ServerCredentials, ServicerContext};
use tokio::sync::mpsc;

use crate::support::{
    HANG_GUARD, TestGreeter, dead_port, greeter_client, hello, no_hang, pki, start_greeter, start_greeter_with,
};

/// How a call ended, as its context's callback heard it, and the context.
struct Ended {
    name: String,
    cancelled: bool,
    context: ServicerContext,
}

/// `ok` answers, `fail` fails, `wait` never answers; every call reports its end, and `started`
/// is notified when a handler has added its callback.
struct Reporting(mpsc::UnboundedSender<Ended>, mpsc::UnboundedSender<()>);

impl GreeterServicer for Reporting {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> rust_rpc::Result<HelloReply> {
        let (ended, name, callback_context) = (self.0.clone(), request.name.clone(), context.clone());
        let added = context.add_callback(move |cancelled| {
            let _ = ended.send(Ended { name, cancelled, context: callback_context });
        });
        assert!(added, "the call is going on");
        let _ = self.1.send(());
        let active = context.is_active() && !context.is_cancelled();
        match request.name.as_str() {
            "fail" => Err(RpcError::invalid_argument("as asked")),
            "wait" => std::future::pending().await,
            _ => Ok(HelloReply { message: format!("active: {active}") }),
        }
    }
}

fn start_reporting() -> (Server, GreeterClient, mpsc::UnboundedReceiver<Ended>, mpsc::UnboundedReceiver<()>) {
    let (sender, ended) = mpsc::unbounded_channel();
    let (starting, started) = mpsc::unbounded_channel();
    let server = Server::new();
    add_greeter_servicer_to_server(Reporting(sender, starting), &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, greeter_client(port), ended, started)
}

/// The end of the call named `name`, checked against the context afterwards.
async fn ended(endings: &mut mpsc::UnboundedReceiver<Ended>, name: &str) -> bool {
    let end = no_hang("the call's callback", endings.recv()).await.expect("a callback");
    assert_eq!(end.name, name);
    assert!(!end.context.is_active(), "{name}: over");
    assert_eq!(end.context.is_cancelled(), end.cancelled, "{name}: is_cancelled agrees with the callback");
    assert!(!end.context.add_callback(|_| panic!("a callback added after the end ran")), "{name}: too late");
    end.cancelled
}

#[tokio::test]
async fn a_context_tells_a_finished_call_from_a_cancelled_one() {
    let (_server, client, mut endings, mut started) = start_reporting();

    let reply = client.say_hello(hello("ok")).await.expect("ok");
    assert_eq!(reply.message, "active: true", "active, not cancelled, while the handler runs");
    assert!(!ended(&mut endings, "ok").await, "finished with OK");

    let err = client.say_hello(hello("fail")).await.expect_err("failed");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(!ended(&mut endings, "fail").await, "finished with the handler's error: not cancelled");

    let err = client.say_hello(hello("wait")).timeout(Duration::from_millis(50)).await.expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(ended(&mut endings, "wait").await, "the deadline cancelled it");

    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let waiting = client.say_hello(hello("wait")).cancel_on(async move {
        let _ = cancelled.await;
    });
    let call = tokio::spawn(std::future::IntoFuture::into_future(waiting));
    // Every earlier call's handler has run: the next start is the waiting call's.
    while started.try_recv().is_ok() {}
    no_hang("the waiting handler starts", started.recv()).await;
    drop(cancel);
    assert_eq!(call.await.expect("task").expect_err("cancelled").code(), Code::Cancelled);
    assert!(ended(&mut endings, "wait").await, "the client cancelled it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_from_a_plain_thread_needs_no_await() {
    let greeter = TestGreeter::default();
    let (server, port) = start_greeter(greeter.clone());
    let client = greeter_client(port);
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("sleep:300")).await }
    });
    no_hang("the handler starts", greeter.started.notified()).await;
    // As a signal-handling thread would: no runtime, no await; the stop goes on after the
    // returned future is dropped.
    let stopper = server.clone();
    std::thread::spawn(move || drop(stopper.stop(Some(HANG_GUARD)))).join().expect("thread");
    assert!(!server.wait_for_termination(Some(HANG_GUARD)).await, "terminated, not timed out");
    assert!(server.is_terminated());
    assert_eq!(slow.await.expect("task").expect("finished within grace").message, "Hello sleep:300");
}

#[tokio::test]
async fn wait_for_termination_returns_true_when_it_times_out() {
    let (server, _port) = start_greeter(TestGreeter::default());
    assert!(server.wait_for_termination(Some(Duration::from_millis(10))).await, "timed out");
    assert!(!server.is_terminated());
    server.stop(None).await;
    assert!(!server.wait_for_termination(Some(Duration::from_millis(10))).await, "terminated");
    assert!(!server.wait_for_termination(None).await, "terminated");
}

#[tokio::test]
async fn a_server_never_started_stops_at_once() {
    let server = Server::new();
    no_hang("stop", server.stop(None)).await;
    assert!(server.is_terminated());
}

/// A TLS greeter for `localhost`, its port, and the CA that signed it.
fn start_tls_greeter() -> (Server, u16, String) {
    let pki = pki("localhost", rcgen::CertificateParams::new(vec!["client".to_owned()]).expect("params"));
    let server = Server::new();
    add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add");
    let credentials = ServerCredentials::new(pki.server_cert.clone(), pki.server_key.clone());
    let port = server.add_secure_port("127.0.0.1:0", credentials).expect("bind");
    server.start().expect("start");
    (server, port, pki.ca)
}

#[tokio::test]
async fn an_https_target_means_tls_and_http_means_plaintext() {
    let (_tls, tls_port, ca) = start_tls_greeter();
    // https:// with our CA: TLS, verified.
    let channel = rust_rpc::ChannelBuilder::new(format!("https://localhost:{tls_port}"))
        .credentials(ChannelCredentials::with_root_ca(ca.clone()))
        .build()
        .expect("channel");
    let reply = GreeterClient::new(channel).say_hello(hello("tls")).await.expect("over TLS");
    assert_eq!(reply.message, "Hello tls");

    // https:// and nothing else: TLS with the system's roots, which do not know our test CA. The
    // failure is about the certificate, so TLS was spoken. (On a machine without system roots
    // the channel is refused when built, naming them.)
    match rust_rpc::insecure_channel(&format!("https://localhost:{tls_port}")) {
        Ok(channel) => {
            let err = GreeterClient::new(channel).say_hello(hello("x")).await.expect_err("unknown CA");
            assert_eq!(err.code(), Code::Unavailable, "{err}");
            assert!(err.details().to_lowercase().contains("certificate"), "a TLS failure: {err}");
        }
        Err(err) => assert!(err.is_tls() && err.to_string().contains("root certificates"), "{err}"),
    }

    // http:// is plaintext.
    let (_plain, plain_port) = start_greeter(TestGreeter::default());
    let channel = rust_rpc::insecure_channel(&format!("http://127.0.0.1:{plain_port}")).expect("channel");
    assert_eq!(GreeterClient::new(channel).say_hello(hello("h2c")).await.expect("plaintext").message, "Hello h2c");

    // ... and refuses TLS credentials, saying what to change.
    let err = rust_rpc::secure_channel(&format!("http://127.0.0.1:{plain_port}"), ChannelCredentials::with_root_ca(ca))
        .expect_err("contradiction");
    assert!(err.is_invalid_setting(), "{err}");
    assert!(err.to_string().contains("https://"), "{err}");
}

/// A client-side metadata mistake, through `?` in a function returning `rust_rpc::Result`.
async fn call_with_header(client: &GreeterClient, key: &str) -> rust_rpc::Result<HelloReply> {
    client.say_hello(hello("echo-md")).add_metadata(key, "value")?.await
}

#[tokio::test]
async fn a_bad_metadata_key_is_a_local_invalid_argument_naming_it() {
    let (server, port) = start_greeter_with(Server::new(), TestGreeter::default());
    let client = greeter_client(port);
    let err = call_with_header(&client, "Not A Key").await.expect_err("refused");
    assert_eq!(err.code(), Code::InvalidArgument, "not INTERNAL: the server did nothing wrong");
    assert!(err.details().contains("\"Not A Key\""), "names the key: {err}");
    assert!(err.details().contains("nothing was sent"), "{err}");
    assert!(call_with_header(&client, "x-fine").await.is_ok());
    server.stop(None).await;
}

/// Setup (`Error`) and calls (`RpcError`) in one function, with `?`, whichever it returns.
async fn ready_channel(target: &str) -> Result<rust_rpc::Channel, rust_rpc::Error> {
    let channel = rust_rpc::insecure_channel(target)?;
    channel.ready(Duration::from_millis(200)).await?;
    Ok(channel)
}

async fn ready_channel_rpc(target: &str) -> rust_rpc::Result<rust_rpc::Channel> {
    let channel = rust_rpc::insecure_channel(target)?;
    channel.ready(Duration::from_millis(200)).await?;
    Ok(channel)
}

#[tokio::test]
async fn setup_and_call_errors_meet_in_one_function() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let live = format!("127.0.0.1:{port}");
    assert!(ready_channel(&live).await.is_ok());
    assert!(ready_channel_rpc(&live).await.is_ok());

    let dead = format!("127.0.0.1:{}", dead_port());
    let err = ready_channel(&dead).await.expect_err("nothing listens");
    assert!(err.is_rpc(), "{err}");
    let code = err.rpc_error().map(RpcError::code);
    assert!(matches!(code, Some(Code::Unavailable | Code::DeadlineExceeded)), "{err}");
    assert_eq!(Some(err.code()), code);

    let err = ready_channel_rpc("host:not-a-port").await.expect_err("bad target");
    assert_eq!(err.code(), Code::InvalidArgument, "{err}");
    assert!(err.details().contains("host:not-a-port"), "{err}");
    let err = ready_channel("host:not-a-port").await.expect_err("bad target");
    assert!(err.is_invalid_target(), "{err}");
}

/// Streams one feature, once `release` fires; initial metadata is sent before returning the
/// stream, and the producer's late attempt is refused (its code becomes the feature's name).
struct EarlyHeaders(std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>);

impl e2e::routeguide::RouteGuideServicer for EarlyHeaders {
    async fn list_features(
        &self,
        _rect: e2e::routeguide::Rectangle,
        context: ServicerContext,
    ) -> rust_rpc::Result<rust_rpc::ResponseStream<e2e::routeguide::Feature>> {
        let release = self.0.lock().expect("lock").take().ok_or_else(|| RpcError::internal("one call only"))?;
        let mut initial = rust_rpc::Metadata::new();
        initial.insert("x-sent", "early")?;
        context.send_initial_metadata(initial)?;
        let (sender, stream) = rust_rpc::ResponseStream::channel(1);
        tokio::spawn(async move {
            let _ = release.await;
            let late = context.send_initial_metadata(rust_rpc::Metadata::new());
            let name = late.map_or_else(|e| format!("{:?}", e.code()), |()| "accepted".to_owned());
            let _ = sender.send(Ok(e2e::routeguide::Feature { name, location: None })).await;
        });
        Ok(stream)
    }
}

#[tokio::test]
async fn initial_metadata_goes_before_the_first_message_of_a_stream() {
    let (release, released) = tokio::sync::oneshot::channel();
    let server = Server::new();
    e2e::routeguide::add_route_guide_servicer_to_server(EarlyHeaders(std::sync::Mutex::new(Some(released))), &server)
        .expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = e2e::routeguide::RouteGuideClient::new(
        rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"),
    );
    let mut features = client.list_features(e2e::routeguide::Rectangle::default()).await.expect("call");
    // No message exists yet: the producer waits for `release`.
    let initial = no_hang("the headers", features.initial_metadata()).await.expect("headers");
    assert_eq!(initial.get("x-sent"), Some("early"));
    release.send(()).expect("released");
    let feature = no_hang("the message", features.message()).await.expect("ok").expect("a message");
    assert_eq!(feature.name, "FailedPrecondition", "metadata after the headers is refused, not lost silently");
}
