//! Where a server runs its calls (`runtime/src/server/inline.rs`): in the task of their
//! connection when they answer at once; in tasks of their own from their first wait, and for
//! the 63 calls after one whose first poll took longer than the server's `inline_call_limit`;
//! and a panic in a call's first poll (here in a tower layer, outside the handler's own catch)
//! ends that call, not the connection.
//! Told apart by the handler's `tokio::task::id()`: the calls of one channel share one
//! connection, so calls run in its task show one id, calls in tasks of their own each another.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{HttpService, Server, ServicerContext};
use tokio::task::Id;
use tower::Service;

use crate::support::{greeter_client, hello, no_hang};

/// Records the task each call ran in. `busy:MS` computes for MS milliseconds without waiting
/// (and counts how many such calls run at once); `wait` waits a millisecond first, and reports
/// the task it ran in before and after its wait.
#[derive(Default)]
struct Seen {
    seen: Mutex<Vec<Id>>,
    busy_now: AtomicUsize,
    busy_most: AtomicUsize,
}

#[derive(Clone, Default)]
struct Tasks(Arc<Seen>);

impl std::ops::Deref for Tasks {
    type Target = Seen;
    fn deref(&self) -> &Seen {
        &self.0
    }
}

impl GreeterServicer for Tasks {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> rust_rpc::Result<HelloReply> {
        let first = tokio::task::id();
        if let Some(ms) = request.name.strip_prefix("busy:") {
            let now = self.busy_now.fetch_add(1, Ordering::SeqCst) + 1;
            self.busy_most.fetch_max(now, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_millis(ms.parse().expect("busy:MS"));
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            self.busy_now.fetch_sub(1, Ordering::SeqCst);
        }
        if request.name == "wait" {
            tokio::time::sleep(Duration::from_millis(1)).await;
            self.seen.lock().expect("lock").push(first);
        }
        self.seen.lock().expect("lock").push(tokio::task::id());
        Ok(HelloReply { message: "ok".to_owned() })
    }
}

/// Runs `test` with a client (on a single-threaded runtime of its own, so that it writes each
/// request's headers and message together) of a server with this limit, on a runtime of two
/// workers. The server has a tower layer that panics, outside the handler and so outside the
/// handler's own catch, on a request with `x-panic`.
fn with_server(limit: Duration, test: impl AsyncFnOnce(GreeterClient, Tasks)) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let tasks = Tasks::default();
    let server = {
        let _in = runtime.enter();
        let panics = tower::layer::layer_fn(|inner| PanicOnHeader { inner });
        let server = Server::builder().inline_call_limit(limit).layer(panics).build();
        add_greeter_servicer_to_server(tasks.clone(), &server).expect("add service");
        server
    };
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    runtime.block_on(async { server.start() }).expect("start");
    let client_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    client_runtime.block_on(test(greeter_client(port), tasks));
    drop(client_runtime);
    runtime.block_on(server.stop(None));
}

/// The layer: `inner`, except that a request with `x-panic` panics in the call's future.
#[derive(Clone)]
struct PanicOnHeader {
    inner: HttpService,
}

impl Service<http::Request<hyper::body::Incoming>> for PanicOnHeader {
    type Response = <HttpService as Service<http::Request<hyper::body::Incoming>>>::Response;
    type Error = tower::BoxError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, tower::BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), tower::BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let panics = request.headers().contains_key("x-panic");
        let call = self.inner.call(request);
        Box::pin(async move {
            if panics {
                panic!("a layer panicked");
            }
            call.await
        })
    }
}

/// Makes one call after another, each answered.
async fn calls(client: &GreeterClient, name: &str, count: usize) {
    for _ in 0..count {
        no_hang("call", client.say_hello(hello(name))).await.expect("call");
    }
}

/// The tasks seen since the last look.
fn take(tasks: &Seen) -> Vec<Id> {
    std::mem::take(&mut *tasks.seen.lock().expect("lock"))
}

fn distinct(ids: &[Id]) -> usize {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    ids.len()
}

#[test]
fn calls_that_answer_at_once_run_in_their_connections_task() {
    // A limit no short call reaches, even on a loaded machine: this tests where calls run.
    with_server(Duration::from_secs(1), async |client, tasks| {
        calls(&client, "quick", 20).await;
        let quick = take(&tasks);
        assert_eq!((quick.len(), distinct(&quick)), (20, 1), "20 calls, all in the connection's task: {quick:?}");
        let connection = quick[0];

        // A call that waits is the connection's until its wait, then a task of its own; the calls
        // after it are the connection's again.
        calls(&client, "wait", 1).await;
        let wait = take(&tasks);
        assert_eq!(wait[0], connection, "before its wait, the call ran in the connection's task");
        assert_ne!(wait[1], connection, "after its wait, in a task of its own");
        calls(&client, "quick", 5).await;
        assert_eq!(take(&tasks), vec![connection; 5]);
    });
}

#[test]
fn a_panic_in_a_calls_first_poll_ends_that_call_alone() {
    with_server(Duration::from_secs(1), async |client, tasks| {
        calls(&client, "quick", 2).await;
        let connection = take(&tasks)[0];
        let mut metadata = rust_rpc::Metadata::new();
        metadata.insert("x-panic", "yes").expect("valid");
        let failed = no_hang("panicking call", client.say_hello(hello("quick")).metadata(metadata)).await;
        assert!(failed.is_err(), "the call whose layer panicked fails: {failed:?}");
        // The connection's task went on: the next calls run in it, on the same connection.
        calls(&client, "quick", 3).await;
        assert_eq!(take(&tasks), vec![connection; 3], "the same connection, in the same task");
    });
}

#[test]
fn a_zero_limit_gives_every_call_a_task() {
    with_server(Duration::ZERO, async |client, tasks| {
        calls(&client, "quick", 20).await;
        let seen = take(&tasks);
        assert_eq!((seen.len(), distinct(&seen)), (20, 20), "a task per call: {seen:?}");
    });
}

#[test]
fn after_a_call_that_computes_the_next_63_get_tasks_that_run_side_by_side() {
    with_server(Duration::from_millis(2), async |client, tasks| {
        calls(&client, "quick", 1).await;
        let connection = take(&tasks)[0];
        // 10 ms of computing in the connection's task: past the limit.
        calls(&client, "busy:10", 1).await;
        assert_eq!(take(&tasks), vec![connection], "the first busy call ran in the connection's task");

        // The next calls go to tasks of their own, where the runtime's two workers can run two
        // at once: four busy calls together overlap.
        let together: Vec<_> = (0..4)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.say_hello(hello("busy:50")).await })
            })
            .collect();
        for call in together {
            no_hang("busy call", call).await.expect("task").expect("busy call");
        }
        let busy = take(&tasks);
        assert_eq!(distinct(&busy), 4, "a task each: {busy:?}");
        assert!(!busy.contains(&connection), "none in the connection's task: {busy:?}");
        assert!(tasks.busy_most.load(Ordering::SeqCst) >= 2, "two busy calls ran at the same time");

        // 59 more calls make 63 in tasks; the 64th is tried in the connection's task again.
        calls(&client, "quick", 59).await;
        let spawned = take(&tasks);
        assert_eq!(distinct(&spawned), 59, "a task each");
        assert!(!spawned.contains(&connection));
        calls(&client, "quick", 3).await;
        assert_eq!(take(&tasks), vec![connection; 3], "back in the connection's task");
    });
}
