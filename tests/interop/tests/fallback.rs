//! A grpcio client (`peers/python/fallback_client.py`, generic multicallables on raw bytes)
//! calls methods that no service of a rust-rpc server defines: its fallback handler answers
//! them, with metadata, streams and an error status as for any method.

use std::time::Duration;

use rust_rpc::bytes::Bytes;
use rust_rpc::stream::StreamExt;
use rust_rpc::{Metadata, ResponseStream, RpcError, Server};
use test_support::{Peer, repo};

const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// Every message back, prefixed with the method's path; `x-seen` in the trailers repeats the
/// request's `x-tag`; `/dynamic.Anything/Fail` fails with NOT_FOUND.
fn fallback_server() -> Server {
    Server::builder()
        .fallback(|requests, context| async move {
            let method = context.method().to_owned();
            if method == "/dynamic.Anything/Fail" {
                return Err(RpcError::not_found(format!("nothing serves {method}")));
            }
            let mut trailing = Metadata::new();
            trailing.insert("x-seen", context.invocation_metadata().get("x-tag").unwrap_or("no tag"))?;
            context.set_trailing_metadata(trailing);
            Ok(ResponseStream::new(
                requests
                    .map(move |message| message.map(|bytes| Bytes::from([method.as_bytes(), b":", &bytes].concat()))),
            ))
        })
        .build()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_calls_methods_only_the_fallback_handler_serves() {
    let server = fallback_server();
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");

    let output = tokio::task::spawn_blocking(move || {
        let script = repo().join("tests/interop/peers/python/fallback_client.py");
        Peer::python(script, ["--port".to_owned(), port.to_string()], PEER_TIMEOUT).output()
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    let lines: Vec<&str> = output.lines().collect();
    let echo = hex(b"/dynamic.Anything/Echo:\x00raw\xff");
    let chat = [hex(b"/dynamic.Anything/Chat:a"), hex(b"/dynamic.Anything/Chat:bc")].join(",");
    assert_eq!(
        lines,
        [
            format!("unary {echo} py"),
            format!("chat {chat}"),
            "fail NOT_FOUND nothing serves /dynamic.Anything/Fail".to_owned()
        ],
        "{output}"
    );
    server.stop(None).await;
}
