//! Rich error details (`google.rpc.Status` in `grpc-status-details-bin`) against Python grpcio
//! with grpcio-status, both directions, over loopback:
//!
//! - a grpcio server fails a call with `context.abort_with_status(rpc_status.to_status(..))`,
//!   and rust-rpc's client reads every detail back typed;
//! - a rust-rpc server fails a call with `RpcError::with_error_details`, and a grpcio client
//!   reads it with `rpc_status.from_call` and googleapis' `error_details_pb2`, checking every
//!   field (`peers/python/rich_details.py`, which holds the same values as this file).
//!
//! Runs `peers/setup.sh` first (idempotent; it installs the pinned peers into
//! `<repo>/.cache/interop` once). Every wait on a peer is bounded by `PEER_TIMEOUT`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use interop::pb::{
    EchoStatus, SimpleRequest, SimpleResponse, TestServiceClient, TestServiceServicer,
    add_test_service_servicer_to_server,
};
use rust_rpc::error_details::{
    BadRequest, DebugInfo, ErrorDetail, ErrorInfo, Help, LocalizedMessage, PreconditionFailure, QuotaFailure,
    RequestInfo, ResourceInfo, RetryInfo, bad_request::FieldViolation, help, precondition_failure, quota_failure,
};
use rust_rpc::prost::Message;
use rust_rpc::prost_types::{Any, Duration as ProtoDuration};
use rust_rpc::{Code, Result, RpcError, Server, ServicerContext};
use test_support::Peer;

/// How long a peer may take to start, or to run its call and exit.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

fn peers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// `peers/python/rich_details.py` with `args`, in its directory; killed when dropped.
fn rich_details(args: &[&str]) -> Peer {
    Peer::python(peers().join("python/rich_details.py"), args, PEER_TIMEOUT)
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn echo_status_any(code: i32, message: &str) -> Any {
    Any {
        type_url: "type.googleapis.com/grpc.testing.EchoStatus".into(),
        value: EchoStatus { code, message: message.into() }.encode_to_vec(),
    }
}

/// `server_details()` of rich_details.py, as rust-rpc must decode them.
fn grpcio_server_details() -> Vec<ErrorDetail> {
    vec![
        BadRequest {
            field_violations: vec![
                FieldViolation {
                    field: "person.first_name".into(),
                    description: "must not be empty".into(),
                    reason: "FIRST_NAME_EMPTY".into(),
                    localized_message: Some(LocalizedMessage {
                        locale: "fr-FR".into(),
                        message: "le prénom est vide".into(),
                    }),
                },
                FieldViolation {
                    field: "person.age".into(),
                    description: "must be at least 0".into(),
                    ..Default::default()
                },
            ],
        }
        .into(),
        ErrorInfo {
            reason: "INVALID_PERSON".into(),
            domain: "interop.rust-rpc.test".into(),
            metadata: map(&[("service", "people"), ("checkedFields", "2")]),
        }
        .into(),
        RetryInfo { retry_delay: Some(ProtoDuration { seconds: 3, nanos: 250_000_000 }) }.into(),
        QuotaFailure {
            violations: vec![quota_failure::Violation {
                subject: "project:interop".into(),
                description: "too many people".into(),
                api_service: "people.interop.test".into(),
                quota_metric: "people.interop.test/writes".into(),
                quota_id: "WritesPerMinute".into(),
                quota_dimensions: map(&[("region", "eu-west1")]),
                quota_value: 60,
                future_quota_value: Some(120),
            }],
        }
        .into(),
        ErrorDetail::Other(echo_status_any(7, "a detail of a type rust-rpc does not know")),
    ]
}

/// `client_expects()` of rich_details.py: every standard detail, then a non-standard one.
fn rust_server_details() -> Vec<ErrorDetail> {
    vec![
        ErrorInfo {
            reason: "QUOTA_LOW".into(),
            domain: "rust-rpc.test".into(),
            metadata: map(&[("b", "2"), ("a", "1")]),
        }
        .into(),
        RetryInfo { retry_delay: Some(ProtoDuration { seconds: 1, nanos: 500 }) }.into(),
        DebugInfo { stack_entries: vec!["server.rs:10".into(), "main.rs:3".into()], detail: "deep inside".into() }
            .into(),
        QuotaFailure {
            violations: vec![quota_failure::Violation {
                subject: "clientip:127.0.0.1".into(),
                description: "daily limit reached".into(),
                api_service: "books.rust-rpc.test".into(),
                quota_metric: "books.rust-rpc.test/reads".into(),
                quota_id: "ReadsPerDay".into(),
                quota_dimensions: map(&[("region", "local"), ("tier", "free")]),
                quota_value: 100,
                future_quota_value: Some(0),
            }],
        }
        .into(),
        PreconditionFailure {
            violations: vec![precondition_failure::Violation {
                r#type: "TOS".into(),
                subject: "rust-rpc.test".into(),
                description: "not accepted".into(),
            }],
        }
        .into(),
        BadRequest {
            field_violations: vec![
                FieldViolation {
                    field: "book.title".into(),
                    description: "too long".into(),
                    reason: "TITLE_TOO_LONG".into(),
                    localized_message: Some(LocalizedMessage { locale: "de-CH".into(), message: "zu lang".into() }),
                },
                FieldViolation {
                    field: "book.authors[1]".into(),
                    description: "unknown author".into(),
                    ..Default::default()
                },
            ],
        }
        .into(),
        RequestInfo { request_id: "req-7".into(), serving_data: "shard 3".into() }.into(),
        ResourceInfo {
            resource_type: "book".into(),
            resource_name: "books/42".into(),
            owner: "user:ann".into(),
            description: "locked".into(),
        }
        .into(),
        Help {
            links: vec![help::Link { description: "quota docs".into(), url: "https://rust-rpc.test/quota".into() }],
        }
        .into(),
        LocalizedMessage { locale: "fr-CH".into(), message: "quota dépassé".into() }.into(),
        ErrorDetail::Other(echo_status_any(9, "custom detail from rust-rpc")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_from_a_grpcio_server_are_read_back_typed() {
    // Killed when dropped, at the end of the test.
    let (_server, line) = tokio::task::spawn_blocking(|| {
        let mut peer = rich_details(&["server"]);
        let line = peer.line("`listening on P` line");
        (peer, line)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let port = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("a channel");
    let client = TestServiceClient::new(channel);

    let err = client
        .unary_call(SimpleRequest::default())
        .timeout(CALL_TIMEOUT)
        .await
        .expect_err("the grpcio server fails every UnaryCall");

    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(err.details(), "2 champs invalides : prénom, âge");
    let status = err.rich_status().expect("a google.rpc.Status in grpc-status-details-bin");
    assert_eq!((status.code, status.message.as_str()), (3, "2 champs invalides : prénom, âge"));
    // Every detail, every field, in order; the EchoStatus unknown to rust-rpc kept as it came.
    assert_eq!(err.error_details(), grpcio_server_details());
    let ErrorDetail::Other(custom) = &err.error_details()[4] else { unreachable!("compared above") };
    assert_eq!(
        EchoStatus::decode(custom.value.as_slice()).expect("an EchoStatus"),
        EchoStatus { code: 7, message: "a detail of a type rust-rpc does not know".into() }
    );
    // The typed getters agree.
    let ErrorDetail::BadRequest(bad_request) = &grpcio_server_details()[0] else { unreachable!("listed first") };
    assert_eq!(err.error_detail::<BadRequest>().as_ref(), Some(bad_request));
    assert_eq!(
        err.error_detail::<RetryInfo>().and_then(|r| r.retry_delay),
        Some(ProtoDuration { seconds: 3, nanos: 250_000_000 })
    );
    assert_eq!(err.error_detail::<ErrorInfo>().map(|info| info.reason), Some("INVALID_PERSON".into()));
    assert_eq!(err.error_detail::<Help>(), None);
}

struct FailingService;

impl TestServiceServicer for FailingService {
    async fn unary_call(&self, _request: SimpleRequest, _context: ServicerContext) -> Result<SimpleResponse> {
        Err(RpcError::resource_exhausted("quota dépassé: réessayez").with_error_details(rust_server_details()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_from_a_rust_rpc_server_are_read_by_grpcio_status() {
    let server = Server::new();
    add_test_service_servicer_to_server(FailingService, &server).expect("register the service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind a loopback port");
    server.start().expect("start the server");

    let (verdict, stderr) = tokio::task::spawn_blocking(move || {
        let mut peer = rich_details(&["client", "--port", &port.to_string()]);
        let verdict = peer.line("verdict");
        // Fails the test unless the client exits successfully.
        let stderr = peer.wait();
        (verdict, stderr)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    assert_eq!(
        verdict,
        "rich details ok: google.rpc.ErrorInfo google.rpc.RetryInfo google.rpc.DebugInfo google.rpc.QuotaFailure \
         google.rpc.PreconditionFailure google.rpc.BadRequest google.rpc.RequestInfo google.rpc.ResourceInfo \
         google.rpc.Help google.rpc.LocalizedMessage grpc.testing.EchoStatus",
        "stderr: {stderr}"
    );
    server.stop(None).await;
}
