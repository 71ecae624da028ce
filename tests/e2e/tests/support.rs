//! Shared helpers: servers on 127.0.0.1 port 0, clients for them, and slow handlers.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Metadata, Result, RpcError, Server, ServicerContext};
use tokio::sync::{Notify, Semaphore};

/// A greeter whose behaviour depends on the name it is sent:
/// `sleep:<ms>` sleeps first, `hold` waits for a permit from [`TestGreeter::release`] first,
/// `fail:<code>` fails with that code, `echo-md` echoes metadata, `echo-ua` answers with the
/// request's `user-agent`.
#[derive(Clone)]
pub struct TestGreeter {
    /// Notified when a slow or held handler observes that its call ended (cancelled, or done).
    pub cancelled: Arc<Notify>,
    /// Notified when a slow or held handler starts.
    pub started: Arc<Notify>,
    /// Set when a `sleep:<ms>` handler slept its time out, so a test can tell a handler that
    /// was cut off from one that ran to its end.
    pub slept_out: Arc<AtomicBool>,
    /// Each `hold` handler takes one permit before it answers; the test adds them.
    pub release: Arc<Semaphore>,
}

impl Default for TestGreeter {
    fn default() -> Self {
        TestGreeter {
            cancelled: Arc::default(),
            started: Arc::default(),
            slept_out: Arc::default(),
            release: Arc::new(Semaphore::new(0)),
        }
    }
}

impl TestGreeter {
    /// Signals that a slow or held handler started, and later that its call ended.
    fn starting(&self, context: &ServicerContext) {
        self.started.notify_one();
        let watcher = context.clone();
        let cancelled = self.cancelled.clone();
        tokio::spawn(async move {
            watcher.cancelled().await;
            cancelled.notify_one();
        });
    }

    /// Whether a `sleep:<ms>` handler slept its time out.
    pub fn slept_out(&self) -> bool {
        self.slept_out.load(Ordering::SeqCst)
    }
}

impl GreeterServicer for TestGreeter {
    async fn say_hello(&self, request: HelloRequest, context: ServicerContext) -> Result<HelloReply> {
        if let Some(ms) = request.name.strip_prefix("sleep:") {
            let ms: u64 = ms.parse().map_err(|_| RpcError::invalid_argument("bad sleep"))?;
            self.starting(&context);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.slept_out.store(true, Ordering::SeqCst);
        }
        if request.name == "hold" {
            self.starting(&context);
            self.release.acquire().await.map_err(|_| RpcError::internal("released for good"))?.forget();
        }
        if let Some(code) = request.name.strip_prefix("fail:") {
            let code: i32 = code.parse().map_err(|_| RpcError::invalid_argument("bad code"))?;
            let mut trailers = Metadata::new();
            trailers.insert("x-why", "asked to fail")?;
            return Err(RpcError::new(rust_rpc::Code::from_i32(code), "failed as asked \u{263A}\nline two")
                .with_metadata(trailers));
        }
        if request.name == "echo-md" {
            let incoming = context.invocation_metadata();
            let mut initial = Metadata::new();
            initial.insert("x-initial", incoming.get("x-ascii").unwrap_or("missing"))?;
            context.set_initial_metadata(initial);
            let mut trailing = Metadata::new();
            trailing.insert_bin("x-trailing-bin", incoming.get_bin("x-blob-bin").unwrap_or_default())?;
            context.set_trailing_metadata(trailing);
        }
        if request.name == "echo-ua" {
            let agent = context.invocation_metadata().get("user-agent").unwrap_or("missing").to_owned();
            return Ok(HelloReply { message: agent });
        }
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

/// A started server with `greeter` on 127.0.0.1, and its port.
pub fn start_greeter(greeter: TestGreeter) -> (Server, u16) {
    start_greeter_with(Server::new(), greeter)
}

/// Like [`start_greeter`] on a configured server.
pub fn start_greeter_with(server: Server, greeter: TestGreeter) -> (Server, u16) {
    add_greeter_servicer_to_server(greeter, &server).expect("add service");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

/// A client for the greeter on `port`.
pub fn greeter_client(port: u16) -> GreeterClient {
    GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

/// A request with this name.
pub fn hello(name: &str) -> HelloRequest {
    HelloRequest { name: name.to_owned() }
}

/// A port nothing listens on.
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// How long a test waits for something that must happen before it calls it a hang. A hang
/// guard, not a speed check: generous enough for a loaded 2-core machine, and only there so a
/// broken build fails with a message instead of hanging the test run.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test with `what` if it has not finished within [`HANG_GUARD`].
pub async fn no_hang<T>(what: &str, future: impl IntoFuture<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(output) => output,
        Err(_) => panic!("hung for {HANG_GUARD:?}: {what}"),
    }
}

/// Checks `done` every `every` until it holds, failing the test with `what` if that takes
/// longer than [`HANG_GUARD`].
pub async fn poll_until(what: &str, every: Duration, mut done: impl FnMut() -> bool) {
    no_hang(what, async {
        while !done() {
            tokio::time::sleep(every).await;
        }
    })
    .await;
}

/// Workers calling `say_hello(name)` back to back, one call in flight each, until stopped: the
/// load the replica-killing tests put on a channel.
pub struct Load {
    stop: Arc<Notify>,
    workers: Vec<tokio::task::JoinHandle<(usize, Vec<RpcError>)>>,
}

impl Load {
    pub fn start(client: &GreeterClient, workers: usize, name: &'static str) -> Load {
        let stop = Arc::new(Notify::new());
        let workers = (0..workers)
            .map(|_| {
                let (client, stop) = (client.clone(), stop.clone());
                tokio::spawn(async move {
                    let (mut ok, mut failed) = (0usize, Vec::new());
                    let stopped = stop.notified();
                    tokio::pin!(stopped);
                    loop {
                        tokio::select! {
                            _ = &mut stopped => return (ok, failed),
                            answer = client.say_hello(hello(name)) => match answer {
                                Ok(_) => ok += 1,
                                Err(error) => failed.push(error),
                            },
                        }
                    }
                })
            })
            .collect();
        Load { stop, workers }
    }

    /// Stops the workers: how many calls succeeded, and the failures.
    pub async fn stop(self) -> (usize, Vec<RpcError>) {
        self.stop.notify_waiters();
        let (mut succeeded, mut failures) = (0, Vec::new());
        for worker in self.workers {
            let (ok, failed) = worker.await.expect("worker");
            succeeded += ok;
            failures.extend(failed);
        }
        (succeeded, failures)
    }
}

/// A test CA, a server certificate it signed, and a client certificate it signed, as PEM (and
/// the client's DER, for comparing with what a server sees).
pub struct Pki {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
    pub client_der: Vec<u8>,
}

/// A fresh [`Pki`]: a server certificate for `server_name`, and a client certificate made from
/// `client` (its names, SANs and subject), both signed by a new CA.
pub fn pki(server_name: &str, client: rcgen::CertificateParams) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server = rcgen::CertificateParams::new(vec![server_name.to_owned()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    let client_key = rcgen::KeyPair::generate().expect("key");
    let client = client.signed_by(&client_key, &issuer).expect("client cert");
    Pki {
        ca: ca_cert.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        client_der: client.der().to_vec(),
    }
}
