//! `RpcError` and `tonic::Status` converted both ways (feature `tonic`): code, message, rich
//! error details (`grpc-status-details-bin`) and metadata, binary values included, on their
//! own and across a call whose servicer fails with a `tonic::Status`.

use e2e::helloworld::{GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::error_details::{BadRequest, ErrorDetail, ErrorInfo, bad_request::FieldViolation};
use rust_rpc::{Code, Metadata, Result, RpcError, Server, ServicerContext};

use crate::support::{greeter_client, hello};

fn details() -> Vec<ErrorDetail> {
    vec![
        BadRequest {
            field_violations: vec![FieldViolation {
                field: "name".into(),
                description: "must not be empty".into(),
                ..Default::default()
            }],
        }
        .into(),
        ErrorInfo { reason: "EMPTY_NAME".into(), domain: "example.com".into(), ..Default::default() }.into(),
    ]
}

fn metadata() -> Metadata {
    let mut metadata = Metadata::new();
    metadata.insert("x-ascii", "plain").expect("valid");
    metadata.insert_bin("x-blob-bin", [0u8, 1, 254, 255]).expect("valid");
    metadata
}

#[test]
fn an_rpc_error_round_trips_through_a_tonic_status() {
    let err = RpcError::invalid_argument("bad name \u{263A}").with_metadata(metadata()).with_error_details(details());
    let status = tonic::Status::from(err.clone());
    // tonic's view of it.
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "bad name \u{263A}");
    assert_eq!(status.details(), err.status_details());
    assert_eq!(status.metadata().get("x-ascii").and_then(|v| v.to_str().ok()), Some("plain"));
    let blob = status.metadata().get_bin("x-blob-bin").and_then(|v| v.to_bytes().ok());
    assert_eq!(blob.as_deref(), Some(&[0u8, 1, 254, 255][..]));
    // And back.
    let back = RpcError::from(status);
    assert_eq!((back.code(), back.details()), (Code::InvalidArgument, "bad name \u{263A}"));
    assert_eq!(back.error_details(), details());
    assert_eq!(back.metadata().get("x-ascii"), Some("plain"));
    assert_eq!(back.metadata().get_bin("x-blob-bin").as_deref(), Some(&[0u8, 1, 254, 255][..]));
    assert_eq!(back.metadata().len(), 2, "{:?}", back.metadata());
}

#[test]
fn codes_convert_both_ways_and_an_ok_status_is_unknown() {
    for code in Code::ALL {
        assert_eq!(Code::from(tonic::Code::from(code)), code);
        assert_eq!(tonic::Code::from(code) as i32, code.as_i32());
    }
    assert_eq!(RpcError::from(tonic::Status::new(tonic::Code::Ok, "fine")).code(), Code::Unknown);
}

/// A servicer ported from tonic that still builds its failures as `tonic::Status`.
struct PortedGreeter;

impl GreeterServicer for PortedGreeter {
    async fn say_hello(&self, request: HelloRequest, _: ServicerContext) -> Result<HelloReply> {
        if request.name.is_empty() {
            let rich = RpcError::invalid_argument("name is empty").with_error_details(details());
            let status = tonic::Status::with_details_and_metadata(
                tonic::Code::InvalidArgument,
                "name is empty",
                bytes::Bytes::copy_from_slice(rich.status_details()),
                tonic::metadata::MetadataMap::from_headers(tonic_headers()),
            );
            return Err(status.into());
        }
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

/// Metadata as a tonic servicer sets it.
fn tonic_headers() -> http::HeaderMap {
    let mut metadata = tonic::metadata::MetadataMap::new();
    metadata.insert("x-ascii", "plain".parse().expect("valid"));
    metadata.insert_bin("x-blob-bin", tonic::metadata::MetadataValue::from_bytes(&[0u8, 1, 254, 255]));
    metadata.into_headers()
}

#[tokio::test]
async fn a_tonic_status_from_a_servicer_reaches_the_client_whole() {
    let server = Server::new();
    add_greeter_servicer_to_server(PortedGreeter, &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let err = greeter_client(port).say_hello(hello("")).await.expect_err("fails");
    // The client's error, read as tonic would.
    let status = tonic::Status::from(err);
    assert_eq!((status.code(), status.message()), (tonic::Code::InvalidArgument, "name is empty"));
    let blob = status.metadata().get_bin("x-blob-bin").and_then(|v| v.to_bytes().ok());
    assert_eq!(blob.as_deref(), Some(&[0u8, 1, 254, 255][..]));
    assert_eq!(status.metadata().get("x-ascii").and_then(|v| v.to_str().ok()), Some("plain"));
    assert_eq!(RpcError::from(status).error_details(), details());
    server.stop(None).await;
}
