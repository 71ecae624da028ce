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
//! `calls=N secs=S rps=R p50_us=A p99_us=B p999_us=C mbps=M cpu_us=U cpu_util=F`. Scenarios:
//! - `unary` (default): Greeter.SayHello back to back; `calls` are calls, latencies per call.
//! - `echo`: Bench.Echo with N payload bytes each way (the large-message scenario).
//! - `stream`: one Bench.ServerStream per task, N-byte messages; `calls` are messages
//!   received, latencies the gaps between them. The stream is cancelled at the end.
//! - `pingpong`: one Bench.PingPong per task, one N-byte message in flight: send one, wait for
//!   its echo; `calls` are round trips, latencies per round trip.
//! - `connect`: a new connection per Greeter.SayHello call (below).
//!
//! With `--impl rust-rpc`, `--target T` connects to channel target T instead of
//! `127.0.0.1:P` (e.g. `ipv4:127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`) and `--lb round_robin`
//! spreads each channel's calls over the target's addresses (default `pick_first`): the load
//! balancing figure of BENCHMARKS.md, one channel against three servers. `--window-kib N` sets
//! its HTTP/2 stream window to N KiB (the connection's to twice that).
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
//! `rpc-bench cert --out DIR` writes a test CA (`DIR/ca.pem`) and a certificate for
//! `localhost` signed by it (`DIR/cert.pem`, `DIR/key.pem`; ECDSA P-256, made by rcgen). With
//! `--tls DIR`, `server` serves TLS with that certificate (rustls on both libraries: tonic's
//! `tls-ring`), and `load` and `idle` connect over TLS trusting `DIR/ca.pem` (server name
//! `localhost`).
//!
//! `load --scenario connect` opens a new channel (a new TCP connection, and TLS handshake with
//! `--tls`) for every call, makes one Greeter.SayHello call on it and drops it: `calls` are
//! connections, for the cost of a connection (and of a handshake). Each library's client
//! configuration is built once and shared by all of the run's channels, as an application
//! would share it (tonic: one `Endpoint`; rust-rpc: one `ChannelBuilder`).
//!
//! `load` also prints the load process's CPU time per call in microseconds (`cpu_us`, user and
//! system together, from every thread's `/proc/self/task/*/schedstat`, counted over the measured
//! interval only) and `cpu_util` (CPU seconds per second of that interval): the client's cost
//! when it drives a server faster than itself.
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

/// `--tls DIR`: the directory `rpc-bench cert` wrote, if the run is over TLS.
fn tls_dir() -> Option<std::path::PathBuf> {
    arg("tls").map(std::path::PathBuf::from)
}

fn read(dir: &std::path::Path, name: &str) -> Result<String, Box<dyn Error>> {
    std::fs::read_to_string(dir.join(name)).map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()).into())
}

/// `rpc-bench cert --out DIR`: a CA, and a certificate for `localhost` it signed.
fn make_cert() -> Result<(), Box<dyn Error>> {
    let dir = std::path::PathBuf::from(arg("out").ok_or("cert needs --out DIR")?);
    std::fs::create_dir_all(&dir)?;
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key)?.pem();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &issuer)?;
    std::fs::write(dir.join("ca.pem"), ca_pem)?;
    std::fs::write(dir.join("cert.pem"), cert.pem())?;
    std::fs::write(dir.join("key.pem"), key.serialize_pem())?;
    println!("wrote {}", dir.display());
    Ok(())
}

/// How a client of either library connects: the target and, over TLS, the credentials or
/// endpoint configuration, made once per run.
#[derive(Clone)]
enum Connector {
    Ours(rust_rpc::ChannelBuilder),
    Tonic(tonic::transport::Endpoint),
}

impl Connector {
    fn new(implementation: &str, port: u16) -> Result<Connector, Box<dyn Error>> {
        let limit = max_message();
        let tls = tls_dir();
        match implementation {
            "rust-rpc" => {
                let target = arg("target").unwrap_or_else(|| format!("127.0.0.1:{port}"));
                let mut builder = rust_rpc::ChannelBuilder::new(target);
                match arg("lb").as_deref() {
                    None | Some("pick_first") => {}
                    Some("round_robin") => builder = builder.load_balancing(rust_rpc::LoadBalancing::RoundRobin),
                    Some(other) => return Err(format!("unknown --lb {other}").into()),
                }
                if let Some(dir) = &tls {
                    let credentials = rust_rpc::ChannelCredentials::with_root_ca(read(dir, "ca.pem")?)
                        .server_name_override("localhost");
                    builder = builder.credentials(credentials);
                }
                if let Some(limit) = limit {
                    builder = builder.max_receive_message_length(limit).max_send_message_length(limit);
                }
                // `--window-kib N`: the client's stream window (the connection's twice that).
                if let Some(kib) = arg("window-kib") {
                    let stream: u32 = kib.parse::<u32>()? * 1024;
                    builder = builder.http2_windows(stream, stream.saturating_mul(2));
                }
                Ok(Connector::Ours(telemetry::channel(builder)))
            }
            "tonic" => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                let mut endpoint = tonic::transport::Endpoint::new(format!("{scheme}://127.0.0.1:{port}"))?;
                if let Some(dir) = &tls {
                    let config = tonic::transport::ClientTlsConfig::new()
                        .ca_certificate(tonic::transport::Certificate::from_pem(read(dir, "ca.pem")?))
                        .domain_name("localhost");
                    endpoint = endpoint.tls_config(config)?;
                }
                Ok(Connector::Tonic(endpoint))
            }
            other => Err(format!("unknown --impl {other}").into()),
        }
    }
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
            // Under callgrind every poll takes some 50 times as long; scripts/bench-instructions.py
            // raises the limit so that it counts the path a server at full speed takes.
            if let Some(limit) = arg("inline-limit-us") {
                builder = builder.inline_call_limit(Duration::from_micros(limit.parse()?));
            }
            let server = telemetry::server(builder).build();
            match service.as_str() {
                "greeter" => ours::add_greeter_servicer_to_server(Ours, &server)?,
                "bench" => ours_bench::add_bench_servicer_to_server(OursBench, &server)?,
                other => return Err(format!("unknown --service {other}").into()),
            }
            match tls_dir() {
                Some(dir) => {
                    let credentials = rust_rpc::ServerCredentials::new(read(&dir, "cert.pem")?, read(&dir, "key.pem")?);
                    server.add_secure_port(&format!("127.0.0.1:{port}"), credentials)?
                }
                None => server.add_insecure_port(&format!("127.0.0.1:{port}"))?,
            };
            server.start()?;
            println!("listening on {port}");
            server.wait_for_termination(None).await;
        }
        "tonic" => {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            let mut builder = tonic::transport::Server::builder();
            if let Some(dir) = tls_dir() {
                let identity = tonic::transport::Identity::from_pem(read(&dir, "cert.pem")?, read(&dir, "key.pem")?);
                builder = builder.tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))?;
            }
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
    async fn connect(connector: &Connector) -> Result<Client, Box<dyn Error>> {
        match connector {
            Connector::Ours(_) => {
                let client = Client::lazy(connector)?;
                if let Client::Ours(greeter, _) = &client {
                    greeter.channel().ready(Duration::from_secs(5)).await?;
                }
                Ok(client)
            }
            Connector::Tonic(endpoint) => Client::tonic(endpoint.connect().await?),
        }
    }

    /// A client whose channel connects on its first call.
    fn lazy(connector: &Connector) -> Result<Client, Box<dyn Error>> {
        match connector {
            Connector::Ours(builder) => {
                let channel = builder.clone().build()?;
                Ok(Client::Ours(ours::GreeterClient::new(channel.clone()), ours_bench::BenchClient::new(channel)))
            }
            Connector::Tonic(endpoint) => Client::tonic(endpoint.connect_lazy()),
        }
    }

    fn tonic(channel: tonic::transport::Channel) -> Result<Client, Box<dyn Error>> {
        let mut bench = tonic_bench::bench_client::BenchClient::new(channel.clone());
        if let Some(limit) = max_message() {
            bench = bench.max_decoding_message_size(limit).max_encoding_message_size(limit);
        }
        if gzip() {
            let gzip = tonic::codec::CompressionEncoding::Gzip;
            bench = bench.send_compressed(gzip).accept_compressed(gzip);
        }
        Ok(Client::Tonic(tonic_hello::greeter_client::GreeterClient::new(channel), bench))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Unary,
    Echo,
    Stream,
    PingPong,
    Connect,
}

/// What one load task needs.
#[derive(Clone)]
struct Task {
    scenario: Scenario,
    client: Client,
    connector: Connector,
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
        let Task { scenario, client, connector, payload, warm_until, until } = self;
        let size = payload.len();
        let mut latencies = Vec::with_capacity(1 << 16);
        let mut record = |start: Instant| {
            if start >= warm_until {
                latencies.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
        };
        match (scenario, client) {
            // A new channel per call, dropped after it (its connection closes with it).
            (Scenario::Connect, _) => loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                match &connector {
                    Connector::Ours(builder) => {
                        let greeter = ours::GreeterClient::new(builder.clone().build()?);
                        greeter.say_hello(ours::HelloRequest { name: "world".into() }).await?;
                    }
                    Connector::Tonic(endpoint) => {
                        let mut greeter = tonic_hello::greeter_client::GreeterClient::new(endpoint.connect().await?);
                        greeter.say_hello(tonic_hello::HelloRequest { name: "world".into() }).await?;
                    }
                }
                record(start);
            },
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
    let connector = Connector::new(implementation, port)?;
    let mut clients = Vec::new();
    for _ in 0..num("connections", 1) {
        // `connect` makes its own connections: these clients only stand for the count.
        let client = if arg("scenario").as_deref() == Some("connect") {
            Client::lazy(&connector)?
        } else {
            Client::connect(&connector).await?
        };
        clients.push(client);
    }
    run_load(clients, connector).await
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
    let result = run_load(clients, Connector::Ours(rust_rpc::ChannelBuilder::new("unused"))).await;
    server.stop(None).await;
    result
}

/// Runs the load on `clients` (one per connection) and prints its line.
async fn run_load(clients: Vec<Client>, connector: Connector) -> Result<(), Box<dyn Error>> {
    let scenario = match arg("scenario").as_deref().unwrap_or("unary") {
        "unary" => Scenario::Unary,
        "echo" => Scenario::Echo,
        "stream" => Scenario::Stream,
        "pingpong" => Scenario::PingPong,
        "connect" => Scenario::Connect,
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
            let connector = connector.clone();
            let task =
                Task { scenario, client: client.clone(), connector, payload: payload.clone(), warm_until, until };
            tasks.push(tokio::spawn(task.run()));
        }
    }
    // The process's CPU time over the measured interval only.
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(warm_until.into()).await;
        let first = cpu_ns();
        tokio::time::sleep_until(until.into()).await;
        cpu_ns().saturating_sub(first)
    });
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?.map_err(|e| format!("a call failed: {e}"))?);
    }
    let cpu_ns = cpu.await?;
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let rps = latencies.len() as f64 / seconds;
    let mbps = if matches!(scenario, Scenario::Unary | Scenario::Connect) { 0.0 } else { rps * size as f64 / 1e6 };
    let cpu_us = cpu_ns as f64 / 1e3 / (latencies.len().max(1) as f64);
    let cpu_util = cpu_ns as f64 / 1e9 / seconds;
    println!(
        "calls={} secs={seconds} rps={rps:.0} p50_us={} p99_us={} p999_us={} mbps={mbps:.1} cpu_us={cpu_us:.2} \
         cpu_util={cpu_util:.3}",
        latencies.len(),
        at(0.50),
        at(0.99),
        at(0.999)
    );
    Ok(())
}

/// CPU time this process has run, user and system, in nanoseconds: the first field of every
/// thread's `/proc/self/task/TID/schedstat` (exact, where `/proc/self/stat` counts 10 ms ticks).
/// 0 where /proc is not there.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()))
        .sum()
}

/// Opens `--connections` connections, makes one call on each, then holds them for `--seconds`.
async fn idle(implementation: &str, port: u16) -> Result<(), Box<dyn Error>> {
    let connector = Connector::new(implementation, port)?;
    let mut held = Vec::new();
    for _ in 0..num("connections", 1000) {
        let client = Client::connect(&connector).await?;
        match &client {
            Client::Ours(greeter, _) => drop(greeter.say_hello(ours::HelloRequest { name: "idle".into() }).await?),
            Client::Tonic(greeter, _) => {
                greeter.clone().say_hello(tonic_hello::HelloRequest { name: "idle".into() }).await?;
            }
        }
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
    // `--runtime current-thread`: tokio's single-threaded scheduler instead, to tell what the
    // multi-threaded one's queues do to a tail (BENCHMARKS.md, issue 20's tail latency).
    let runtime = match arg("runtime").as_deref() {
        Some("current-thread") => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        _ => tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?,
    };
    let implementation = arg("impl").unwrap_or_else(|| "rust-rpc".into());
    let port = num("port", 50100) as u16;
    runtime.block_on(async {
        match mode.as_str() {
            "server" => serve(&implementation, port).await,
            "load" => load(&implementation, port).await,
            "idle" => idle(&implementation, port).await,
            "same-process" => same_process().await,
            "cert" => make_cert(),
            _ => Err("usage: rpc-bench server|load|idle --impl rust-rpc|tonic --port P [--tls DIR] [...], \
                      rpc-bench same-process --transport memory|tcp [load options], or rpc-bench cert --out DIR"
                .into()),
        }
    })
}
