//! A graceful stop that loses nothing: the GOAWAY sequence on the wire (a first GOAWAY, a PING,
//! the final GOAWAY with the last stream), every call accepted before the stop completing under
//! load, and calls the stopping server did not take retried on its successor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Code, Result, Server, ServicerContext};

use crate::raw_h2::{ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, Raw, frame, say_hello_headers};
use crate::support::{HANG_GUARD, TestGreeter, greeter_client, hello, no_hang, start_greeter};

/// HelloRequest { name: "hold" } as a gRPC message.
const HOLD_MESSAGE: &[u8] = &[0, 0, 0, 0, 6, 0x0a, 4, b'h', b'o', b'l', b'd'];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_goaway_then_ping_then_the_final_goaway_and_finishes_the_call() {
    let greeter = TestGreeter::default();
    let (server, port) = start_greeter(greeter.clone());
    let mut raw = Raw::handshake(port).await;
    raw.send(&frame(HEADERS, END_HEADERS, 1, &say_hello_headers(port))).await;
    raw.send(&frame(DATA, END_STREAM, 1, HOLD_MESSAGE)).await;
    no_hang("the handler starts", greeter.started.notified()).await;

    let stopping = tokio::spawn({
        let server = server.clone();
        async move { server.stop(Some(HANG_GUARD)).await }
    });
    let first = raw.until(|f| f.kind == GOAWAY).await.expect("a first GOAWAY");
    assert_eq!(first.goaway(), (0x7fff_ffff, 0, String::new()), "the first GOAWAY announces the stop");
    let ping = raw.until(|f| f.kind == PING && f.flags & ACK == 0).await.expect("a PING after it");
    raw.send(&frame(PING, ACK, 0, &ping.payload)).await;
    let last = raw.until(|f| f.kind == GOAWAY).await.expect("the final GOAWAY once the PING is acked");
    assert_eq!(last.goaway(), (1, 0, String::new()), "the final GOAWAY names the last stream taken");

    // The call accepted before the stop still completes: its answer ends the stream normally.
    greeter.release.add_permits(1);
    let end = raw.until(|f| f.stream == 1 && f.flags & END_STREAM != 0).await.expect("the call's end");
    assert_eq!(end.kind, HEADERS, "trailers end the call, not a reset");
    assert!(raw.next().await.is_none(), "the connection closes once its last call is done");
    no_hang("stop returns", stopping).await.expect("stop");
}

/// A slow greeter that counts the calls its handler took and finished.
#[derive(Clone, Default)]
struct Slow {
    taken: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    busy: Arc<tokio::sync::Notify>,
}

impl GreeterServicer for Slow {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        if self.taken.fetch_add(1, Ordering::SeqCst) + 1 == 20 {
            self.busy.notify_one();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(HelloReply { message: request.name })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_under_load_loses_no_accepted_call() {
    let slow = Slow::default();
    let server = Server::new();
    add_greeter_servicer_to_server(slow.clone(), &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");

    // 4 channels x 8 callers, each calling until a call fails.
    let mut callers = Vec::new();
    for _ in 0..4 {
        let client = greeter_client(port);
        for i in 0..8 {
            let client: GreeterClient = client.clone();
            callers.push(tokio::spawn(async move {
                let (mut ok, mut calls) = (0usize, 0usize);
                loop {
                    calls += 1;
                    match client.say_hello(hello(&format!("caller {i}"))).await {
                        Ok(_) => ok += 1,
                        Err(err) => return (ok, calls, err),
                    }
                }
            }));
        }
    }
    // Stop while calls are in the handler (20 taken so far) and more are on their way.
    no_hang("calls under way", slow.busy.notified()).await;
    no_hang("stop", server.stop(Some(HANG_GUARD))).await;

    let (mut ok, mut calls) = (0, 0);
    for caller in callers {
        let (caller_ok, caller_calls, err) = no_hang("a caller ends", caller).await.expect("caller");
        assert_eq!(err.code(), Code::Unavailable, "only refused calls fail: {err}");
        ok += caller_ok;
        calls += caller_calls;
    }
    let (taken, finished) = (slow.taken.load(Ordering::SeqCst), slow.finished.load(Ordering::SeqCst));
    // Every call a handler took ran to its end and reached its caller; every other call failed
    // UNAVAILABLE without reaching a handler.
    assert_eq!((taken, finished), (ok, ok), "{calls} calls");
    assert_eq!(calls - ok, 32, "each caller's last call was refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_a_stopping_server_does_not_take_go_to_its_successor() {
    let greeter = TestGreeter::default();
    let (old, port) = start_greeter(greeter.clone());
    let client = greeter_client(port);
    let held = tokio::spawn({
        let client = client.clone();
        async move { client.say_hello(hello("hold")).await }
    });
    no_hang("the held call starts", greeter.started.notified()).await;
    // The old server drains (its connection stays up for the held call) and a new one takes
    // over the port.
    let stopping = tokio::spawn({
        let old = old.clone();
        async move { old.stop(Some(HANG_GUARD)).await }
    });
    let new = Server::new();
    add_greeter_servicer_to_server(TestGreeter::default(), &new).expect("add");
    no_hang("the port is free again", async {
        while new.add_insecure_port(&format!("127.0.0.1:{port}")).is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    new.start().expect("start");
    // New calls are never lost: the old connection refuses them before sending, and they are
    // retried on a new connection to the new server.
    for i in 0..5 {
        let reply = client.say_hello(hello(&format!("new {i}"))).await.expect("a call during the takeover");
        assert_eq!(reply.message, format!("Hello new {i}"));
    }
    greeter.release.add_permits(1);
    assert_eq!(no_hang("the held call", held).await.expect("task").expect("completes").message, "Hello hold");
    no_hang("the old server stops", stopping).await.expect("stop");
    new.stop(None).await;
}
