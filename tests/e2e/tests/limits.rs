//! The server's connection limits (README, "Server limits"), each hit by a client that
//! misbehaves on purpose, with a control run under a setting that lets the same client through,
//! so no test passes by accident.

use std::time::Duration;

use rust_rpc::{ChannelBuilder, Code, Server, ServerCredentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::raw_h2::{
    CANCEL, END_HEADERS, ENHANCE_YOUR_CALM, GOAWAY, HEADERS, PREFACE, REFUSED_STREAM, RST_STREAM, Raw, frame,
    header_block, say_hello_headers,
};
use crate::support::{TestGreeter, greeter_client, hello, no_hang, start_greeter_with};

/// Reads what the server sends until it closes the connection.
async fn read_to_end(socket: &mut tokio::net::TcpStream) {
    let mut sink = Vec::new();
    // An error (a reset) is an end too.
    let _ = no_hang("the server closes the connection", socket.read_to_end(&mut sink)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_handshake_are_closed_after_the_handshake_timeout() {
    let pki = crate::support::pki("localhost", rcgen::CertificateParams::new(vec!["client".to_owned()]).expect("cert"));
    let server = Server::builder().handshake_timeout(Duration::from_millis(300)).build();
    let tls_port = server
        .add_secure_port("127.0.0.1:0", ServerCredentials::new(pki.server_cert.clone(), pki.server_key.clone()))
        .expect("tls port");
    let (_server, port) = start_greeter_with(server, TestGreeter::default());

    // A well-behaved connection made first: its handshake is done, so the timeout is not its.
    let mut good = Raw::handshake(port).await;
    // Plain TCP that sends nothing, and TLS that never says hello: each closed.
    for port in [port, tls_port] {
        let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        read_to_end(&mut silent).await;
    }
    // A preface trickled a byte every 100 ms (2.4 s in all) is cut off long before its end.
    let trickle = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut reading, mut writing) = trickle.into_split();
    let closed = tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = reading.read_to_end(&mut sink).await;
    });
    let mut sent = 0;
    for byte in PREFACE {
        if closed.is_finished() || writing.write_all(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    no_hang("the trickling connection is closed", closed).await.expect("reader");
    assert!(sent < PREFACE.len(), "the whole preface went through before the server gave up");

    // The connection that did its handshake in time still works, after every deadline passed.
    let before_ack = good.ping_round_trip(*b"still ok").await;
    assert!(before_ack.iter().all(|f| f.kind != GOAWAY), "{before_ack:?}");
    greeter_client(port).say_hello(hello("after")).await.expect("the server still serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_the_concurrent_stream_limit_are_refused() {
    for (limit, refused) in [(Some(1), true), (None, false)] {
        let mut builder = Server::builder();
        if let Some(limit) = limit {
            builder = builder.max_concurrent_streams(limit);
        }
        let (_server, port) = start_greeter_with(builder.build(), TestGreeter::default());
        let mut raw = Raw::handshake(port).await;
        // Two calls whose requests never end: both stay open. The client ignores the limit the
        // server's SETTINGS announce, as an attacker would.
        let headers = say_hello_headers(port);
        raw.send(&frame(HEADERS, END_HEADERS, 1, &headers)).await;
        raw.send(&frame(HEADERS, END_HEADERS, 3, &headers)).await;
        let seen = raw.ping_round_trip(*b"streams?").await;
        let reset = seen.iter().find(|f| f.kind == RST_STREAM && f.stream == 3);
        assert_eq!(reset.map(|f| f.reset_code()), refused.then_some(REFUSED_STREAM), "limit {limit:?}: {seen:?}");
        assert!(seen.iter().all(|f| f.stream != 1 && f.kind != GOAWAY), "the first stream lives on: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_lists_over_the_limit_are_refused_with_http_431() {
    let metadata = "m".repeat(20 * 1024);
    for (limit, accepted) in [(None, false), (Some(64 * 1024), true)] {
        let mut builder = Server::builder();
        if let Some(limit) = limit {
            builder = builder.max_header_list_size(limit);
        }
        let (_server, port) = start_greeter_with(builder.build(), TestGreeter::default());
        let client = greeter_client(port);
        let outcome = client.say_hello(hello("big")).add_metadata("x-big", &metadata).expect("metadata").await;
        match (outcome, accepted) {
            (Ok(reply), true) => assert_eq!(reply.message, "Hello big"),
            (Err(err), false) => {
                // gRPC maps HTTP 431 to UNKNOWN; the message names the status.
                assert_eq!(err.code(), Code::Unknown, "{err}");
                assert!(err.details().contains("431"), "{err}");
            }
            (outcome, _) => panic!("limit {limit:?}: {:?}", outcome.map(|r| r.message)),
        }
        // Small headers still pass on the same channel.
        client.say_hello(hello("small")).await.expect("small metadata");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_is_answered_with_goaway_enhance_your_calm() {
    for (limit, goaway) in [(None, true), (Some(1000), false)] {
        let mut builder = Server::builder();
        if let Some(limit) = limit {
            builder = builder.max_pending_accept_reset_streams(limit);
        }
        let (_server, port) = start_greeter_with(builder.build(), TestGreeter::default());
        let mut raw = Raw::handshake(port).await;
        // 100 streams opened and cancelled at once, in one write (CVE-2023-44487).
        let headers = say_hello_headers(port);
        let mut burst = Vec::new();
        for stream in (1..200).step_by(2) {
            burst.extend(frame(HEADERS, END_HEADERS, stream, &headers));
            burst.extend(frame(RST_STREAM, 0, stream, &CANCEL.to_be_bytes()));
        }
        raw.send(&burst).await;
        let seen = raw.ping_round_trip(*b"burst ok").await;
        let calm = seen.iter().find(|f| f.kind == GOAWAY).map(|f| f.goaway().1);
        assert_eq!(calm, goaway.then_some(ENHANCE_YOUR_CALM), "limit {limit:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_the_server_must_reset_for_errors_are_limited() {
    for (limit, goaway) in [(Some(5), true), (None, false)] {
        let mut builder = Server::builder();
        if let Some(limit) = limit {
            builder = builder.max_local_error_reset_streams(limit);
        }
        let (_server, port) = start_greeter_with(builder.build(), TestGreeter::default());
        let mut raw = Raw::handshake(port).await;
        // Requests with a connection-specific header, which HTTP/2 forbids (RFC 9113, 8.2.2):
        // each a stream error the server resets.
        let mut fields = vec![(":method", "POST"), (":scheme", "http"), (":path", "/helloworld.Greeter/SayHello")];
        fields.push(("connection", "keep-alive"));
        let malformed = header_block(&fields);
        for stream in (1..20).step_by(2) {
            raw.send(&frame(HEADERS, END_HEADERS, stream, &malformed)).await;
        }
        let seen = raw.ping_round_trip(*b"errors!!").await;
        let calm = seen.iter().find(|f| f.kind == GOAWAY).map(|f| f.goaway().1);
        assert_eq!(calm, goaway.then_some(ENHANCE_YOUR_CALM), "limit {limit:?}: {seen:?}");
        if !goaway {
            // Each of the ten streams was reset (some resets may follow the PING's ack).
            let mut resets = seen.iter().filter(|f| f.kind == RST_STREAM).count();
            while resets < 10 {
                let frame = raw.until(|f| f.kind == RST_STREAM || f.kind == GOAWAY).await.expect("a reset");
                assert_eq!(frame.kind, RST_STREAM, "{frame:?}");
                resets += 1;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_closed_and_their_calls_unavailable() {
    let (_server, port) = start_greeter_with(Server::builder().max_connections(1).build(), TestGreeter::default());
    let target = format!("127.0.0.1:{port}");
    let first = ChannelBuilder::new(&target).build().expect("channel");
    let first_client = e2e::helloworld::GreeterClient::new(first.clone());
    first_client.say_hello(hello("first")).await.expect("the first connection");

    let second = e2e::helloworld::GreeterClient::new(ChannelBuilder::new(&target).build().expect("channel"));
    let err = second.say_hello(hello("second")).await.expect_err("over the limit");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    // The first connection is unaffected.
    first_client.say_hello(hello("first again")).await.expect("the first connection still serves");

    // Once the first connection closes its slot is free again (the server notices the close
    // a moment later: the second client retries until then).
    first.close();
    no_hang("a slot frees up", async {
        loop {
            match second.say_hello(hello("second")).await {
                Ok(reply) => break assert_eq!(reply.message, "Hello second"),
                Err(err) => {
                    assert_eq!(err.code(), Code::Unavailable, "{err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    })
    .await;
}
