//! Responses no well-behaved server sends, from a raw HTTP/2 server: the client gives each the
//! status gRPC specifies (grpc-go's choices where the spec is silent), the same on each of the
//! client's paths: the unary call and the streaming call (a client-streaming call to the same
//! method, which reads its response with the streaming decoder), each uncompressed and with a
//! gzip-compressed request (tonic's codec).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use e2e::helloworld::{GreeterClient, HelloReply};
use http_body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rust_rpc::prost::Message;
use rust_rpc::{ChannelBuilder, Code, Compression};

use crate::support::hello;

/// A response body: the frames given, in order.
struct Scripted(VecDeque<Frame<Bytes>>);

impl http_body::Body for Scripted {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// One scripted answer: HTTP status, response headers, body frames.
#[derive(Clone)]
struct Script {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    data: Vec<Vec<u8>>,
    trailers: Option<Vec<(&'static str, &'static str)>>,
}

impl Script {
    /// A gRPC answer: 200, `content-type: application/grpc`, then `data` and `trailers`.
    fn grpc(data: Vec<Vec<u8>>, trailers: Option<Vec<(&'static str, &'static str)>>) -> Script {
        Script { status: 200, headers: vec![("content-type", "application/grpc")], data, trailers }
    }

    fn response(&self) -> http::Response<Scripted> {
        let mut frames: VecDeque<Frame<Bytes>> =
            self.data.iter().map(|d| Frame::data(Bytes::from(d.clone()))).collect();
        if let Some(trailers) = &self.trailers {
            frames.push_back(Frame::trailers(header_map(trailers)));
        }
        let mut response = http::Response::new(Scripted(frames));
        *response.status_mut() = http::StatusCode::from_u16(self.status).expect("status");
        *response.headers_mut() = header_map(&self.headers);
        response
    }
}

fn header_map(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
    pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), http::HeaderValue::from_static(v))).collect()
}

/// Serves `script` to every request on 127.0.0.1; returns the port.
async fn serve(script: Script) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let script = script.clone();
            let service = hyper::service::service_fn(move |_request: http::Request<hyper::body::Incoming>| {
                let response = script.response();
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(
                hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    port
}

/// A gRPC frame of `message` with the compressed flag `flag`.
fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut frame = vec![flag];
    frame.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

fn reply(text: &str) -> Vec<u8> {
    framed(0, &HelloReply { message: text.to_owned() }.encode_to_vec())
}

const OK: &[(&str, &str)] = &[("grpc-status", "0")];

/// Calls a server answering with `script` on every client path (see the module docs) and checks
/// each ends with `expected` (`Ok` with the reply text, or the code).
async fn check(script: Script, expected: Result<&str, Code>) {
    check_with(script, expected, |channel| channel).await;
}

/// [`check`] with a channel configured by `configure`.
async fn check_with(
    script: Script,
    expected: Result<&str, Code>,
    configure: impl FnOnce(ChannelBuilder) -> ChannelBuilder,
) {
    let port = serve(script).await;
    let channel = configure(ChannelBuilder::new(format!("127.0.0.1:{port}"))).build().expect("channel");
    for (compression, streaming) in paths() {
        let result = call(&channel, compression, streaming).await;
        match (&result, expected) {
            (Ok(reply), Ok(text)) => assert_eq!(reply.message, text, "{compression:?}, streaming {streaming}"),
            (Err(err), Err(code)) => assert_eq!(err.code(), code, "{compression:?}, streaming {streaming}: {err}"),
            _ => panic!("{compression:?}, streaming {streaming}: expected {expected:?}, got {result:?}"),
        }
    }
}

/// Every client path: compression or none, unary or streaming.
fn paths() -> [(Option<Compression>, bool); 4] {
    [(None, false), (Some(Compression::Gzip), false), (None, true), (Some(Compression::Gzip), true)]
}

/// One call to `SayHello` on the given path.
async fn call(
    channel: &rust_rpc::Channel,
    compression: Option<Compression>,
    streaming: bool,
) -> rust_rpc::Result<HelloReply> {
    if streaming {
        let requests = rust_rpc::stream::iter([hello("x")]);
        let mut call = channel.client_streaming::<_, HelloReply>("/helloworld.Greeter/SayHello", requests);
        if let Some(compression) = compression {
            call = call.compression(compression);
        }
        return call.await;
    }
    let mut call = GreeterClient::new(channel.clone()).say_hello(hello("x"));
    if let Some(compression) = compression {
        call = call.compression(compression);
    }
    call.await
}

#[tokio::test]
async fn a_well_formed_answer_succeeds() {
    check(Script::grpc(vec![reply("hi")], Some(OK.to_vec())), Ok("hi")).await;
}

#[tokio::test]
async fn a_message_split_across_data_frames_is_joined() {
    let whole = reply("split in three");
    let parts = vec![whole[..3].to_vec(), whole[3..9].to_vec(), whole[9..].to_vec()];
    check(Script::grpc(parts, Some(OK.to_vec())), Ok("split in three")).await;
}

#[tokio::test]
async fn an_error_status_after_a_message_is_that_error() {
    let trailers = vec![("grpc-status", "7"), ("grpc-message", "no%20way")];
    check_error(Script::grpc(vec![reply("hi")], Some(trailers)), Code::PermissionDenied, "no way").await;
}

/// Checks that every client path ends with `code` and `details`.
async fn check_error(script: Script, code: Code, details: &str) {
    let port = serve(script).await;
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    for (compression, streaming) in paths() {
        let err = call(&channel, compression, streaming).await.expect_err("fails");
        assert_eq!(err.code(), code, "{compression:?}, streaming {streaming}: {err}");
        assert_eq!(err.details(), details, "{compression:?}, streaming {streaming}");
    }
}

#[tokio::test]
async fn an_answer_without_grpc_status_is_unknown() {
    check(Script::grpc(vec![reply("hi")], None), Err(Code::Unknown)).await;
    check(Script::grpc(vec![reply("hi")], Some(vec![("x-other", "1")])), Err(Code::Unknown)).await;
}

#[tokio::test]
async fn http_errors_map_to_grpc_codes() {
    for (status, code) in [
        (400, Code::Internal),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::Unimplemented),
        (429, Code::Unavailable),
        (502, Code::Unavailable),
        (503, Code::Unavailable),
        (504, Code::Unavailable),
        (418, Code::Unknown),
    ] {
        let script = Script {
            status,
            headers: vec![("content-type", "text/plain")],
            data: vec![b"no".to_vec()],
            trailers: None,
        };
        check(script, Err(code)).await;
    }
}

#[tokio::test]
async fn an_ok_status_without_a_message_is_internal() {
    check(Script::grpc(vec![], Some(OK.to_vec())), Err(Code::Internal)).await;
    // Trailers-only: the status in the headers, nothing after.
    let script = Script {
        status: 200,
        headers: vec![("content-type", "application/grpc"), ("grpc-status", "0")],
        data: vec![],
        trailers: None,
    };
    check(script, Err(Code::Internal)).await;
}

#[tokio::test]
async fn two_messages_for_a_unary_call_are_internal() {
    check(Script::grpc(vec![reply("one"), reply("two")], Some(OK.to_vec())), Err(Code::Internal)).await;
}

#[tokio::test]
async fn malformed_messages_are_internal() {
    // Not protobuf.
    check(Script::grpc(vec![framed(0, &[0xff, 0xff, 0xff])], Some(OK.to_vec())), Err(Code::Internal)).await;
    // The prefix promises more than comes.
    let mut short = reply("truncated");
    short.truncate(8);
    check(Script::grpc(vec![short], Some(OK.to_vec())), Err(Code::Internal)).await;
    // Marked compressed, with no grpc-encoding.
    check(Script::grpc(vec![framed(1, b"\x0a\x01x")], Some(OK.to_vec())), Err(Code::Internal)).await;
}

#[tokio::test]
async fn an_unknown_response_encoding_is_unimplemented() {
    let script = Script {
        status: 200,
        headers: vec![("content-type", "application/grpc"), ("grpc-encoding", "snappy")],
        data: vec![framed(1, b"whatever")],
        trailers: Some(OK.to_vec()),
    };
    check(script, Err(Code::Unimplemented)).await;
}

#[tokio::test]
async fn a_response_over_the_receive_limit_is_resource_exhausted() {
    let big = "x".repeat(100);
    let script = Script::grpc(vec![reply(&big)], Some(OK.to_vec()));
    check_with(script.clone(), Err(Code::ResourceExhausted), |c| c.max_receive_message_length(64)).await;
    // The control: the same answer under a limit it fits.
    check_with(script, Ok(&big), |c| c.max_receive_message_length(1024)).await;
}

#[tokio::test]
async fn status_details_that_are_not_base64_are_internal_not_a_panic() {
    // tonic's status parser (which the client used before) panicked on this.
    let trailers = vec![("grpc-status", "5"), ("grpc-message", "gone"), ("grpc-status-details-bin", "not base64!")];
    check(Script::grpc(vec![], Some(trailers.clone())), Err(Code::Internal)).await;
    // The same status in a trailers-only answer.
    let script = Script {
        status: 200,
        headers: [&[("content-type", "application/grpc")][..], &trailers].concat(),
        data: vec![],
        trailers: None,
    };
    check(script, Err(Code::Internal)).await;
}

#[tokio::test]
async fn a_status_message_that_is_not_utf8_keeps_its_code_and_text() {
    let trailers = vec![("grpc-status", "9"), ("grpc-message", "bad%FFbyte")];
    check_error(Script::grpc(vec![], Some(trailers)), Code::FailedPrecondition, "bad\u{fffd}byte").await;
}

#[tokio::test]
async fn a_status_code_out_of_range_is_unknown() {
    for code in ["17", "99", "-1", "x"] {
        let trailers = vec![("grpc-status", code)];
        check(Script::grpc(vec![reply("hi")], Some(trailers)), Err(Code::Unknown)).await;
    }
}
