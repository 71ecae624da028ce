//! Requests no well-behaved client sends, over raw HTTP/2: each gets the answer gRPC
//! specifies, and the server keeps serving.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rust_rpc::{ChannelBuilder, Code, Compression};

use crate::support::{TestGreeter, greeter_client, hello, start_greeter};

struct Answer {
    status: http::StatusCode,
    grpc_status: Option<String>,
    headers: http::HeaderMap,
}

/// Sends one request to `/helloworld.Greeter/SayHello` with `headers` and `body`.
async fn raw(port: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = http::Request::post(format!("http://127.0.0.1:{port}/helloworld.Greeter/SayHello"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response =
        sender.send_request(request.body(Full::new(Bytes::from(body))).expect("request")).await.expect("send");
    let status = response.status();
    let headers = response.headers().clone();
    let collected = response.into_body().collect().await.expect("body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let grpc_status = headers
        .get("grpc-status")
        .or_else(|| trailers.get("grpc-status"))
        .map(|v| v.to_str().expect("ascii").to_owned());
    Answer { status, grpc_status, headers }
}

/// A gRPC frame: uncompressed flag, big-endian length, message.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

const GRPC: (&str, &str) = ("content-type", "application/grpc");

async fn still_serving(port: u16) {
    let reply = greeter_client(port).say_hello(hello("after")).await.expect("the server still serves");
    assert_eq!(reply.message, "Hello after");
}

#[tokio::test]
async fn malformed_message_is_internal() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let answer = raw(port, &[GRPC, ("te", "trailers")], frame(&[0xff, 0xff, 0xff])).await;
    assert_eq!(answer.status, http::StatusCode::OK);
    assert_eq!(answer.grpc_status.as_deref(), Some("13"));
    still_serving(port).await;
}

#[tokio::test]
async fn unary_bodies_that_are_not_exactly_one_message_are_internal() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let message = [0x0a, 0x01, b'x'];
    let two = [frame(&message), frame(&message)].concat();
    let mut truncated = frame(&message);
    truncated.pop();
    let mut compressed_without_encoding = frame(&message);
    compressed_without_encoding[0] = 1;
    let mut bad_flag = frame(&message);
    bad_flag[0] = 7;
    for (what, body) in [
        ("no message", Vec::new()),
        ("half a prefix", vec![0, 0]),
        ("two messages", two),
        ("a truncated message", truncated),
        ("the compressed flag without grpc-encoding", compressed_without_encoding),
        ("an invalid flag", bad_flag),
    ] {
        let answer = raw(port, &[GRPC, ("te", "trailers")], body).await;
        assert_eq!(answer.status, http::StatusCode::OK, "{what}");
        assert_eq!(answer.grpc_status.as_deref(), Some("13"), "{what}");
    }
    still_serving(port).await;
}

#[tokio::test]
async fn a_prefix_over_the_receive_limit_is_resource_exhausted_before_the_message_arrives() {
    let (_server, port) = start_greeter(TestGreeter::default());
    // A prefix announcing 1 GiB and only a few bytes of it: refused on the prefix alone.
    let mut body = vec![0];
    body.extend_from_slice(&(1u32 << 30).to_be_bytes());
    body.extend_from_slice(b"abc");
    let answer = raw(port, &[GRPC, ("te", "trailers")], body).await;
    assert_eq!(answer.grpc_status.as_deref(), Some("8"));
    still_serving(port).await;
}

#[tokio::test]
async fn wrong_content_type_is_http_415() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let answer = raw(port, &[("content-type", "text/plain")], frame(&[])).await;
    assert_eq!(answer.status, http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    still_serving(port).await;
}

#[tokio::test]
async fn malformed_timeout_is_refused() {
    let (_server, port) = start_greeter(TestGreeter::default());
    for bad in ["bogus", "123456789S", "10"] {
        let answer = raw(port, &[GRPC, ("grpc-timeout", bad)], frame(&[])).await;
        assert_eq!(answer.grpc_status.as_deref(), Some("13"), "grpc-timeout {bad}");
    }
    still_serving(port).await;
}

#[tokio::test]
async fn unknown_compression_is_unimplemented_and_lists_what_is_accepted() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let answer = raw(port, &[GRPC, ("grpc-encoding", "snappy")], frame(&[])).await;
    assert_eq!(answer.grpc_status.as_deref(), Some("12"));
    let accepted = answer.headers.get("grpc-accept-encoding").map(|v| v.to_str().expect("ascii").to_owned());
    assert_eq!(accepted.as_deref(), Some("gzip,zstd"));
    still_serving(port).await;
}

#[tokio::test]
async fn compressed_messages_that_inflate_past_the_limits_are_resource_exhausted() {
    // 64 KB of one letter compresses to about a hundred bytes: the frame is small, what it
    // decompresses to is not. Each side stops inflating at its receive limit.
    let server = rust_rpc::Server::builder().max_receive_message_length(4096).compression(Compression::Gzip).build();
    let (_server, port) = crate::support::start_greeter_with(server, TestGreeter::default());
    for compression in [Compression::Gzip, Compression::Zstd] {
        let call = greeter_client(port).say_hello(hello(&"x".repeat(64 << 10))).compression(compression);
        let err = call.await.expect_err("inflates too far");
        assert_eq!(err.code(), Code::ResourceExhausted, "{compression:?}: {err}");
        assert!(err.details().contains("decompresses to more than the server's receive limit"), "{err}");
    }
    // The reply, gzip-compressed by the server, over the client's receive limit.
    let channel =
        ChannelBuilder::new(format!("127.0.0.1:{port}")).max_receive_message_length(1024).build().expect("channel");
    let err = e2e::helloworld::GreeterClient::new(channel)
        .say_hello(hello(&"y".repeat(2048)))
        .await
        .expect_err("reply inflates too far");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    assert!(err.details().contains("decompresses to more than the channel's receive limit"), "{err}");
    still_serving(port).await;
}

#[tokio::test]
async fn messages_over_the_limits_are_resource_exhausted() {
    let (_server, port) = start_greeter(TestGreeter::default());
    // Request over the server's default 4 MiB receive limit.
    let err = greeter_client(port).say_hello(hello(&"x".repeat(5 << 20))).await.expect_err("too large");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    // Response over the client's receive limit.
    let channel =
        ChannelBuilder::new(format!("127.0.0.1:{port}")).max_receive_message_length(1024).build().expect("channel");
    let client = e2e::helloworld::GreeterClient::new(channel);
    let err = client.say_hello(hello(&"y".repeat(2048))).await.expect_err("reply too large");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
    still_serving(port).await;
}

#[tokio::test]
async fn a_response_over_the_servers_send_limit_is_resource_exhausted() {
    // Compressed too, where the limit is on the message before compression (this reply
    // compresses to a few dozen bytes).
    for compression in [None, Some(rust_rpc::Compression::Gzip)] {
        let mut server = rust_rpc::Server::builder().max_send_message_length(1024);
        if let Some(compression) = compression {
            server = server.compression(compression);
        }
        let (_server, port) = crate::support::start_greeter_with(server.build(), TestGreeter::default());
        let err = greeter_client(port).say_hello(hello(&"y".repeat(2048))).await.expect_err("reply too large to send");
        assert_eq!(err.code(), Code::ResourceExhausted, "{compression:?}: {err}");
        assert!(err.details().contains("the server's send limit"), "{compression:?}: {err}");
        still_serving(port).await;
    }
}

#[tokio::test]
async fn compressed_calls_work_both_ways() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let client = greeter_client(port);
    for compression in [rust_rpc::Compression::Gzip, rust_rpc::Compression::Zstd] {
        let reply = client.say_hello(hello(&"z".repeat(10_000))).compression(compression).await.expect("call");
        assert_eq!(reply.message.len(), 10_006);
    }
}

#[tokio::test]
async fn a_method_path_that_is_not_a_path_fails_the_call_instead_of_panicking() {
    let (_server, port) = start_greeter(TestGreeter::default());
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    // `PathAndQuery::from_static` panicked on these before.
    for path in ["helloworld.Greeter/SayHello", "/helloworld.Greeter/Say Hello", "/helloworld.Greeter/Say\nHello", ""] {
        let err =
            channel.unary::<_, e2e::helloworld::HelloReply>(path, hello("x")).await.expect_err("an invalid path fails");
        assert_eq!(err.code(), Code::Internal, "{path:?}: {err}");
        assert!(err.details().contains("invalid method path"), "{path:?}: {err}");
    }
    still_serving(port).await;
}
