//! Client keepalive: a channel whose server stops answering PINGs drops the connection and fails
//! the call in flight with UNAVAILABLE. With a control run without keepalive, so the test cannot
//! pass by accident.

use std::time::Duration;

use e2e::helloworld::{GreeterClient, HelloRequest};
use rust_rpc::{ChannelBuilder, Code};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{HANG_GUARD, no_hang};

/// HTTP/2 frame types (RFC 9113, 6).
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;

/// A "server" that completes the HTTP/2 handshake (sends its SETTINGS and acks the client's)
/// and then answers nothing: no response to requests, no PING acks. Returns its port and a
/// receiver of what it saw: `true` for each PING, then the channel closes when the client
/// closes the connection.
async fn silent_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (seen, events) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else { return };
        let mut preface = [0u8; 24];
        if socket.read_exact(&mut preface).await.is_err() {
            return;
        }
        // Our SETTINGS (empty), then frame by frame: ack the client's SETTINGS, note PINGs.
        if socket.write_all(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]).await.is_err() {
            return;
        }
        loop {
            let mut header = [0u8; 9];
            if socket.read_exact(&mut header).await.is_err() {
                return; // the client closed the connection: `seen` drops
            }
            let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
            let mut payload = vec![0u8; length];
            if socket.read_exact(&mut payload).await.is_err() {
                return;
            }
            let ack = header[4] & 0x1 != 0;
            if header[3] == PING && !ack {
                let _ = seen.send(true);
            }
            if header[3] == SETTINGS && !ack && socket.write_all(&[0, 0, 0, SETTINGS, 0x1, 0, 0, 0, 0]).await.is_err() {
                return;
            }
        }
    });
    (port, events)
}

/// Makes one call against a silent server and gives how it ended, if within `within`, and the
/// PINGs the server saw before the client closed the connection.
async fn call_a_silent_server(keepalive: Option<(Duration, Duration)>, within: Duration) -> Option<(Code, usize)> {
    let (port, mut events) = silent_server().await;
    let mut builder = ChannelBuilder::new(format!("127.0.0.1:{port}"));
    if let Some((interval, timeout)) = keepalive {
        builder = builder.keepalive(interval, timeout);
    }
    let channel = builder.build().expect("channel");
    channel.ready(HANG_GUARD).await.expect("the handshake completes");
    let client = GreeterClient::new(channel.clone());
    let outcome = tokio::time::timeout(within, client.say_hello(HelloRequest { name: "anyone?".into() })).await;
    let code = match outcome {
        Ok(Ok(_)) => panic!("the silent server cannot answer"),
        Ok(Err(err)) => err.code(),
        Err(_) => return None,
    };
    assert!(!channel.is_connected(), "the dead connection is dropped");
    // The events end when the server task sees the socket close.
    let mut pings = 0;
    while no_hang("the client closes the dead connection", events.recv()).await.is_some() {
        pings += 1;
    }
    Some((code, pings))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_keepalive_drops_a_connection_whose_peer_stops_answering_pings() {
    // The control watches for 800 ms: nothing ends the call, however loaded the machine.
    assert_eq!(call_a_silent_server(None, Duration::from_millis(800)).await, None, "control: no pings, the call hangs");
    // With keepalive, the call must end (the wait is a hang guard, not a speed check).
    let (code, pings) =
        call_a_silent_server(Some((Duration::from_millis(100), Duration::from_millis(200))), HANG_GUARD)
            .await
            .expect("the call fails once a PING goes unanswered");
    assert_eq!(code, Code::Unavailable);
    assert_eq!(pings, 1, "one PING, unanswered, then the connection is closed");
}
