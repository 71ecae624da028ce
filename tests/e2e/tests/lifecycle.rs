//! Server lifecycle: graceful stop, restart with reconnect, the concurrent-RPC limit, TLS.

use std::time::Duration;

use rust_rpc::{ChannelCredentials, Code, Server, ServerCredentials};

use crate::support::{HANG_GUARD, Pki, TestGreeter, greeter_client, hello, no_hang, start_greeter, start_greeter_with};

/// A grace no test waits out: `stop` must return once the calls are done, well before it.
const LONG_GRACE: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_in_flight_calls_finish_within_grace() {
    let greeter = TestGreeter::default();
    let (server, port) = start_greeter(greeter.clone());
    let client = greeter_client(port);
    assert!(server.wait_for_termination(Some(Duration::from_millis(10))).await, "timed out: still serving");
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("sleep:400")).await }
    });
    no_hang("the handler starts", greeter.started.notified()).await;
    no_hang("stop returns once the call is done", server.stop(Some(LONG_GRACE))).await;
    assert!(greeter.slept_out(), "the handler ran to its end");
    assert_eq!(slow.await.expect("task").expect("finished in grace").message, "Hello sleep:400");
    assert!(!server.wait_for_termination(Some(Duration::from_millis(10))).await, "terminated, not timed out");
    let err = client.say_hello(hello("late")).await.expect_err("stopped");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_cancels_calls_that_outlive_grace() {
    let greeter = TestGreeter::default();
    let (server, port) = start_greeter(greeter.clone());
    let client = greeter_client(port);
    let slow = tokio::spawn(async move { client.say_hello(hello("sleep:10000")).await });
    no_hang("the handler starts", greeter.started.notified()).await;
    no_hang("stop", server.stop(Some(Duration::from_millis(100)))).await;
    // Stopped while the handler still had most of its 10 s to sleep: it was cut off.
    assert!(!greeter.slept_out(), "stop waited for the handler");
    let err = slow.await.expect("task").expect_err("cut off");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    no_hang("the handler sees the call end", greeter.cancelled.notified()).await;
    assert!(!greeter.slept_out(), "the handler slept its time out before it saw the call end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_reconnects_after_the_server_restarts() {
    let (server, port) = start_greeter(TestGreeter::default());
    let client = greeter_client(port);
    client.say_hello(hello("one")).await.expect("first server");
    server.stop(None).await;
    let (_again, _) = start_greeter_with_port(port);
    // A hang guard on the retries, not a speed check.
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        match client.say_hello(hello("two")).wait_for_ready(true).timeout(HANG_GUARD).await {
            Ok(reply) => {
                assert_eq!(reply.message, "Hello two");
                break;
            }
            // The first call after the restart may meet the old connection's end.
            Err(err) if err.code() == Code::Unavailable && std::time::Instant::now() < deadline => continue,
            Err(err) => panic!("no reconnect: {err}"),
        }
    }
}

fn start_greeter_with_port(port: u16) -> (Server, u16) {
    let server = Server::new();
    rust_rpc::Server::add_service(&server, e2e::helloworld::greeter_service(TestGreeter::default())).expect("add");
    server.add_insecure_port(&format!("127.0.0.1:{port}")).expect("rebind the same port");
    server.start().expect("start");
    (server, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rpc_limit_refuses_the_extra_call() {
    let greeter = TestGreeter::default();
    let (_server, port) = start_greeter_with(Server::builder().max_concurrent_rpcs(1).build(), greeter.clone());
    let client = greeter_client(port);
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("hold")).await }
    });
    no_hang("the first call's handler starts", greeter.started.notified()).await;
    // The first call is held in its handler until released: the second is over the limit.
    let err = client.say_hello(hello("second")).await.expect_err("over the limit");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    greeter.release.add_permits(1);
    no_hang("the first call", slow).await.expect("task").expect("the first call completes");
    client.say_hello(hello("third")).await.expect("a slot is free again");
}

/// The certificates: a server for `foo.test.google.fr`, a client named `client`.
fn pki() -> Pki {
    crate::support::pki("foo.test.google.fr", rcgen::CertificateParams::new(vec!["client".to_owned()]).expect("params"))
}

async fn tls_call(port: u16, credentials: ChannelCredentials) -> rust_rpc::Result<String> {
    let channel = rust_rpc::secure_channel(&format!("127.0.0.1:{port}"), credentials).expect("channel");
    let client = e2e::helloworld::GreeterClient::new(channel);
    client.say_hello(hello("tls")).timeout(Duration::from_secs(5)).await.map(|r| r.message)
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let pki = pki();
    let server = Server::new();
    server.add_service(e2e::helloworld::greeter_service(TestGreeter::default())).expect("add");
    let tls_port = server
        .add_secure_port("127.0.0.1:0", ServerCredentials::new(pki.server_cert.clone(), pki.server_key.clone()))
        .expect("tls port");
    let mtls_port = server
        .add_secure_port(
            "127.0.0.1:0",
            ServerCredentials::new(pki.server_cert.clone(), pki.server_key.clone()).require_client_auth(pki.ca.clone()),
        )
        .expect("mtls port");
    server.start().expect("start");
    let trusting = || ChannelCredentials::with_root_ca(pki.ca.clone()).server_name_override("foo.test.google.fr");

    assert_eq!(tls_call(tls_port, trusting()).await.expect("tls"), "Hello tls");
    let with_identity = trusting().client_identity(pki.client_cert.clone(), pki.client_key.clone());
    assert_eq!(tls_call(mtls_port, with_identity).await.expect("mtls"), "Hello tls");

    let err = tls_call(mtls_port, trusting()).await.expect_err("no client certificate");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    let stranger = pki_ca_only();
    let err = tls_call(tls_port, ChannelCredentials::with_root_ca(stranger).server_name_override("foo.test.google.fr"))
        .await
        .expect_err("untrusted server");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}

fn pki_ca_only() -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.self_signed(&key).expect("ca").pem()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_without_calls_in_flight_is_prompt() {
    for connect_first in [false, true] {
        let (server, port) = start_greeter(TestGreeter::default());
        if connect_first {
            let client = greeter_client(port);
            client.say_hello(hello("before")).await.expect("call");
            drop(client);
        }
        // With nothing in flight, stop does not wait out its grace (an hour), idle connection
        // or not.
        let what = format!("stop with nothing in flight (connected first: {connect_first})");
        no_hang(&what, server.stop(Some(LONG_GRACE))).await;
        assert!(!server.wait_for_termination(Some(Duration::ZERO)).await, "{what}: terminated");
    }
}
