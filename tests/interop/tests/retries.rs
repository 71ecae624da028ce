//! Retries (gRFC A6) under one service config, with grpcio on the other side
//! (`peers/python/retry.py`):
//!
//! - a rust-rpc client retries against a grpcio server that fails the first attempts of each
//!   call: it succeeds on the attempt after them, each retry carrying
//!   `grpc-previous-rpc-attempts`; with too few `maxAttempts` it fails with the server's status;
//!   a code the policy does not list is not retried;
//! - a grpcio client with the same config (`grpc.service_config`, `grpc.enable_retries`)
//!   against a rust-rpc server failing the same way makes the same attempts with the same
//!   headers as a rust-rpc client there: the reference our behaviour is checked against.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use interop::pb::{
    SimpleRequest, SimpleResponse, TestServiceClient, TestServiceServicer, add_test_service_servicer_to_server,
};
use rust_rpc::{ChannelBuilder, Code, Result, RpcError, Server, ServicerContext};
use test_support::{Peer, repo};

const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// Up to 4 attempts, retrying UNAVAILABLE, with short backoffs.
const CONFIG: &str = r#"{"methodConfig": [{"name": [{"service": "grpc.testing.TestService"}],
    "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#;

/// The calls both directions make: (request id, failures before success, failure code) and
/// what the call should end with. 3 failures fit in 4 attempts; 4 do not; INTERNAL is not
/// retried.
const CASES: [(&str, u32, &str, &str); 3] =
    [("a", 3, "UNAVAILABLE", "ok"), ("b", 4, "UNAVAILABLE", "UNAVAILABLE"), ("c", 1, "INTERNAL", "INTERNAL")];

/// The `grpc-previous-rpc-attempts` of each attempt the server sees for each case.
fn expected_attempts(id: &str) -> Vec<u32> {
    match id {
        "a" | "b" => vec![0, 1, 2, 3],
        _ => vec![0],
    }
}

fn script() -> PathBuf {
    repo().join("tests/interop/peers/python/retry.py")
}

/// A rust-rpc client call of one case: `ok`, or the status code's name.
async fn rust_call(port: u16, (id, fail_times, code, _): (&str, u32, &str, &str)) -> String {
    let channel = ChannelBuilder::new(format!("127.0.0.1:{port}")).service_config(CONFIG).build().expect("channel");
    let call = TestServiceClient::new(channel)
        .unary_call(SimpleRequest::default())
        .add_metadata("x-request-id", id)
        .and_then(|call| call.add_metadata("x-fail-times", &fail_times.to_string()))
        .and_then(|call| call.add_metadata("x-fail-code", code))
        .expect("metadata")
        .timeout(Duration::from_secs(30));
    match call.await {
        Ok(_) => "ok".to_owned(),
        Err(err) => err.code().as_str().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_rpc_client_retries_against_a_grpcio_server() {
    let mut server = tokio::task::spawn_blocking(|| {
        let mut server = Peer::python(script(), ["server"], PEER_TIMEOUT);
        let line = server.line("the listening port");
        (server, line)
    })
    .await
    .expect("join");
    let port: u16 = server.1.strip_prefix("listening on ").and_then(|p| p.parse().ok()).expect("a port line");
    for case in CASES {
        let (id, .., expected) = case;
        assert_eq!(rust_call(port, case).await, expected, "call {id}");
        let attempts: Vec<u32> = tokio::task::block_in_place(|| {
            (0..expected_attempts(id).len())
                .map(|_| {
                    let line = server.0.line("an attempt");
                    let n = line.strip_prefix(&format!("attempt {id} ")).unwrap_or_else(|| panic!("{line:?}"));
                    n.parse().expect("a count")
                })
                .collect()
        });
        assert_eq!(attempts, expected_attempts(id), "call {id}: grpc-previous-rpc-attempts as grpcio saw them");
    }
    drop(server);
}

/// Fails UnaryCall as `retry.py server` does, recording each attempt's
/// `grpc-previous-rpc-attempts` per request id.
#[derive(Clone, Default)]
struct Failing(Arc<Mutex<HashMap<String, Vec<u32>>>>);

impl TestServiceServicer for Failing {
    async fn unary_call(&self, _request: SimpleRequest, context: ServicerContext) -> Result<SimpleResponse> {
        let metadata = context.invocation_metadata();
        let id = metadata.get("x-request-id").unwrap_or_default().to_owned();
        let previous = metadata.get("grpc-previous-rpc-attempts").map_or(0, |v| v.parse().expect("a number"));
        let fail_times: usize = metadata.get("x-fail-times").and_then(|n| n.parse().ok()).unwrap_or(0);
        let code = match metadata.get("x-fail-code") {
            Some("INTERNAL") => Code::Internal,
            _ => Code::Unavailable,
        };
        let earlier = {
            let mut seen = self.0.lock().expect("lock");
            let attempts = seen.entry(id).or_default();
            attempts.push(previous);
            attempts.len() - 1
        };
        if earlier < fail_times {
            return Err(RpcError::new(code, format!("attempt {} fails", earlier + 1)));
        }
        Ok(SimpleResponse::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_with_the_same_config_makes_the_same_attempts_as_rust_rpc() {
    let failing = Failing::default();
    let server = Server::new();
    add_test_service_servicer_to_server(failing.clone(), &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    for (id, fail_times, code, expected) in CASES {
        let grpcio_id = format!("grpcio-{id}");
        let args = [
            "client".to_owned(),
            "--port".to_owned(),
            port.to_string(),
            "--config".to_owned(),
            CONFIG.to_owned(),
            "--id".to_owned(),
            grpcio_id.clone(),
            "--fail-times".to_owned(),
            fail_times.to_string(),
            "--fail-code".to_owned(),
            code.to_owned(),
        ];
        let answer =
            tokio::task::spawn_blocking(move || Peer::python(script(), args, PEER_TIMEOUT).answer("the call's result"))
                .await
                .expect("join");
        assert_eq!(answer, expected, "grpcio's call {id}");
        let rust_id = format!("rust-{id}");
        assert_eq!(rust_call(port, (&rust_id, fail_times, code, expected)).await, expected, "rust-rpc's call {id}");
        let seen = failing.0.lock().expect("lock").clone();
        assert_eq!(seen.get(&grpcio_id), Some(&expected_attempts(id)), "grpcio's attempts for {id}");
        assert_eq!(seen.get(&rust_id), seen.get(&grpcio_id), "rust-rpc's attempts for {id} are grpcio's");
    }
    server.stop(None).await;
}
