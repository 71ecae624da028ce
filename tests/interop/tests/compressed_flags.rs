//! The interop case `server_compressed_streaming` checked the way gRPC C++'s client checks it:
//! by each response frame's compressed flag, which no gRPC API shows (our client, grpcio and
//! grpc-js read both kinds alike, so they pass whatever the flags are). HTTP/2 by hand here.
//!
//! The case asks for two responses on a gzip call, the first compressed and the second not.
//! Run against the rust-rpc interop server (its handler uses
//! `ServicerContext::disable_next_message_compression`) and, to show the check itself is right,
//! against grpcio's (`peers/python/server.py`, Python's `disable_next_message_compression`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use interop::pb::{BoolValue, ResponseParameters, StreamingOutputCallRequest, StreamingOutputCallResponse};
use prost::Message;
use test_support::{Peer, repo};

/// How long the grpcio server may take to start (not a speed check).
const HANG_GUARD: Duration = Duration::from_secs(60);

/// One response frame: its compressed flag and its bytes as sent.
struct Frame {
    compressed: u8,
    data: Bytes,
}

/// Calls StreamingOutputCall at `port` for responses of `sizes`, each compressed as asked,
/// accepting gzip; gives the response's `grpc-encoding`, its frames and its `grpc-status`.
async fn call(port: u16, sizes: &[(i32, bool)]) -> (Option<String>, Vec<Frame>, Option<String>) {
    let request = StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .map(|&(size, compressed)| ResponseParameters {
                size,
                compressed: Some(BoolValue { value: compressed }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let message = request.encode_to_vec();
    let mut body = vec![0];
    body.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    body.extend_from_slice(&message);

    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://127.0.0.1:{port}/grpc.testing.TestService/StreamingOutputCall"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-accept-encoding", "gzip")
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let response = sender.send_request(request).await.expect("send");
    let encoding = response.headers().get("grpc-encoding").map(|v| v.to_str().expect("ascii").to_owned());
    let collected = response.into_body().collect().await.expect("body");
    let status = collected.trailers().and_then(|t| t.get("grpc-status")).map(|v| v.to_str().expect("ascii").to_owned());
    let mut data = collected.to_bytes();
    let mut frames = Vec::new();
    while !data.is_empty() {
        assert!(data.len() >= 5, "a partial prefix");
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let frame = data.split_to(5 + len);
        frames.push(Frame { compressed: frame[0], data: frame.slice(5..) });
    }
    (encoding, frames, status)
}

/// The checks of gRPC C++'s `DoServerCompressedStreaming`: a gzip response, the first message
/// flagged compressed and the second not, the second being the 92,653 bytes asked for.
async fn check_server_compressed_streaming(port: u16, server: &str) {
    let (encoding, frames, status) = call(port, &[(31_415, true), (92_653, false)]).await;
    assert_eq!(status.as_deref(), Some("0"), "{server}: status");
    assert_eq!(encoding.as_deref(), Some("gzip"), "{server}: grpc-encoding");
    let flags: Vec<u8> = frames.iter().map(|f| f.compressed).collect();
    assert_eq!(flags, [1, 0], "{server}: compressed flags");
    // 31,415 zeros deflate to a few hundred bytes.
    assert!(frames[0].data.len() < 1000, "{server}: first frame {} bytes", frames[0].data.len());
    let second = StreamingOutputCallResponse::decode(frames[1].data.clone()).expect("the plain message decodes");
    assert_eq!(second.payload.map(|p| p.body.len()), Some(92_653), "{server}");

    // The other way round, and more messages: each follows its own parameter.
    let asked = [(10_000, false), (10_000, true), (10_000, true), (10_000, false), (10_000, true)];
    let (_, frames, status) = call(port, &asked).await;
    assert_eq!(status.as_deref(), Some("0"), "{server}: status");
    let flags: Vec<u8> = frames.iter().map(|f| f.compressed).collect();
    assert_eq!(flags, [0, 1, 1, 0, 1], "{server}: compressed flags");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_rpc_server_sends_the_second_response_of_server_compressed_streaming_uncompressed() {
    let server = rust_rpc::Server::new();
    interop::pb::add_test_service_servicer_to_server(interop::service::TestService, &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    check_server_compressed_streaming(port, "rust-rpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flag_check_passes_against_grpcio() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let script = repo().join("tests/interop/peers/python/server.py");
    let mut server = Peer::python(script, ["--port".to_owned(), port.to_string()], HANG_GUARD);
    tokio::task::block_in_place(|| while !server.line("its \"listening on\" line").contains("listening on") {});
    check_server_compressed_streaming(port, "grpcio").await;
}
