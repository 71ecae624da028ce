//! Deadline propagation with a first hop nobody here wrote: grpcio
//! (`peers/python/relay_client.py deadline`) calls server A with a timeout; A's handler calls
//! server B with `.propagate(&context)`; B answers with the time it had left. Without a
//! timeout from the client, B sees none.

use std::time::Duration;

use rust_rpc::bytes::Bytes;
use rust_rpc::{GenericClient, ResponseStream, Server, insecure_channel};
use test_support::{Peer, repo};

const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// B answers every call with `deadline:<ms left>` or `deadline:none`; A relays every call to B,
/// propagating. Gives A's port.
fn start_relay() -> (Server, Server, u16) {
    let b = Server::builder()
        .fallback(|_requests, context| async move {
            let left = context.time_remaining().map_or_else(|| "none".to_owned(), |left| left.as_millis().to_string());
            Ok(ResponseStream::iter([Bytes::from(format!("deadline:{left}"))]))
        })
        .build();
    let b_port = b.add_insecure_port("127.0.0.1:0").expect("bind B");
    b.start().expect("start B");

    let backend = GenericClient::raw(insecure_channel(&format!("127.0.0.1:{b_port}")).expect("channel"));
    let a = Server::builder()
        .fallback(move |_requests, context| {
            let backend = backend.clone();
            async move {
                let reply: Bytes = backend.unary(context.method().to_owned(), Bytes::new()).propagate(&context).await?;
                Ok(ResponseStream::iter([reply]))
            }
        })
        .build();
    let a_port = a.add_insecure_port("127.0.0.1:0").expect("bind A");
    a.start().expect("start A");
    (a, b, a_port)
}

async fn python_call(port: u16, timeout: &str) -> String {
    let script = repo().join("tests/interop/peers/python/relay_client.py");
    let args = ["deadline".to_owned(), port.to_string(), timeout.to_owned()];
    let output = tokio::task::spawn_blocking(move || Peer::python(script, args, PEER_TIMEOUT).output())
        .await
        .expect("peer thread");
    output.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_clients_deadline_flows_through_a_propagating_server() {
    let (_a, _b, port) = start_relay();
    let reply = python_call(port, "5").await;
    let left: u64 = reply
        .strip_prefix("deadline:")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("B saw no deadline: {reply}"));
    assert!(left <= 5000, "B's deadline ({left} ms left) is no later than grpcio's 5 s");

    assert_eq!(python_call(port, "none").await, "deadline:none", "no timeout, no deadline");
}
