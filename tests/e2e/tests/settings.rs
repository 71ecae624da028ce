//! Server HTTP/2 settings that change behaviour on the wire: the concurrent-stream limit and
//! keepalive pings. Each test has a control run without the setting, so it cannot pass by
//! accident.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Result, Server, ServicerContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::support::{HANG_GUARD, no_hang};

/// Counts the calls in its handler at once, and the most seen. Every call but `first` reports
/// that it is in the handler, then stays there until it gets a permit from `release`.
#[derive(Clone)]
struct Counting {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    entered: UnboundedSender<()>,
    release: Arc<Semaphore>,
}

impl Counting {
    /// A counter, and the receiver of its handler's reports.
    fn new() -> (Counting, UnboundedReceiver<()>) {
        let (entered, reports) = unbounded_channel();
        let counting =
            Counting { now: Arc::default(), most: Arc::default(), entered, release: Arc::new(Semaphore::new(0)) };
        (counting, reports)
    }
}

impl GreeterServicer for Counting {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        if request.name != "first" {
            let _ = self.entered.send(());
            self.release.acquire().await.map_err(|_| rust_rpc::RpcError::internal("closed"))?.forget();
        }
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(HelloReply { message: request.name })
    }
}

/// How [`most_in_flight`] lets the calls out of the handler.
enum Release {
    /// Once all 4 are in at once (a server that queues them hangs, and the hang guard fails).
    AllTogether,
    /// Each as soon as it is in: a server that let the others in meanwhile shows in the count.
    OneByOne,
}

/// The most calls in the handler at once when 4 go out together on one connection.
async fn most_in_flight(server: Server, release: Release) -> usize {
    let (counting, mut entered) = Counting::new();
    add_greeter_servicer_to_server(counting.clone(), &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    // One call first, so the server's SETTINGS have reached the client before the burst.
    client.say_hello(HelloRequest { name: "first".into() }).await.expect("first call");
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.say_hello(HelloRequest { name: format!("{i}") }).await })
        })
        .collect();
    match release {
        Release::AllTogether => {
            for _ in 0..4 {
                no_hang("all four calls in the handler at once", entered.recv()).await;
            }
            counting.release.add_permits(4);
        }
        Release::OneByOne => {
            for _ in 0..4 {
                no_hang("the next call in the handler", entered.recv()).await;
                counting.release.add_permits(1);
            }
        }
    }
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.expect("task").expect("call").message, format!("{i}"));
    }
    server.stop(None).await;
    counting.most.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrent_streams_queues_calls_on_a_connection() {
    let most = most_in_flight(Server::new(), Release::AllTogether).await;
    assert_eq!(most, 4, "control: without a limit the calls overlap");
    let limited = Server::builder().max_concurrent_streams(1).build();
    assert_eq!(most_in_flight(limited, Release::OneByOne).await, 1, "the client waits for a free stream");
}

/// Opens an HTTP/2 connection by hand that answers nothing (no SETTINGS ack, no PING ack),
/// and tells whether the server closed it within `within`.
async fn server_closes_a_silent_peer(server: Server, within: Duration) -> bool {
    add_greeter_servicer_to_server(Counting::new().0, &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    // The client preface and an empty SETTINGS frame (length 0, type 4, flags 0, stream 0).
    socket.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.expect("preface");
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue, // SETTINGS, PINGs, GOAWAY: read and ignored
            }
        }
    })
    .await
    .is_ok();
    server.stop(None).await;
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_closes_connections_whose_peer_stops_answering_pings() {
    // The control watches for 2 s: nothing closes the connection, however loaded the machine.
    assert!(!server_closes_a_silent_peer(Server::new(), Duration::from_secs(2)).await, "control: no pings, no close");
    // With keepalive, the close must come (the wait is a hang guard, not a speed check).
    let pinging = Server::builder().keepalive(Duration::from_millis(100), Duration::from_millis(200)).build();
    assert!(server_closes_a_silent_peer(pinging, HANG_GUARD).await, "a peer that never acks a PING is dropped");
}
