//! gRPC's keepalive enforcement (gRFC A8) on the server, and the client's back-off when told
//! "too_many_pings": a raw client that PINGs too often gets GOAWAY `ENHANCE_YOUR_CALM`
//! "too_many_pings"; our channel, pinging too often, doubles its interval until the server
//! tolerates it. Each with a control run the policy lets through.

use std::time::Duration;

use rust_rpc::{ChannelBuilder, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::raw_h2::{END_HEADERS, ENHANCE_YOUR_CALM, GOAWAY, HEADERS, PING, Raw, frame, say_hello_headers};
use crate::support::{HANG_GUARD, TestGreeter, no_hang, start_greeter_with};

/// PINGs `count` times, each after the last one's ack; gives the frames the server sent before
/// the ack of each (the last may have no ack: the connection ended).
async fn ping(raw: &mut Raw, count: u8) -> Vec<Vec<crate::raw_h2::Frame>> {
    let mut rounds = Vec::new();
    for i in 0..count {
        rounds.push(raw.ping_round_trip([i; 8]).await);
        if rounds.last().is_some_and(|frames| frames.iter().any(|f| f.kind == GOAWAY)) {
            break;
        }
    }
    rounds
}

fn goaways(rounds: &[Vec<crate::raw_h2::Frame>]) -> Vec<(usize, (u32, u32, String))> {
    let mut found = Vec::new();
    for (round, frames) in rounds.iter().enumerate() {
        found.extend(frames.iter().filter(|f| f.kind == GOAWAY).map(|f| (round, f.goaway())));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pinging_too_often_gets_goaway_too_many_pings() {
    // The default policy: 5 minutes between PINGs, none without calls. The first PING is free,
    // the next three are strikes, and the third strike is one too many.
    let (_server, port) = start_greeter_with(Server::new(), TestGreeter::default());
    let mut raw = Raw::handshake(port).await;
    let rounds = ping(&mut raw, 10).await;
    let expected = vec![(3, (0, ENHANCE_YOUR_CALM, "too_many_pings".to_owned()))];
    assert_eq!(goaways(&rounds), expected, "{rounds:?}");
    assert!(raw.next().await.is_none(), "the connection closes after the GOAWAY");

    // A policy that allows PINGs at any rate: ten go through.
    let policy = Server::builder().keepalive_policy(Duration::ZERO, true).build();
    let (_server, port) = start_greeter_with(policy, TestGreeter::default());
    let mut raw = Raw::handshake(port).await;
    let rounds = ping(&mut raw, 10).await;
    assert_eq!((rounds.len(), goaways(&rounds)), (10, vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_without_calls_are_strikes_unless_permitted() {
    // Any interval is fine, but only while a call is open.
    let server = Server::builder().keepalive_policy(Duration::ZERO, false).build();
    let (_server, port) = start_greeter_with(server, TestGreeter::default());

    let mut idle = Raw::handshake(port).await;
    let rounds = ping(&mut idle, 10).await;
    assert_eq!(goaways(&rounds), vec![(3, (0, ENHANCE_YOUR_CALM, "too_many_pings".to_owned()))]);

    // With a call open (its request never ends), the same PINGs are fine.
    let mut busy = Raw::handshake(port).await;
    busy.send(&frame(HEADERS, END_HEADERS, 1, &say_hello_headers(port))).await;
    let rounds = ping(&mut busy, 10).await;
    assert_eq!((rounds.len(), goaways(&rounds)), (10, vec![]));
}

/// What a relay between a client and a server saw: a PING the client sent on its `n`th
/// connection, or a GOAWAY the server sent on it (with its debug data).
#[derive(Debug, PartialEq)]
enum Seen {
    Ping(usize),
    Goaway(usize, String),
}

/// Copies one direction of a connection, reporting PINGs (client to server) or GOAWAYs
/// (server to client) as it passes them on.
async fn pass_frames(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    connection: usize,
    client_side: bool,
    seen: UnboundedSender<Seen>,
) {
    if client_side {
        let mut preface = [0u8; 24];
        if from.read_exact(&mut preface).await.is_err() || to.write_all(&preface).await.is_err() {
            return;
        }
    }
    loop {
        let mut header = [0u8; 9];
        if from.read_exact(&mut header).await.is_err() {
            break;
        }
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0u8; length];
        if from.read_exact(&mut payload).await.is_err() {
            break;
        }
        match header[3] {
            PING if client_side && header[4] & 1 == 0 => drop(seen.send(Seen::Ping(connection))),
            GOAWAY if !client_side => {
                drop(seen.send(Seen::Goaway(connection, String::from_utf8_lossy(&payload[8..]).into_owned())))
            }
            _ => {}
        }
        if to.write_all(&header).await.is_err() || to.write_all(&payload).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A relay to `port`, numbering the connections through it; gives its port and what it sees.
async fn relay(port: u16) -> (u16, UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let relay_port = listener.local_addr().expect("addr").port();
    let (seen, events) = unbounded_channel();
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((client, _)) = listener.accept().await else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", port)).await else { return };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::spawn(pass_frames(client_read, server_write, connection, true, seen.clone()));
            tokio::spawn(pass_frames(server_read, client_write, connection, false, seen.clone()));
        }
    });
    (relay_port, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_channel_doubles_its_keepalive_interval_when_told_too_many_pings() {
    // The server wants 350 ms between PINGs; the channel starts at 100 ms. Its first two
    // connections are told too_many_pings; at 400 ms the third is left alone. (The server sees
    // a PING at least an interval after it acked the last one, so 400 ms is never too soon;
    // 200 ms is too soon unless the machine stalls for 150 ms at each of three PINGs.)
    let server = Server::builder().keepalive_policy(Duration::from_millis(350), true).build();
    let (_server, port) = start_greeter_with(server, TestGreeter::default());
    let (relay_port, mut seen) = relay(port).await;
    let channel = ChannelBuilder::new(format!("127.0.0.1:{relay_port}"))
        .keepalive(Duration::from_millis(100), HANG_GUARD)
        .build()
        .expect("channel");
    for connection in 0..2 {
        channel.ready(HANG_GUARD).await.expect("connects");
        loop {
            match no_hang("a PING or a GOAWAY", seen.recv()).await.expect("relay") {
                Seen::Ping(n) => assert_eq!(n, connection),
                Seen::Goaway(n, debug) => {
                    assert_eq!((n, debug.as_str()), (connection, "too_many_pings"));
                    break;
                }
            }
        }
        // The connection closes; the next `ready` makes a new one.
        no_hang("the told-off connection closes", async {
            while channel.is_connected() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }
    channel.ready(HANG_GUARD).await.expect("connects");
    // Five PINGs in a row without a GOAWAY: more than the three strikes allowed.
    for _ in 0..5 {
        assert_eq!(no_hang("a PING", seen.recv()).await.expect("relay"), Seen::Ping(2));
    }
    assert!(channel.is_connected());
}
