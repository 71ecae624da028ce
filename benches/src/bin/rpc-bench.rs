//! Load for the runtime benchmark, the same for rust-rpc and plain tonic 0.14:
//!
//! `rpc-bench server --impl rust-rpc|tonic --port P [--service greeter|bench] [--max-message B]
//! [--gzip]` serves helloworld.Greeter (default) or bench.Bench (`protos/bench.proto`).
//! `--max-message` raises the receive and send message-size limits to B bytes (default: the
//! library's, 4 MiB received). `--gzip` compresses bench.Bench's responses with gzip (for
//! clients that accept it).
//!
//! `rpc-bench load --impl rust-rpc|tonic --port P [--scenario S] --connections C
//! --concurrency K --seconds S [--warmup-ms W] [--size N] [--max-message B] [--gzip]` runs K calls (or
//! streams) in flight on each of C connections for S seconds (fractions allowed) after a warm-up
//! of W ms (default 1000), and prints one line:
//! `calls=N secs=S rps=R p50_us=A p99_us=B p999_us=C mbps=M`. Scenarios:
//! - `unary` (default): Greeter.SayHello back to back; `calls` are calls, latencies per call.
//! - `echo`: Bench.Echo with N payload bytes each way (the large-message scenario).
//! - `stream`: one Bench.ServerStream per task, N-byte messages; `calls` are messages
//!   received, latencies the gaps between them. The stream is cancelled at the end.
//! - `pingpong`: one Bench.PingPong per task, one N-byte message in flight: send one, wait for
//!   its echo; `calls` are round trips, latencies per round trip.
//!
//! With `--impl rust-rpc`, `--target T` connects to channel target T instead of
//! `127.0.0.1:P` (e.g. `ipv4:127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`) and `--lb round_robin`
//! spreads each channel's calls over the target's addresses (default `pick_first`): the load
//! balancing figure of BENCHMARKS.md, one channel against three servers.
//!
//! `mbps` is payload bytes per second each way, in 10^6 bytes (0 for `unary`). `--gzip`
//! compresses bench.Bench requests with gzip and accepts gzip responses.
//!
//! `rpc-bench idle --impl rust-rpc|tonic --port P --connections C --seconds S` opens C
//! connections (one call each, so they are really established) and holds them idle for S
//! seconds, for measuring the server's memory per connection.
//!
//! `rpc-bench same-process --transport memory|tcp [--scenario S --concurrency K --seconds S
//! --size N ...]` serves both services with rust-rpc and runs the load against them in this one
//! process (a two-worker runtime), through an in-process channel or loopback TCP, and prints
//! the same line: the in-process channel against TCP with nothing else different.
//!
//! Each side runs a one-worker Tokio runtime; `scripts/bench-runtime.py` pins them to cores.
//!
//! Built with `--features telemetry`, `RPC_BENCH_TELEMETRY=tracing` registers
//! `rust_rpc::telemetry::Tracing` on the rust-rpc server and channel (under a
//! `tracing_subscriber` registry at INFO that keeps the spans and prints nothing), and
//! `RPC_BENCH_TELEMETRY=metrics` registers `Metrics` on an OpenTelemetry SDK meter provider with
//! a reader that exports once a minute (recorded, not exported during a measurement).

use std::error::Error;
use std::time::{Duration, Instant};

use benches::{ours, ours_bench, tonic_bench, tonic_hello};
use prost::bytes::Bytes;
use tokio_stream::wrappers::ReceiverStream;

/// Errors from load tasks, which cross `tokio::spawn`.
type TaskError = Box<dyn Error + Send + Sync>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == &format!("--{name}")).and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn float(name: &str, default: f64) -> f64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `--gzip`: bench.Bench messages compressed with gzip both ways.
fn gzip() -> bool {
    // Read once: the echo loop asks on every call.
    static GZIP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *GZIP.get_or_init(|| std::env::args().any(|a| a == "--gzip"))
}

/// The telemetry `RPC_BENCH_TELEMETRY` asks for, as a server and a channel builder's interceptor.
#[cfg(feature = "telemetry")]
mod telemetry {
    use std::sync::OnceLock;

    /// `tracing` or `metrics`, or nothing.
    fn which() -> Option<String> {
        std::env::var("RPC_BENCH_TELEMETRY").ok().filter(|v| !v.is_empty())
    }

    fn meter_provider() -> &'static opentelemetry_sdk::metrics::SdkMeterProvider {
        static PROVIDER: OnceLock<opentelemetry_sdk::metrics::SdkMeterProvider> = OnceLock::new();
        PROVIDER.get_or_init(|| {
            opentelemetry_sdk::metrics::SdkMeterProvider::builder()
                // Exports every 60 s: never during a measurement.
                .with_reader(
                    opentelemetry_sdk::metrics::PeriodicReader::builder(
                        opentelemetry_sdk::metrics::InMemoryMetricExporter::default(),
                    )
                    .build(),
                )
                .build()
        })
    }

    /// A subscriber that keeps spans (the registry) at INFO and above and prints nothing, for
    /// the whole process. The level filter matters: without it h2's and hyper's own TRACE spans
    /// and events are made too, which was most of the cost measured.
    fn install_subscriber() {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let _ = tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::INFO).try_init();
        });
    }

    pub(crate) fn server(builder: rust_rpc::ServerBuilder) -> rust_rpc::ServerBuilder {
        match which().as_deref() {
            Some("tracing") => {
                install_subscriber();
                builder.interceptor(rust_rpc::telemetry::Tracing::new())
            }
            Some("metrics") => builder.interceptor(rust_rpc::telemetry::Metrics::new(meter_provider())),
            _ => builder,
        }
    }

    pub(crate) fn channel(builder: rust_rpc::ChannelBuilder) -> rust_rpc::ChannelBuilder {
        match which().as_deref() {
            Some("tracing") => {
                install_subscriber();
                builder.interceptor(rust_rpc::telemetry::Tracing::new())
            }
            Some("metrics") => builder.interceptor(rust_rpc::telemetry::Metrics::new(meter_provider())),
            _ => builder,
        }
    }
}

#[cfg(not(feature = "telemetry"))]
mod telemetry {
    pub(crate) fn server(builder: rust_rpc::ServerBuilder) -> rust_rpc::ServerBuilder {
        builder
    }

    pub(crate) fn channel(builder: rust_rpc::ChannelBuilder) -> rust_rpc::ChannelBuilder {
        builder
    }
}

/// `--max-message`, if given: the message-size limit both ways, for servers and clients.
fn max_message() -> Option<usize> {
    arg("max-message").and_then(|v| v.parse().ok())
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

// bench.Bench, the same algorithm on both sides: Echo returns the decoded request as it is;
// ServerStream builds its message once per call and sends clones (a `Bytes` clone is a
// reference count); PingPong returns the request stream itself as the response stream.

struct OursBench;

impl ours_bench::BenchServicer for OursBench {
    async fn echo(
        &self,
        request: ours_bench::Payload,
        _context: rust_rpc::ServicerContext,
    ) -> rust_rpc::Result<ours_bench::Payload> {
        Ok(request)
    }

    async fn server_stream(
        &self,
        request: ours_bench::StreamRequest,
        _context: rust_rpc::ServicerContext,
    ) -> rust_rpc::Result<rust_rpc::ResponseStream<ours_bench::Payload>> {
        let message = ours_bench::Payload { data: Bytes::from(vec![0; request.size as usize]) };
        Ok(rust_rpc::ResponseStream::iter(std::iter::repeat_n(message, request.count as usize)))
    }

    async fn ping_pong(
        &self,
        requests: rust_rpc::RequestStream<ours_bench::Payload>,
        _context: rust_rpc::ServicerContext,
    ) -> rust_rpc::Result<rust_rpc::ResponseStream<ours_bench::Payload>> {
        Ok(rust_rpc::ResponseStream::new(requests))
    }
}

struct TonicBench;

type TonicStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<tonic_bench::Payload, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl tonic_bench::bench_server::Bench for TonicBench {
    async fn echo(
        &self,
        request: tonic::Request<tonic_bench::Payload>,
    ) -> Result<tonic::Response<tonic_bench::Payload>, tonic::Status> {
        Ok(tonic::Response::new(request.into_inner()))
    }

    type ServerStreamStream = TonicStream;

    async fn server_stream(
        &self,
        request: tonic::Request<tonic_bench::StreamRequest>,
    ) -> Result<tonic::Response<TonicStream>, tonic::Status> {
        let request = request.into_inner();
        let message = tonic_bench::Payload { data: Bytes::from(vec![0; request.size as usize]) };
        let messages = std::iter::repeat_n(message, request.count as usize).map(Ok);
        Ok(tonic::Response::new(Box::pin(tokio_stream::iter(messages))))
    }

    type PingPongStream = tonic::Streaming<tonic_bench::Payload>;

    async fn ping_pong(
        &self,
        request: tonic::Request<tonic::Streaming<tonic_bench::Payload>>,
    ) -> Result<tonic::Response<Self::PingPongStream>, tonic::Status> {
        Ok(tonic::Response::new(request.into_inner()))
    }
}

async fn serve(implementation: &str, port: u16) -> Result<(), Box<dyn Error>> {
    let service = arg("service").unwrap_or_else(|| "greeter".into());
    let limit = max_message();
    match implementation {
        "rust-rpc" => {
            let mut builder = rust_rpc::Server::builder();
            if let Some(limit) = limit {
                builder = builder.max_receive_message_length(limit).max_send_message_length(limit);
            }
            if gzip() {
                builder = builder.compression(rust_rpc::Compression::Gzip);
            }
            let server = telemetry::server(builder).build();
            match service.as_str() {
                "greeter" => ours::add_greeter_servicer_to_server(Ours, &server)?,
                "bench" => ours_bench::add_bench_servicer_to_server(OursBench, &server)?,
                other => return Err(format!("unknown --service {other}").into()),
            }
            server.add_insecure_port(&format!("127.0.0.1:{port}"))?;
            server.start()?;
            println!("listening on {port}");
            server.wait_for_termination(None).await;
        }
        "tonic" => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            let mut builder = tonic::transport::Server::builder();
            let router = match service.as_str() {
                "greeter" => builder.add_service(tonic_hello::greeter_server::GreeterServer::new(Tonic)),
                "bench" => {
                    let mut bench = tonic_bench::bench_server::BenchServer::new(TonicBench);
                    if let Some(limit) = limit {
                        bench = bench.max_decoding_message_size(limit).max_encoding_message_size(limit);
                    }
                    if gzip() {
                        let gzip = tonic::codec::CompressionEncoding::Gzip;
                        bench = bench.send_compressed(gzip).accept_compressed(gzip);
                    }
                    builder.add_service(bench)
                }
                other => return Err(format!("unknown --service {other}").into()),
            };
            println!("listening on {port}");
            router
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

/// One connection's stubs for both services, sharing the connection. There is one per
/// connection and per task, so the size difference between the variants does not matter.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Client {
    Ours(ours::GreeterClient, ours_bench::BenchClient),
    Tonic(
        tonic_hello::greeter_client::GreeterClient<tonic::transport::Channel>,
        tonic_bench::bench_client::BenchClient<tonic::transport::Channel>,
    ),
}

impl Client {
    /// Connects one channel now (so every connection exists before the load starts).
    async fn connect(implementation: &str, port: u16) -> Result<Client, Box<dyn Error>> {
        let limit = max_message();
        match implementation {
            "rust-rpc" => {
                let target = arg("target").unwrap_or_else(|| format!("127.0.0.1:{port}"));
                let mut builder = rust_rpc::ChannelBuilder::new(target);
                match arg("lb").as_deref() {
                    None | Some("pick_first") => {}
                    Some("round_robin") => builder = builder.load_balancing(rust_rpc::LoadBalancing::RoundRobin),
                    Some(other) => return Err(format!("unknown --lb {other}").into()),
                }
                if let Some(limit) = limit {
                    builder = builder.max_receive_message_length(limit).max_send_message_length(limit);
                }
                let channel = telemetry::channel(builder).build()?;
                channel.ready(Duration::from_secs(5)).await?;
                Ok(Client::Ours(ours::GreeterClient::new(channel.clone()), ours_bench::BenchClient::new(channel)))
            }
            "tonic" => {
                let channel = tonic::transport::Endpoint::new(format!("http://127.0.0.1:{port}"))?.connect().await?;
                let mut bench = tonic_bench::bench_client::BenchClient::new(channel.clone());
                if let Some(limit) = limit {
                    bench = bench.max_decoding_message_size(limit).max_encoding_message_size(limit);
                }
                if gzip() {
                    let gzip = tonic::codec::CompressionEncoding::Gzip;
                    bench = bench.send_compressed(gzip).accept_compressed(gzip);
                }
                Ok(Client::Tonic(tonic_hello::greeter_client::GreeterClient::new(channel), bench))
            }
            other => Err(format!("unknown --impl {other}").into()),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Unary,
    Echo,
    Stream,
    PingPong,
}

/// What one load task needs.
#[derive(Clone)]
struct Task {
    scenario: Scenario,
    client: Client,
    payload: Bytes,
    warm_until: Instant,
    until: Instant,
}

fn check_size(got: usize, want: usize) -> Result<(), TaskError> {
    if got == want { Ok(()) } else { Err(format!("a reply carried {got} payload bytes, not {want}").into()) }
}

impl Task {
    /// Runs the scenario until `until`; returns the latencies in microseconds of what completed
    /// after the warm-up (calls, round trips, or gaps between streamed messages).
    async fn run(self) -> Result<Vec<u32>, TaskError> {
        let Task { scenario, client, payload, warm_until, until } = self;
        let size = payload.len();
        let mut latencies = Vec::with_capacity(1 << 16);
        let mut record = |start: Instant| {
            if start >= warm_until {
                latencies.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
        };
        match (scenario, client) {
            (Scenario::Unary, Client::Ours(greeter, _)) => loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                greeter.say_hello(ours::HelloRequest { name: "world".into() }).await?;
                record(start);
            },
            (Scenario::Unary, Client::Tonic(greeter, _)) => loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                let mut greeter = greeter.clone();
                greeter.say_hello(tonic_hello::HelloRequest { name: "world".into() }).await?;
                record(start);
            },
            (Scenario::Echo, Client::Ours(_, bench)) => loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                let mut call = bench.echo(ours_bench::Payload { data: payload.clone() });
                if gzip() {
                    call = call.compression(rust_rpc::Compression::Gzip);
                }
                let reply = call.await?;
                check_size(reply.data.len(), size)?;
                record(start);
            },
            (Scenario::Echo, Client::Tonic(_, bench)) => loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                let mut bench = bench.clone();
                let reply = bench.echo(tonic_bench::Payload { data: payload.clone() }).await?.into_inner();
                check_size(reply.data.len(), size)?;
                record(start);
            },
            (Scenario::Stream, Client::Ours(_, bench)) => {
                let request = ours_bench::StreamRequest { size: size as u32, count: u64::MAX };
                let mut call = bench.server_stream(request);
                if gzip() {
                    call = call.compression(rust_rpc::Compression::Gzip);
                }
                let mut messages = call.await?;
                let mut start = Instant::now();
                while start < until {
                    let message = messages.message().await?.ok_or("the stream ended early")?;
                    check_size(message.data.len(), size)?;
                    record(start);
                    start = Instant::now();
                }
            }
            (Scenario::Stream, Client::Tonic(_, mut bench)) => {
                let request = tonic_bench::StreamRequest { size: size as u32, count: u64::MAX };
                let mut messages = bench.server_stream(request).await?.into_inner();
                let mut start = Instant::now();
                while start < until {
                    let message = messages.message().await?.ok_or("the stream ended early")?;
                    check_size(message.data.len(), size)?;
                    record(start);
                    start = Instant::now();
                }
            }
            (Scenario::PingPong, Client::Ours(_, bench)) => {
                let (sender, receiver) = tokio::sync::mpsc::channel(1);
                let mut call = bench.ping_pong(ReceiverStream::new(receiver));
                if gzip() {
                    call = call.compression(rust_rpc::Compression::Gzip);
                }
                let mut replies = call.await?;
                loop {
                    let start = Instant::now();
                    if start >= until {
                        break;
                    }
                    sender.send(ours_bench::Payload { data: payload.clone() }).await?;
                    let reply = replies.message().await?.ok_or("the stream ended early")?;
                    check_size(reply.data.len(), size)?;
                    record(start);
                }
            }
            (Scenario::PingPong, Client::Tonic(_, mut bench)) => {
                let (sender, receiver) = tokio::sync::mpsc::channel(1);
                let mut replies = bench.ping_pong(ReceiverStream::new(receiver)).await?.into_inner();
                loop {
                    let start = Instant::now();
                    if start >= until {
                        break;
                    }
                    sender.send(tonic_bench::Payload { data: payload.clone() }).await?;
                    let reply = replies.message().await?.ok_or("the stream ended early")?;
                    check_size(reply.data.len(), size)?;
                    record(start);
                }
            }
        }
        Ok(latencies)
    }
}

async fn load(implementation: &str, port: u16) -> Result<(), Box<dyn Error>> {
    let mut clients = Vec::new();
    for _ in 0..num("connections", 1) {
        clients.push(Client::connect(implementation, port).await?);
    }
    run_load(clients).await
}

/// `same-process`: a rust-rpc server with both services and the load on one runtime of this
/// process, through an in-process channel (`--transport memory`, the default) or loopback TCP
/// (`--transport tcp`), so the two differ only in the transport.
async fn same_process() -> Result<(), Box<dyn Error>> {
    let server = rust_rpc::Server::new();
    ours::add_greeter_servicer_to_server(Ours, &server)?;
    ours_bench::add_bench_servicer_to_server(OursBench, &server)?;
    let mut clients = Vec::new();
    let transport = arg("transport").unwrap_or_else(|| "memory".into());
    let port = match transport.as_str() {
        "memory" => None,
        "tcp" => Some(server.add_insecure_port("127.0.0.1:0")?),
        other => return Err(format!("unknown --transport {other}").into()),
    };
    for _ in 0..num("connections", 1) {
        let channel = match port {
            None => server.in_process_channel()?,
            Some(port) => rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?,
        };
        clients.push(Client::Ours(ours::GreeterClient::new(channel.clone()), ours_bench::BenchClient::new(channel)));
    }
    server.start()?;
    for client in &clients {
        if let Client::Ours(greeter, _) = client {
            greeter.channel().ready(Duration::from_secs(5)).await?;
        }
    }
    let result = run_load(clients).await;
    server.stop(None).await;
    result
}

/// Runs the load on `clients` (one per connection) and prints its line.
async fn run_load(clients: Vec<Client>) -> Result<(), Box<dyn Error>> {
    let scenario = match arg("scenario").as_deref().unwrap_or("unary") {
        "unary" => Scenario::Unary,
        "echo" => Scenario::Echo,
        "stream" => Scenario::Stream,
        "pingpong" => Scenario::PingPong,
        other => return Err(format!("unknown --scenario {other}").into()),
    };
    let concurrency = num("concurrency", 1);
    let seconds = float("seconds", 5.0);
    let size = num("size", 1024) as usize;
    // One payload for the whole run: every message sent is a clone (a reference count).
    let payload = Bytes::from(vec![0; size]);
    let warm_until = Instant::now() + Duration::from_millis(num("warmup-ms", 1000));
    let until = warm_until + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for client in &clients {
        for _ in 0..concurrency {
            let task = Task { scenario, client: client.clone(), payload: payload.clone(), warm_until, until };
            tasks.push(tokio::spawn(task.run()));
        }
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?.map_err(|e| format!("a call failed: {e}"))?);
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let rps = latencies.len() as f64 / seconds;
    let mbps = if scenario == Scenario::Unary { 0.0 } else { rps * size as f64 / 1e6 };
    println!(
        "calls={} secs={seconds} rps={rps:.0} p50_us={} p99_us={} p999_us={} mbps={mbps:.1}",
        latencies.len(),
        at(0.50),
        at(0.99),
        at(0.999)
    );
    Ok(())
}

/// Opens `--connections` connections, makes one call on each, then holds them for `--seconds`.
async fn idle(implementation: &str, port: u16) -> Result<(), Box<dyn Error>> {
    let mut held = Vec::new();
    for _ in 0..num("connections", 1000) {
        let client = match implementation {
            "rust-rpc" => {
                let client = ours::GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
                client.say_hello(ours::HelloRequest { name: "idle".into() }).await?;
                Client::Ours(client.clone(), ours_bench::BenchClient::new(client.channel().clone()))
            }
            "tonic" => {
                let channel = tonic::transport::Endpoint::new(format!("http://127.0.0.1:{port}"))?.connect().await?;
                let mut client = tonic_hello::greeter_client::GreeterClient::new(channel.clone());
                client.say_hello(tonic_hello::HelloRequest { name: "idle".into() }).await?;
                Client::Tonic(client, tonic_bench::bench_client::BenchClient::new(channel))
            }
            other => return Err(format!("unknown --impl {other}").into()),
        };
        held.push(client);
    }
    println!("holding {} connections", held.len());
    tokio::time::sleep(Duration::from_secs_f64(float("seconds", 5.0))).await;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    // Two workers for a server and its load in one process, as two processes have one each.
    let workers = if mode == "same-process" { 2 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
    let implementation = arg("impl").unwrap_or_else(|| "rust-rpc".into());
    let port = num("port", 50100) as u16;
    runtime.block_on(async {
        match mode.as_str() {
            "server" => serve(&implementation, port).await,
            "load" => load(&implementation, port).await,
            "idle" => idle(&implementation, port).await,
            "same-process" => same_process().await,
            _ => Err("usage: rpc-bench server|load|idle --impl rust-rpc|tonic --port P [...], \
                      or rpc-bench same-process --transport memory|tcp [load options]"
                .into()),
        }
    })
}
