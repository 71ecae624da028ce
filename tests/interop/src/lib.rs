//! The standard gRPC interop test server and client (gRPC's `doc/interop-test-descriptions.md`)
//! for rust-rpc, with the command lines every gRPC implementation's interop binaries share.

pub mod args;
pub mod cases;
pub mod service;

/// `grpc.testing`, generated from `protos/grpc/testing/*.proto`.
#[allow(missing_docs)]
pub mod pb {
    rust_rpc::include_proto!("grpc.testing");
}

/// A payload of `size` zero bytes, as the interop tests use.
pub fn payload(size: i32) -> pb::Payload {
    pb::Payload { r#type: pb::PayloadType::Compressable as i32, body: vec![0; usize::try_from(size).unwrap_or(0)] }
}
