//! Unary load for the runtime benchmark, the same for rust-rpc and plain tonic 0.14:
//!
//! `rpc-bench server --impl rust-rpc|tonic --port P` serves helloworld.Greeter.
//! `rpc-bench load --impl rust-rpc|tonic --port P --connections C --concurrency K --seconds S`
//! runs K calls in flight on each of C connections for S seconds (after a 1 s warm-up) and
//! prints one line: `calls=N secs=S rps=R p50_us=A p99_us=B p999_us=C`.
//!
//! `rpc-bench idle --impl rust-rpc|tonic --port P --connections C --seconds S` opens C
//! connections (one call each, so they are really established) and holds them idle for S
//! seconds, for measuring the server's memory per connection.
//!
//! Each side runs a one-worker Tokio runtime; `scripts/bench-runtime.py` pins them to cores.

use std::time::{Duration, Instant};

use benches::{ours, tonic_hello};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == &format!("--{name}")).and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Ours;

impl ours::GreeterServicer for Ours {
    async fn say_hello(
        &self,
        request: ours::HelloRequest,
        _context: rust_rpc::ServicerContext,
    ) -> rust_rpc::Result<ours::HelloReply> {
        Ok(ours::HelloReply { message: format!("Hello {}", request.name) })
    }
}

struct Tonic;

#[tonic::async_trait]
impl tonic_hello::greeter_server::Greeter for Tonic {
    async fn say_hello(
        &self,
        request: tonic::Request<tonic_hello::HelloRequest>,
    ) -> Result<tonic::Response<tonic_hello::HelloReply>, tonic::Status> {
        Ok(tonic::Response::new(tonic_hello::HelloReply { message: format!("Hello {}", request.into_inner().name) }))
    }
}

async fn serve(implementation: &str, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    match implementation {
        "rust-rpc" => {
            let server = rust_rpc::Server::new();
            ours::add_greeter_servicer_to_server(Ours, &server)?;
            server.add_insecure_port(&format!("127.0.0.1:{port}"))?;
            server.start()?;
            println!("listening on {port}");
            server.wait_for_termination(None).await;
        }
        "tonic" => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            println!("listening on {port}");
            tonic::transport::Server::builder()
                .add_service(tonic_hello::greeter_server::GreeterServer::new(Tonic))
                .serve_with_incoming(
                    // TCP_NODELAY as tonic's own `serve(addr)` sets it (and rust-rpc, and grpc-go).
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                )
                .await?;
        }
        other => return Err(format!("unknown --impl {other}").into()),
    }
    Ok(())
}

/// Runs calls back to back until `until`, returning each call's latency in microseconds.
async fn caller(implementation: String, channel: Channels, until: Instant, warm_until: Instant) -> Vec<u32> {
    let mut latencies = Vec::with_capacity(1 << 16);
    loop {
        let start = Instant::now();
        if start >= until {
            return latencies;
        }
        let ok = match (&channel, implementation.as_str()) {
            (Channels::Ours(client), _) => client.say_hello(ours::HelloRequest { name: "world".into() }).await.is_ok(),
            (Channels::Tonic(client), _) => {
                let mut client = client.clone();
                client.say_hello(tonic_hello::HelloRequest { name: "world".into() }).await.is_ok()
            }
        };
        if !ok {
            eprintln!("a call failed");
            std::process::exit(1);
        }
        if start >= warm_until {
            latencies.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
    }
}

#[derive(Clone)]
enum Channels {
    Ours(ours::GreeterClient),
    Tonic(tonic_hello::greeter_client::GreeterClient<tonic::transport::Channel>),
}

async fn load(implementation: &str, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let connections = num("connections", 1);
    let concurrency = num("concurrency", 1);
    let seconds = num("seconds", 5);
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(match implementation {
            "rust-rpc" => {
                let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?;
                channel.ready(Duration::from_secs(5)).await?;
                Channels::Ours(ours::GreeterClient::new(channel))
            }
            "tonic" => Channels::Tonic(
                tonic_hello::greeter_client::GreeterClient::connect(format!("http://127.0.0.1:{port}")).await?,
            ),
            other => return Err(format!("unknown --impl {other}").into()),
        });
    }
    let warm_until = Instant::now() + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client in &clients {
        for _ in 0..concurrency {
            tasks.push(tokio::spawn(caller(implementation.to_owned(), client.clone(), until, warm_until)));
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
        latencies.len() as f64 / seconds as f64,
        at(0.50),
        at(0.99),
        at(0.999)
    );
    Ok(())
}

/// Opens `--connections` connections, makes one call on each, then holds them for `--seconds`.
async fn idle(implementation: &str, port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let mut held = Vec::new();
    for _ in 0..num("connections", 1000) {
        let client = match implementation {
            "rust-rpc" => {
                let client = ours::GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
                client.say_hello(ours::HelloRequest { name: "idle".into() }).await?;
                Channels::Ours(client)
            }
            "tonic" => {
                let mut client =
                    tonic_hello::greeter_client::GreeterClient::connect(format!("http://127.0.0.1:{port}")).await?;
                client.say_hello(tonic_hello::HelloRequest { name: "idle".into() }).await?;
                Channels::Tonic(client)
            }
            other => return Err(format!("unknown --impl {other}").into()),
        };
        held.push(client);
    }
    println!("holding {} connections", held.len());
    tokio::time::sleep(Duration::from_secs(num("seconds", 5))).await;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let mode = std::env::args().nth(1).unwrap_or_default();
    let implementation = arg("impl").unwrap_or_else(|| "rust-rpc".into());
    let port = num("port", 50100) as u16;
    runtime.block_on(async {
        match mode.as_str() {
            "server" => serve(&implementation, port).await,
            "load" => load(&implementation, port).await,
            "idle" => idle(&implementation, port).await,
            _ => Err("usage: rpc-bench server|load|idle --impl rust-rpc|tonic --port P [...]".into()),
        }
    })
}
