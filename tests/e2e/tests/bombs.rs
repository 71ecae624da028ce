//! Decompression bombs: small gzip and zstd messages that inflate to 1 GiB, sent to a server
//! with the default 4 MiB receive limit. Each call fails RESOURCE_EXHAUSTED, as gRPC
//! specifies, and the server stops inflating at the limit: the process's peak resident memory
//! (`VmHWM`) grows by a few times the limit at most, never by the gigabyte. A test binary of its
//! own, so no other test's memory counts.
//!
//! The bombs are made by hand, without compressing a gigabyte: gzip as one deflated MiB of
//! zeros repeated 1024 times (each copy refers only to the zeros before it), zstd as 8192
//! run-length blocks of 128 KiB. Smaller bombs made the same way are first decompressed whole
//! by flate2 and zstd, which shows the construction is sound.

use std::time::Instant;

use bytes::Bytes;
use e2e::helloworld::add_greeter_servicer_to_server;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

const MIB: usize = 1 << 20;

/// The raw deflate of one MiB of zeros, ending on a byte boundary and not final, so that copies
/// of it can follow one another (each starts with a literal zero, then copies of the byte before).
fn deflated_mib() -> Vec<u8> {
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    let mut out = Vec::with_capacity(8 * 1024);
    deflate.compress_vec(&vec![0u8; MIB], &mut out, flate2::FlushCompress::Full).expect("deflates");
    assert_eq!(deflate.total_in(), MIB as u64, "all in");
    out
}

/// A gzip member of `mib` MiB of zeros: header, `mib` copies of the deflated MiB, an empty
/// final block, then the CRC-32 and length of the whole.
fn gzip_bomb(mib: usize) -> Vec<u8> {
    let block = deflated_mib();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    // BFINAL=1, fixed Huffman, end-of-block: ten bits.
    out.extend_from_slice(&[0x03, 0x00]);
    let mut one = flate2::Crc::new();
    one.update(&vec![0u8; MIB]);
    let mut crc = flate2::Crc::new();
    for _ in 0..mib {
        crc.combine(&one);
    }
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&((mib * MIB) as u32).to_le_bytes());
    out
}

/// A zstd frame of `blocks` run-length blocks of 128 KiB of zeros, declaring a window of
/// 2^`window_log` bytes and no content size.
fn zstd_bomb(blocks: usize, window_log: u8) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Frame header descriptor: no content size, not single-segment, no checksum, no dictionary.
    out.push(0);
    // Window descriptor: exponent (log - 10), mantissa 0.
    out.push((window_log - 10) << 3);
    for i in 0..blocks {
        let last = u32::from(i + 1 == blocks);
        let header = (128 * 1024u32) << 3 | 1 << 1 | last;
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.push(0);
    }
    out
}

/// The process's peak resident memory, from `/proc/self/status`.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    let kib: usize = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number");
    kib * 1024
}

/// Sends `message` as one frame flagged compressed, with `grpc-encoding: encoding`, to `path`;
/// gives the `grpc-status` and `grpc-message`.
async fn send(port: u16, path: &'static str, encoding: &'static str, message: Bytes) -> (Option<String>, String) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut body = vec![1];
    body.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    body.extend_from_slice(&message);
    let request = http::Request::post(format!("http://127.0.0.1:{port}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-encoding", encoding)
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let response = sender.send_request(request).await.expect("answered");
    let head = response.headers().clone();
    let collected = response.into_body().collect().await.expect("body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let get = |name: &str| head.get(name).or_else(|| trailers.get(name)).map(|v| v.to_str().expect("ascii").to_owned());
    (get("grpc-status"), get("grpc-message").unwrap_or_default())
}

#[test]
fn the_bombs_are_what_they_claim_to_be() {
    use std::io::Read as _;
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&gzip_bomb(3)[..]).read_to_end(&mut inflated).expect("a sound gzip member");
    assert!(inflated.len() == 3 * MIB && inflated.iter().all(|&b| b == 0), "{} bytes", inflated.len());
    for window_log in [17, 27] {
        let inflated = zstd::stream::decode_all(&zstd_bomb(20, window_log)[..]).expect("a sound zstd frame");
        assert!(inflated.len() == 20 * 128 * 1024 && inflated.iter().all(|&b| b == 0), "{} bytes", inflated.len());
    }
}

#[test]
fn gigabyte_bombs_stop_at_the_receive_limit_with_resource_exhausted() {
    let gzip = Bytes::from(gzip_bomb(1024));
    let zstd = Bytes::from(zstd_bomb(8192, 17));
    // The largest window zstd decodes by default: the decoder sets it up, but only what is
    // inflated before the limit is written to.
    let zstd_wide = Bytes::from(zstd_bomb(8192, 27));
    eprintln!("gzip bomb {} bytes, zstd bombs {} bytes, for 1 GiB each", gzip.len(), zstd.len());

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = rust_rpc::Server::builder()
        .fallback(|requests, _context| async move { Ok(rust_rpc::ResponseStream::new(requests)) })
        .build();
    let port = runtime.block_on(async {
        add_greeter_servicer_to_server(crate_greeter::Greeter, &server).expect("add service");
        let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
        server.start().expect("start");
        port
    });

    let before = peak_rss();
    let started = Instant::now();
    runtime.block_on(async {
        for (encoding, bomb) in [("gzip", gzip), ("zstd", zstd), ("zstd", zstd_wide)] {
            for path in ["/helloworld.Greeter/SayHello", "/bombs.Any/Stream"] {
                // Four at once, as a peer would send them.
                let calls: Vec<_> = (0..4).map(|_| tokio::spawn(send(port, path, encoding, bomb.clone()))).collect();
                for call in calls {
                    let (status, message) = call.await.expect("the call's task");
                    assert_eq!(status.as_deref(), Some("8"), "{encoding} to {path}: {message}");
                    assert!(message.contains("decompresses to more than"), "{encoding} to {path}: {message}");
                }
            }
        }
    });
    let grown = peak_rss().saturating_sub(before);
    eprintln!("24 bombs of 1 GiB refused in {:?}; peak resident memory grew by {} MiB", started.elapsed(), grown / MIB);
    // Four calls at a time, each holding at most about twice the 4 MiB limit while it inflates:
    // well under 128 MiB, and nothing near the gigabyte one bomb would take.
    assert!(grown < 128 * MIB, "peak resident memory grew by {} MiB", grown / MIB);

    let reply = runtime.block_on(async {
        let client = e2e::helloworld::GreeterClient::new(
            rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"),
        );
        client.say_hello(e2e::helloworld::HelloRequest { name: "after".into() }).await
    });
    assert_eq!(reply.expect("the server still serves").message, "Hello after");
}

/// The plainest greeter: the bombs never reach it.
mod crate_greeter {
    use e2e::helloworld::{GreeterServicer, HelloReply, HelloRequest};
    use rust_rpc::{Result, ServicerContext};

    pub(crate) struct Greeter;

    impl GreeterServicer for Greeter {
        async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
            Ok(HelloReply { message: format!("Hello {}", request.name) })
        }
    }
}
