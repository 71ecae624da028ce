//! Keepalive enforcement (gRFC A8) against a client nobody here wrote: grpcio pinging every
//! 100 ms with no calls (`tests/interop/peers/python/keepalive_client.py`). Under the default
//! policy the server tells it GOAWAY `ENHANCE_YOUR_CALM` "too_many_pings" and closes the
//! connection: gRPC core logs it, its channel leaves READY, and its next call works on a new
//! connection. The control run, a server that permits the PINGs, keeps the connection.

use std::time::Duration;

use rust_rpc::Server;
use rust_rpc::health::{self, Health};
use test_support::{Peer, repo};

/// How long any one step may take before the test fails as hung (not a speed check).
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Runs the abusive client against `server`, letting it wait `wait` seconds for its connection
/// to go; gives its stdout lines and its stderr.
async fn abusive_client(server: Server, wait: &str) -> (Vec<String>, String) {
    health::add_health_servicer_to_server(Health::new(), &server).expect("add health");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let script = repo().join("tests/interop/peers/python/keepalive_client.py");
    let mut client = Peer::python(script, [port.to_string(), wait.to_owned()], HANG_GUARD);
    // The server runs on this runtime: wait for the client's lines off its workers.
    let lines = tokio::task::block_in_place(|| {
        let lines = (0..3).map(|_| client.line("its next line")).collect();
        client.wait();
        lines
    });
    let stderr = tokio::task::block_in_place(|| client.stderr());
    server.stop(None).await;
    (lines, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_pinging_too_often_is_told_too_many_pings_and_reconnects() {
    let (lines, stderr) = abusive_client(Server::new(), "30").await;
    assert_eq!(lines[0], "first SERVING");
    assert!(lines[1].starts_with("left READY"), "{lines:?}\n{stderr}");
    assert_eq!(lines[2], "second SERVING");
    assert!(stderr.contains("too_many_pings"), "gRPC core logs the GOAWAY: {stderr}");

    // The control: a server that permits PINGs at any rate keeps the connection for the 2 s
    // (some 20 PINGs) the client waits.
    let permissive = Server::builder().keepalive_policy(Duration::ZERO, true).build();
    let (lines, stderr) = abusive_client(permissive, "2").await;
    assert_eq!(lines, ["first SERVING", "still READY", "second SERVING"], "{stderr}");
    assert!(!stderr.contains("too_many_pings"), "{stderr}");
}
