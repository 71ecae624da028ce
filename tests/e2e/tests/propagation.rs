//! Deadline and cancellation propagation: client -> server A -> server B, all rust-rpc on
//! loopback. A's handler calls B with `.propagate(&context)` (or without, for the controls);
//! B reports the deadline it received and how its call ended.

use std::time::{Duration, Instant};

use e2e::helloworld::{
    GreeterBlockingClient, GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server,
};
use rust_rpc::{CallOptions, Code, RpcError, Server, ServicerContext};
use tokio::sync::mpsc;

use crate::support::{greeter_client, hello, no_hang};

/// What B saw of one call.
#[derive(Debug)]
enum Seen {
    /// The call arrived, with this much time left before its deadline (`None`: no deadline).
    Arrived(Option<Duration>),
    /// The call ended; `true` if cancelled.
    Ended(bool),
}

/// Server B: `report` answers at once; `wait` waits until its call ends. Every call reports
/// its arrival and its end.
struct Backend(mpsc::UnboundedSender<Seen>);

impl GreeterServicer for Backend {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> rust_rpc::Result<HelloReply> {
        let _ = self.0.send(Seen::Arrived(context.time_remaining()));
        let ended = self.0.clone();
        context.add_callback(move |cancelled| {
            let _ = ended.send(Seen::Ended(cancelled));
        });
        if request.name == "wait" {
            std::future::pending::<()>().await;
        }
        Ok(HelloReply { message: "from B".to_owned() })
    }
}

/// Server A: `fwd:NAME` calls B with NAME, propagating (with a long timeout of its own, so the
/// deadline B sees can only be the client's); `plain:NAME` calls B without propagation;
/// `spawn:NAME` makes the propagated call in a task of its own, which outlives the handler and
/// reports how the call ended on `outcomes`.
struct Frontend {
    backend: GreeterClient,
    outcomes: mpsc::UnboundedSender<Result<String, Code>>,
}

impl GreeterServicer for Frontend {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> rust_rpc::Result<HelloReply> {
        let (how, name) = request.name.split_once(':').unwrap_or(("", ""));
        let call = self.backend.say_hello(hello(name));
        match how {
            "fwd" => call.timeout(Duration::from_secs(600)).propagate(&context).await,
            "plain" => call.await,
            "spawn" => {
                let outcomes = self.outcomes.clone();
                let call = call.propagate(&context);
                let task = tokio::spawn(async move {
                    let result = call.await;
                    let _ = outcomes.send(result.as_ref().map(|r| r.message.clone()).map_err(RpcError::code));
                    result
                });
                task.await.map_err(|e| RpcError::internal(e.to_string()))?
            }
            _ => Err(RpcError::invalid_argument("fwd:, plain: or spawn:")),
        }
    }
}

struct Chain {
    _servers: (Server, Server),
    client: GreeterClient,
    seen: mpsc::UnboundedReceiver<Seen>,
    outcomes: mpsc::UnboundedReceiver<Result<String, Code>>,
}

fn start_chain() -> Chain {
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let b = Server::new();
    add_greeter_servicer_to_server(Backend(seen_tx), &b).expect("add B");
    let b_port = b.add_insecure_port("127.0.0.1:0").expect("bind B");
    b.start().expect("start B");

    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let a = Server::new();
    add_greeter_servicer_to_server(Frontend { backend: greeter_client(b_port), outcomes: outcomes_tx }, &a)
        .expect("add A");
    let a_port = a.add_insecure_port("127.0.0.1:0").expect("bind A");
    a.start().expect("start A");
    Chain { _servers: (a, b), client: greeter_client(a_port), seen, outcomes }
}

async fn next(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    no_hang("B reports", seen.recv()).await.expect("B is running")
}

#[tokio::test]
async fn the_clients_deadline_reaches_b_through_a() {
    let mut chain = start_chain();
    let timeout = Duration::from_secs(5);
    let reply = chain.client.say_hello(hello("fwd:report")).timeout(timeout).await.expect("call");
    assert_eq!(reply.message, "from B");
    match next(&mut chain.seen).await {
        Seen::Arrived(Some(remaining)) => {
            assert!(
                remaining <= timeout,
                "B's deadline ({remaining:?} left) is no later than the client's ({timeout:?})"
            )
        }
        other => panic!("B saw no deadline: {other:?}"),
    }
    assert!(matches!(next(&mut chain.seen).await, Seen::Ended(false)), "B's call finished");

    // A propagated context without a deadline leaves the call's own (A's 600 s) alone.
    let reply = chain.client.say_hello(hello("fwd:report")).await.expect("call");
    assert_eq!(reply.message, "from B");
    match next(&mut chain.seen).await {
        Seen::Arrived(Some(remaining)) => assert!(remaining > timeout, "A's own timeout: {remaining:?}"),
        other => panic!("B saw no deadline: {other:?}"),
    }
}

#[tokio::test]
async fn without_propagation_b_sees_no_deadline() {
    let mut chain = start_chain();
    chain.client.say_hello(hello("plain:report")).timeout(Duration::from_secs(5)).await.expect("call");
    assert!(matches!(next(&mut chain.seen).await, Seen::Arrived(None)), "no deadline without propagation");
}

#[tokio::test]
async fn the_incoming_deadline_ends_the_outgoing_call_then() {
    let mut chain = start_chain();
    let err = chain.client.say_hello(hello("spawn:wait")).timeout(Duration::from_millis(300)).await.expect_err("late");
    assert_eq!(err.code(), Code::DeadlineExceeded);
    // A's handler was dropped at its deadline; the task it spawned saw its own call to B end
    // at the same deadline. Usually with DEADLINE_EXCEEDED; but A's deadline is the client's
    // plus the request's transit (grpc-timeout is relative), so when that transit was slow (a
    // loaded machine) the client's RST_STREAM, sent at its own deadline, can reach A first, and
    // a cancelled incoming call cancels the outgoing one (CANCELLED, as in grpc-go). Either
    // way it ends then, not later.
    let outcome = no_hang("A's outgoing call ends", chain.outcomes.recv()).await.expect("A's task");
    assert!(matches!(outcome, Err(Code::DeadlineExceeded | Code::Cancelled)), "{outcome:?}");
    assert!(matches!(next(&mut chain.seen).await, Seen::Arrived(Some(_))));
    assert!(matches!(next(&mut chain.seen).await, Seen::Ended(true)), "B's call was cancelled");
}

#[tokio::test]
async fn cancelling_the_client_call_cancels_the_call_to_b() {
    let mut chain = start_chain();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let call = chain.client.say_hello(hello("spawn:wait")).cancel_on(async move {
        let _ = cancelled.await;
    });
    let call = tokio::spawn(std::future::IntoFuture::into_future(call));
    assert!(matches!(next(&mut chain.seen).await, Seen::Arrived(None)), "no deadline anywhere");
    drop(cancel);
    assert_eq!(call.await.expect("task").expect_err("cancelled").code(), Code::Cancelled);
    // The call to B runs in a task of A's own, which the handler's end does not drop: only
    // propagation cancels it.
    let outcome = no_hang("A's outgoing call ends", chain.outcomes.recv()).await.expect("A's task");
    assert_eq!(outcome, Err(Code::Cancelled));
    assert!(matches!(next(&mut chain.seen).await, Seen::Ended(true)), "B's handler saw the cancellation");
}

#[tokio::test]
async fn call_options_propagate_too_and_the_earlier_deadline_wins() {
    // A's own timeout shorter than the client's: B sees A's.
    let client_deadline = Instant::now() + Duration::from_secs(600);
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let b = Server::new();
    add_greeter_servicer_to_server(Backend(seen_tx), &b).expect("add B");
    let b_port = b.add_insecure_port("127.0.0.1:0").expect("bind B");
    b.start().expect("start B");

    struct Short(GreeterClient);
    impl GreeterServicer for Short {
        async fn say_hello(&self, _: HelloRequest, context: ServicerContext) -> rust_rpc::Result<HelloReply> {
            let options = CallOptions::new().timeout(Duration::from_secs(2)).propagate(&context);
            self.0.say_hello(hello("report")).options(options).await
        }
    }
    let a = Server::new();
    add_greeter_servicer_to_server(Short(greeter_client(b_port)), &a).expect("add A");
    let a_port = a.add_insecure_port("127.0.0.1:0").expect("bind A");
    a.start().expect("start A");
    greeter_client(a_port).say_hello(hello("x")).deadline(client_deadline).await.expect("call");
    match no_hang("B reports", seen.recv()).await {
        Some(Seen::Arrived(Some(remaining))) => assert!(remaining <= Duration::from_secs(2), "{remaining:?}"),
        other => panic!("B saw no deadline: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_client_propagates_through_its_options() {
    // A handler whose backend call runs on a plain thread, with a blocking client.
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let b = Server::new();
    add_greeter_servicer_to_server(Backend(seen_tx), &b).expect("add B");
    let b_port = b.add_insecure_port("127.0.0.1:0").expect("bind B");
    b.start().expect("start B");

    struct Blocking(u16);
    impl GreeterServicer for Blocking {
        async fn say_hello(&self, _: HelloRequest, context: ServicerContext) -> rust_rpc::Result<HelloReply> {
            let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{}", self.0)).expect("channel");
            let client = GreeterBlockingClient::new(channel).with_options(CallOptions::new().propagate(&context));
            let (reply, replied) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || reply.send(client.say_hello(hello("report"))));
            replied.await.map_err(|_| RpcError::internal("the thread went"))?
        }
    }
    let a = Server::new();
    add_greeter_servicer_to_server(Blocking(b_port), &a).expect("add A");
    let a_port = a.add_insecure_port("127.0.0.1:0").expect("bind A");
    a.start().expect("start A");
    let timeout = Duration::from_secs(5);
    greeter_client(a_port).say_hello(hello("x")).timeout(timeout).await.expect("call");
    match no_hang("B reports", seen.recv()).await {
        Some(Seen::Arrived(Some(remaining))) => assert!(remaining <= timeout, "{remaining:?}"),
        other => panic!("B saw no deadline: {other:?}"),
    }
}
