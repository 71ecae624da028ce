//! `max_connection_age` against a client nobody here wrote: grpcio
//! (`peers/python/relay_client.py age`) calling from four threads while the server sends each
//! connection away after 300 ms. gRPC core honours the graceful GOAWAY: it moves its calls to a
//! new connection, and none fails.

use std::time::Duration;

use rust_rpc::bytes::Bytes;
use rust_rpc::{ResponseStream, Server};
use test_support::{Peer, repo};

/// How long any one step may take before the test fails as hung (not a speed check).
const HANG_GUARD: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_calls_across_max_connection_age_never_fail() {
    // Every method answers with the client's port: which connection the call came on.
    let server = Server::builder()
        .max_connection_age(Duration::from_millis(300))
        .max_connection_age_grace(Duration::from_secs(5))
        .fallback(|_requests, context| async move {
            let port = context.peer_addr().map_or(0, |addr| addr.port());
            Ok(ResponseStream::iter([Bytes::from(port.to_string())]))
        })
        .build();
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");

    let script = repo().join("tests/interop/peers/python/relay_client.py");
    let mut client = Peer::python(script, ["age".to_owned(), port.to_string(), "4".to_owned()], HANG_GUARD);
    // The server runs on this runtime: wait for the client off its workers.
    let line = tokio::task::block_in_place(|| client.line("the client's counts"));
    let stderr = tokio::task::block_in_place(|| client.wait());
    eprintln!("grpcio: {line}");
    let counts: Vec<&str> = line.split(' ').collect();
    assert!(matches!(counts[..], ["calls", _, "failures", "0", "connections", "4"]), "{line}\n{stderr}");
    server.stop(None).await;
}
