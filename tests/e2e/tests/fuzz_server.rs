//! Server-level fuzzing: request bodies built from valid, damaged and hostile frames (and plain
//! random bytes), cut into DATA frames anywhere, sent over real HTTP/2 connections to a running
//! server. Every request gets an answer with the status the protocol gives it, and the server
//! goes on serving.
//!
//! Two methods: a unary one (`SayHello`, one message exactly) and a streaming echo (the
//! fallback handler, every message back in order until the first error). A plain model of the
//! protocol says what each body must produce. `cargo test -p e2e fuzz` runs proptest's default
//! 256 cases per target; `scripts/fuzz.sh` runs more.

use std::io::Write as _;
use std::time::Duration;

use bytes::Bytes;
use e2e::helloworld::{HelloReply, HelloRequest};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_rpc::prost::Message;
use rust_rpc::{ResponseStream, Server};

use crate::support::{TestGreeter, greeter_client, hello, start_greeter_with};

/// The server's receive limit: small, so that over-limit frames are cheap to make.
const LIMIT: usize = 2048;

/// One piece of a request body.
#[derive(Clone, Debug)]
enum Piece {
    /// A message, framed as it should be; compressed with the body's encoding if `compressed`.
    Message { data: Vec<u8>, compressed: bool },
    /// A frame flagged compressed whose bytes are not gzip or zstd.
    Garbled(Vec<u8>),
    /// A frame with a flag other than 0 or 1.
    BadFlag(u8),
    /// A prefix announcing more than the limit (and a few bytes of it).
    Oversized(u32),
    /// A small compressed frame that inflates past the limit.
    Bomb,
    /// Bytes of no particular shape.
    Noise(Vec<u8>),
}

/// How the server must end a call on a body, by the protocol's rules.
#[derive(Debug, PartialEq)]
struct Expected {
    /// The messages read before the body went wrong, decompressed.
    messages: Vec<Vec<u8>>,
    /// `None` for a body that is all well-formed messages; else the status code of the first
    /// fault ("8" over a limit, "13" otherwise), if the model can tell it.
    fault: Option<&'static str>,
    /// The fault cannot be told without decoding noise: any error status will do.
    unknown: bool,
}

fn compress(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "zstd" => zstd::bulk::compress(data, 3).expect("compresses"),
        _ => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(data).expect("compresses");
            encoder.finish().expect("compresses")
        }
    }
}

fn put_frame(body: &mut Vec<u8>, flag: u8, data: &[u8]) {
    body.push(flag);
    body.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
    body.extend_from_slice(data);
}

/// The body the pieces make, and what the server must make of it. `encoding` is the request's
/// `grpc-encoding` (`None`: frames flagged compressed are a protocol error).
fn build(pieces: &[Piece], encoding: Option<&str>, cut_at: Option<usize>) -> (Vec<u8>, Expected) {
    let mut body = Vec::new();
    let mut expected = Expected { messages: Vec::new(), fault: None, unknown: false };
    let fault = |expected: &mut Expected, code| {
        if expected.fault.is_none() && !expected.unknown {
            expected.fault = Some(code);
        }
    };
    for piece in pieces {
        let faulty_before = expected.fault.is_some() || expected.unknown;
        match piece {
            Piece::Message { data, compressed } => match encoding.filter(|_| *compressed) {
                Some(encoding) => {
                    let packed = compress(encoding, data);
                    put_frame(&mut body, 1, &packed);
                    if packed.len() > LIMIT || data.len() > LIMIT {
                        fault(&mut expected, "8");
                    } else if !faulty_before {
                        expected.messages.push(data.clone());
                    }
                }
                None => {
                    put_frame(&mut body, 0, data);
                    if data.len() > LIMIT {
                        fault(&mut expected, "8");
                    } else if !faulty_before {
                        expected.messages.push(data.clone());
                    }
                }
            },
            Piece::Garbled(data) => {
                // Neither gzip's nor zstd's magic number: never decompresses.
                let data = [&b"no"[..], data].concat();
                put_frame(&mut body, 1, &data);
                fault(&mut expected, "13");
            }
            Piece::BadFlag(flag) => {
                put_frame(&mut body, *flag, b"\x0a\x01x");
                fault(&mut expected, "13");
            }
            Piece::Oversized(len) => {
                body.push(0);
                body.extend_from_slice(&len.to_be_bytes());
                body.extend_from_slice(b"some");
                fault(&mut expected, "8");
            }
            Piece::Bomb => {
                let packed = compress(encoding.unwrap_or("gzip"), &vec![b'a'; LIMIT * 8]);
                put_frame(&mut body, 1, &packed);
                fault(&mut expected, if encoding.is_some() { "8" } else { "13" });
            }
            Piece::Noise(data) => {
                body.extend_from_slice(data);
                if !faulty_before {
                    expected.unknown = true;
                }
            }
        }
    }
    if let Some(cut) = cut_at.filter(|&c| c < body.len()) {
        body.truncate(cut);
        // A cut body is re-read by the frame rules alone: what it ends in decides.
        expected = reread(&body, &expected, encoding);
    }
    (body, expected)
}

/// The expectation for a body cut short: the whole frames before the cut are read as before;
/// the frame the cut falls in is truncated (INTERNAL) unless an earlier fault came first.
fn reread(body: &[u8], whole: &Expected, encoding: Option<&str>) -> Expected {
    let mut rest = body;
    let mut complete = 0;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        if rest[0] > 1 || (rest[0] == 1 && encoding.is_none()) || len > LIMIT || rest.len() < 5 + len {
            break;
        }
        rest = &rest[5 + len..];
        complete += 1;
    }
    if whole.unknown {
        let messages = whole.messages.iter().take(complete).cloned().collect();
        return Expected { messages, fault: None, unknown: true };
    }
    if complete > whole.messages.len() {
        // A whole frame before the cut was the first fault: nothing changes.
        return Expected { messages: whole.messages.clone(), fault: whole.fault, unknown: false };
    }
    let messages = whole.messages.iter().take(complete).cloned().collect();
    let fault = match rest {
        // Cut between frames: a sound body of fewer messages.
        [] => None,
        [flag, ..] if *flag > 1 || (*flag == 1 && encoding.is_none()) => Some("13"),
        [_, a, b, c, d, ..] if u32::from_be_bytes([*a, *b, *c, *d]) as usize > LIMIT => Some("8"),
        // Ends inside a frame.
        _ => Some("13"),
    };
    Expected { messages, fault, unknown: false }
}

fn piece() -> impl Strategy<Value = Piece> {
    let message = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (0usize..LIMIT + 64).prop_map(|n| vec![b'z'; n]),
        "[a-z ]{0,40}".prop_map(|name| HelloRequest { name }.encode_to_vec()),
    ];
    prop_oneof![
        8 => (message, any::<bool>()).prop_map(|(data, compressed)| Piece::Message { data, compressed }),
        1 => proptest::collection::vec(any::<u8>(), 0..32).prop_map(Piece::Garbled),
        1 => (2u8..=255).prop_map(Piece::BadFlag),
        1 => ((LIMIT as u32 + 1)..=u32::MAX).prop_map(Piece::Oversized),
        1 => Just(Piece::Bomb),
        1 => proptest::collection::vec(any::<u8>(), 0..48).prop_map(Piece::Noise),
    ]
}

/// An answer: its HTTP status, the messages in its body, and its `grpc-status`.
#[derive(Debug)]
struct Answer {
    http: http::StatusCode,
    messages: Vec<Bytes>,
    grpc_status: Option<String>,
}

/// Sends `body` in chunks cut at `cuts` to `path` with `headers`, on a new connection.
async fn send(port: u16, path: &str, headers: &[(&str, &str)], body: Vec<u8>, cuts: &[usize]) -> Answer {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(body.len())).collect();
    ends.sort_unstable();
    ends.push(body.len());
    let body = Bytes::from(body);
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in ends {
        chunks.push(Ok::<_, std::convert::Infallible>(Frame::data(body.slice(start..end))));
        start = end;
    }
    let mut request = http::Request::post(format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(StreamBody::new(rust_rpc::stream::iter(chunks))).expect("request");
    let response = sender.send_request(request).await.expect("the server answers");
    let http = response.status();
    let head_status = response.headers().get("grpc-status").cloned();
    let collected = response.into_body().collect().await.expect("the answer's body");
    let grpc_status = head_status
        .as_ref()
        .or_else(|| collected.trailers().and_then(|t| t.get("grpc-status")))
        .map(|v| v.to_str().expect("ascii").to_owned());
    let mut data = collected.to_bytes();
    let mut messages = Vec::new();
    while data.len() >= 5 {
        assert_eq!(data[0], 0, "the server compresses nothing here");
        let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
        let frame = data.split_to(5 + len);
        messages.push(frame.slice(5..));
    }
    assert!(data.is_empty(), "the answer ends inside a frame");
    Answer { http, messages, grpc_status }
}

/// The server under fuzz: the greeter, and a fallback that echoes every message of any other
/// method; receive limit [`LIMIT`].
fn start() -> (Server, u16) {
    let server = Server::builder()
        .max_receive_message_length(LIMIT)
        .fallback(|requests, _context| async move { Ok(ResponseStream::new(requests)) })
        .build();
    start_greeter_with(server, TestGreeter::default())
}

fn headers(encoding: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    // A deadline bounds any call the fuzz might make wait; none should.
    let mut headers = vec![("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", "20S")];
    if let Some(encoding) = encoding {
        headers.push(("grpc-encoding", encoding));
    }
    headers
}

/// Counts the statuses seen, printed at the end (with `--nocapture`) so a run shows what it
/// exercised.
#[derive(Default)]
struct Tally(std::sync::Mutex<std::collections::BTreeMap<String, usize>>);

impl Tally {
    fn add(&self, status: Option<&str>, messages: usize) {
        let key = format!("status {} with {} messages", status.unwrap_or("none"), messages.min(3));
        *self.0.lock().expect("tally").entry(key).or_default() += 1;
    }

    fn print(&self, target: &str) {
        eprintln!("{target}: {:?}", self.0.lock().expect("tally"));
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config { failure_persistence: None, ..Config::default() })
}

type Case = (Vec<Piece>, Option<&'static str>, Option<usize>, Vec<usize>);

/// A body of up to `max_pieces - 1` pieces, its encoding, where it is cut short (if it is)
/// and where it is cut into DATA frames.
fn case(max_pieces: usize) -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(piece(), 0..max_pieces),
        prop_oneof![Just(None), Just(Some("gzip")), Just(Some("zstd"))],
        proptest::option::of(0usize..4000),
        proptest::collection::vec(0usize..4000, 0..4),
    )
}

/// The streaming echo answers every body with the messages read before its first fault, then
/// that fault's status (OK for a sound body), and the server goes on serving.
#[test]
fn fuzz_server_streaming_bodies() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_server, port) = runtime.block_on(async { start() });
    let tally = Tally::default();
    let result = runner().run(&case(5), |(pieces, encoding, cut, cuts)| {
        let (body, expected) = build(&pieces, encoding, cut);
        let answer = runtime.block_on(send(port, "/fuzz.Echo/Stream", &headers(encoding), body, &cuts));
        prop_assert_eq!(answer.http, http::StatusCode::OK);
        let status = answer.grpc_status.as_deref();
        tally.add(status, answer.messages.len());
        if expected.unknown {
            // Noise: some prefix of what the model read, then any status the protocol has.
            prop_assert!(matches!(status, Some("0" | "8" | "13")), "{:?}", status);
        } else {
            let got: Vec<Vec<u8>> = answer.messages.iter().map(|m| m.to_vec()).collect();
            prop_assert_eq!(&got, &expected.messages);
            prop_assert_eq!(status, Some(expected.fault.unwrap_or("0")));
        }
        Ok(())
    });
    tally.print("fuzz_server_streaming_bodies");
    if let Err(err) = result {
        panic!("{err}");
    }
    runtime.block_on(async {
        let reply = greeter_client(port).say_hello(hello("after")).await.expect("the server still serves");
        assert_eq!(reply.message, "Hello after");
    });
}

/// The unary method answers OK exactly when the body is one sound message that decodes,
/// RESOURCE_EXHAUSTED only for a body over the limit, INTERNAL otherwise.
#[test]
fn fuzz_server_unary_bodies() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_server, port) = runtime.block_on(async { start() });
    let tally = Tally::default();
    // Fewer pieces: one sound message, the only body it accepts, comes up often enough.
    let result = runner().run(&case(3), |(pieces, encoding, cut, cuts)| {
        let (body, expected) = build(&pieces, encoding, cut);
        let over_limit = pieces.iter().any(|p| match p {
            Piece::Oversized(_) | Piece::Bomb => true,
            Piece::Message { data, .. } => data.len() > LIMIT,
            _ => false,
        }) || expected.fault == Some("8");
        let answer = runtime.block_on(send(port, "/helloworld.Greeter/SayHello", &headers(encoding), body, &cuts));
        prop_assert_eq!(answer.http, http::StatusCode::OK);
        let status = answer.grpc_status.as_deref();
        tally.add(status, answer.messages.len());
        let sound_one = !expected.unknown && expected.fault.is_none() && expected.messages.len() == 1;
        match sound_one.then(|| HelloRequest::decode(&expected.messages[0][..]).ok()).flatten() {
            Some(request) => {
                prop_assert_eq!(status, Some("0"));
                prop_assert_eq!(answer.messages.len(), 1);
                let reply = HelloReply::decode(answer.messages[0].clone()).expect("a reply");
                prop_assert_eq!(reply.message, format!("Hello {}", request.name));
            }
            None if expected.unknown => prop_assert!(matches!(status, Some("0" | "8" | "13")), "{:?}", status),
            None if over_limit => prop_assert!(matches!(status, Some("8" | "13")), "{:?}", status),
            None => prop_assert_eq!(status, Some("13")),
        }
        Ok(())
    });
    tally.print("fuzz_server_unary_bodies");
    if let Err(err) = result {
        panic!("{err}");
    }
    runtime.block_on(async {
        let reply = greeter_client(port).say_hello(hello("after")).await.expect("the server still serves");
        assert_eq!(reply.message, "Hello after");
    });
}

/// Any bytes at all as a request body, cut anywhere, on both methods: an answer with a status,
/// never a hang or a dropped connection.
#[test]
fn fuzz_server_random_bytes() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (_server, port) = runtime.block_on(async { start() });
    let tally = Tally::default();
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec(0usize..256, 0..4),
        prop_oneof![Just(None), Just(Some("gzip")), Just(Some("zstd"))],
        any::<bool>(),
    );
    let result = runner().run(&strategy, |(body, cuts, encoding, unary)| {
        let path = if unary { "/helloworld.Greeter/SayHello" } else { "/fuzz.Echo/Stream" };
        let answer = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), send(port, path, &headers(encoding), body, &cuts))
                .await
                .expect("answered without hanging")
        });
        prop_assert_eq!(answer.http, http::StatusCode::OK);
        tally.add(answer.grpc_status.as_deref(), answer.messages.len());
        prop_assert!(matches!(answer.grpc_status.as_deref(), Some("0" | "8" | "13")), "{:?}", answer.grpc_status);
        Ok(())
    });
    tally.print("fuzz_server_random_bytes");
    if let Err(err) = result {
        panic!("{err}");
    }
    runtime.block_on(async {
        let reply = greeter_client(port).say_hello(hello("after")).await.expect("the server still serves");
        assert_eq!(reply.message, "Hello after");
    });
}
