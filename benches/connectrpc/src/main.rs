//! helloworld.Greeter on connectrpc 0.9 (gRPC protocol), with rpc-bench's command line, so
//! `scripts/bench-runtime.py` can put it beside rust-rpc and tonic:
//!
//! `connect-bench server --port P` serves helloworld.Greeter on 127.0.0.1.
//! `connect-bench load --port P --connections C --concurrency K --seconds S [--warmup-ms W]`
//! runs K calls in flight on each of C connections for S seconds (fractions allowed) after a
//! W ms warm-up (default 1000) and prints `calls=N secs=S rps=R p50_us=A p99_us=B p999_us=C`.
//!
//! Both run a one-worker Tokio runtime, as rpc-bench does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectrpc::client::{ClientConfig, Http2Connection, SharedHttp2Connection};
use connectrpc::{Protocol, RequestContext, Response, Router, ServiceRequest, ServiceResult};

mod proto {
    connectrpc::include_generated!();
}

use proto::helloworld::{Greeter, GreeterClient, HelloReply, HelloRequest};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == &format!("--{name}")).and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Hello;

// The trait allows any `Encodable<HelloReply>`; this handler returns the message itself.
#[allow(refining_impl_trait)]
impl Greeter for Hello {
    async fn say_hello(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, HelloRequest>,
    ) -> ServiceResult<HelloReply> {
        Response::ok(HelloReply { message: format!("Hello {}", request.name), ..Default::default() })
    }
}

async fn serve(port: u16) -> Result<(), Error> {
    let router = Router::new().add_service(Arc::new(Hello));
    let bound = connectrpc::Server::bind(("127.0.0.1", port)).await?;
    println!("listening on {port}");
    bound.serve(router).await
}

async fn caller(client: Arc<GreeterClient<SharedHttp2Connection>>, until: Instant, warm_until: Instant) -> Vec<u32> {
    let mut latencies = Vec::with_capacity(1 << 16);
    loop {
        let start = Instant::now();
        if start >= until {
            return latencies;
        }
        if let Err(err) = client.say_hello(HelloRequest { name: "world".into(), ..Default::default() }).await {
            eprintln!("a call failed: {err}");
            std::process::exit(1);
        }
        if start >= warm_until {
            latencies.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
    }
}

async fn load(port: u16) -> Result<(), Error> {
    let connections = num("connections", 1);
    let concurrency = num("concurrency", 1);
    let seconds: f64 = arg("seconds").and_then(|v| v.parse().ok()).unwrap_or(5.0);
    let uri: http::Uri = format!("http://127.0.0.1:{port}").parse()?;
    let mut clients = Vec::new();
    for _ in 0..connections {
        let connection = Http2Connection::connect_plaintext(uri.clone()).await?.shared(1024);
        let config = ClientConfig::new(uri.clone()).with_protocol(Protocol::Grpc);
        clients.push(Arc::new(GreeterClient::new(connection, config)));
    }
    let warm_until = Instant::now() + Duration::from_millis(num("warmup-ms", 1000));
    let until = warm_until + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for client in &clients {
        for _ in 0..concurrency {
            tasks.push(tokio::spawn(caller(client.clone(), until, warm_until)));
        }
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "calls={} secs={seconds} rps={:.0} p50_us={} p99_us={} p999_us={}",
        latencies.len(),
        latencies.len() as f64 / seconds,
        at(0.50),
        at(0.99),
        at(0.999)
    );
    Ok(())
}

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let mode = std::env::args().nth(1).unwrap_or_default();
    let port = num("port", 50100) as u16;
    runtime.block_on(async {
        match mode.as_str() {
            "server" => serve(port).await,
            "load" => load(port).await,
            _ => Err("usage: connect-bench server|load --port P [...]".into()),
        }
    })
}
