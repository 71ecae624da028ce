//! The interop cases `server_compressed_streaming` and `client_compressed_streaming` checked by
//! each frame's compressed flag, which no gRPC API shows (our client, grpcio and grpc-js read
//! both kinds alike, so they pass whatever the flags are). HTTP/2 by hand here.
//!
//! `server_compressed_streaming` asks for two responses on a gzip call, the first compressed
//! and the second not; it runs against the rust-rpc interop server (its handler uses
//! `ServicerContext::disable_next_message_compression`) and, to show the check itself is right,
//! against grpcio's (`peers/python/server.py`, Python's `disable_next_message_compression`).
//! `client_compressed_streaming` sends the first request compressed and the second not (our
//! interop client, with `MessageCompression`), to a server that checks each request's flag
//! against its `expect_compressed` as the spec's server does.

use std::convert::Infallible;
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame as BodyFrame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use interop::pb::{
    BoolValue, ResponseParameters, StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};
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

/// The frames of a request body: each one's compressed flag and message, gunzipped if flagged.
fn read_frames(mut data: Bytes) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while data.len() >= 5 {
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let frame = data.split_to(5 + len);
        let message = match frame[0] {
            1 => {
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&frame[5..]).read_to_end(&mut plain).expect("gzip");
                plain
            }
            _ => frame[5..].to_vec(),
        };
        frames.push((frame[0], message));
    }
    frames
}

/// A `StreamingInputCall` server as the spec describes it, by hand: each request flagged
/// uncompressed whose `expect_compressed` is true fails the call with INVALID_ARGUMENT; every
/// call's request flags are recorded in `seen`.
async fn strict_server(listener: tokio::net::TcpListener, seen: Arc<Mutex<Vec<Vec<u8>>>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let seen = seen.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let seen = seen.clone();
                async move {
                    let data = request.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                    let frames = read_frames(data);
                    seen.lock().expect("seen").push(frames.iter().map(|(flag, _)| *flag).collect());
                    let mut status = "0";
                    let mut total = 0;
                    for (flag, message) in &frames {
                        let request = StreamingInputCallRequest::decode(&message[..]).expect("a request");
                        if request.expect_compressed.is_some_and(|b| b.value) && *flag == 0 {
                            status = "3";
                        }
                        total += request.payload.map_or(0, |p| p.body.len());
                    }
                    let mut chunks = Vec::new();
                    if status == "0" {
                        let reply =
                            StreamingInputCallResponse { aggregated_payload_size: total as i32 }.encode_to_vec();
                        let mut frame = vec![0];
                        frame.extend_from_slice(&(reply.len() as u32).to_be_bytes());
                        frame.extend_from_slice(&reply);
                        chunks.push(Ok::<_, Infallible>(BodyFrame::data(Bytes::from(frame))));
                    }
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", http::HeaderValue::from_static(status));
                    chunks.push(Ok(BodyFrame::trailers(trailers)));
                    let response = http::Response::builder()
                        .header("content-type", "application/grpc")
                        .header("grpc-accept-encoding", "gzip")
                        .body(StreamBody::new(rust_rpc::stream::iter(chunks)))
                        .expect("response");
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_rpc_client_sends_the_second_request_of_client_compressed_streaming_uncompressed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = tokio::spawn(strict_server(listener, seen.clone()));
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    let client = interop::pb::TestServiceClient::new(channel.clone());
    let unimplemented = interop::pb::UnimplementedServiceClient::new(channel);
    let result = interop::cases::run("client_compressed_streaming", &client, &unimplemented).await;
    server.abort();
    assert!(result.is_ok(), "{result:?}");
    // The probe (uncompressed, so refused), then the case: compressed, then not.
    assert_eq!(*seen.lock().expect("seen"), [vec![0], vec![1, 0]]);
}
