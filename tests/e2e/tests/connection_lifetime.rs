//! Server connection management (gRFC A9): `max_connection_age` sends clients to new
//! connections without failing a call, lets calls in flight finish within
//! `max_connection_age_grace` and cuts off the ones that take longer; `max_connection_idle`
//! closes connections without calls, never one with a call open; on the wire, the first GOAWAY
//! comes a second ahead of h2's graceful shutdown. The server tells each call the port its
//! connection came from, so the tests see which connection served what.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use e2e::routeguide::{
    Feature, Point, Rectangle, RouteGuideClient, RouteGuideServicer, RouteNote, RouteSummary,
    add_route_guide_servicer_to_server,
};
use rust_rpc::stream::{Stream, StreamExt};
use rust_rpc::{Code, RequestStream, ResponseStream, Result, RpcError, Server, ServerBuilder, ServicerContext};
use tokio::sync::mpsc;

use crate::support::{HANG_GUARD, no_hang};

/// Answers every call with the client's port as the server saw it.
struct Ports;

fn port(context: &ServicerContext) -> String {
    context.peer_addr().map_or_else(|| "none".to_owned(), |addr| addr.port().to_string())
}

impl RouteGuideServicer for Ports {
    async fn get_feature(&self, _point: Point, context: ServicerContext) -> Result<Feature> {
        Ok(Feature { name: port(&context), location: None })
    }

    async fn list_features(&self, _rect: Rectangle, _context: ServicerContext) -> Result<ResponseStream<Feature>> {
        Err(RpcError::unimplemented("not here"))
    }

    async fn record_route(&self, _points: RequestStream<Point>, _context: ServicerContext) -> Result<RouteSummary> {
        Err(RpcError::unimplemented("not here"))
    }

    /// Echoes each note, its message replaced by the port.
    async fn route_chat(
        &self,
        notes: RequestStream<RouteNote>,
        context: ServicerContext,
    ) -> Result<ResponseStream<RouteNote>> {
        let port = port(&context);
        Ok(ResponseStream::new(notes.map(move |note| note.map(|n| RouteNote { message: port.clone(), ..n }))))
    }
}

fn start(builder: ServerBuilder) -> (Server, RouteGuideClient, rust_rpc::Channel) {
    let server = builder.build();
    add_route_guide_servicer_to_server(Ports, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    (server, RouteGuideClient::new(channel.clone()), channel)
}

/// The port of the connection a unary call went on.
async fn unary_port(client: &RouteGuideClient) -> Result<String> {
    Ok(client.get_feature(Point::default()).await?.name)
}

/// Request notes sent as the test goes.
struct Notes(mpsc::UnboundedReceiver<RouteNote>);

impl Stream for Notes {
    type Item = RouteNote;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RouteNote>> {
        self.0.poll_recv(cx)
    }
}

/// A bidi call open on `client`: the sender of its requests and its responses, after one
/// exchange; and the port of its connection.
async fn open_chat(
    client: &RouteGuideClient,
) -> (mpsc::UnboundedSender<RouteNote>, rust_rpc::Streaming<RouteNote>, String) {
    let (sender, notes) = mpsc::unbounded_channel();
    let mut responses = client.route_chat(Notes(notes)).await.expect("chat");
    sender.send(RouteNote::default()).expect("send");
    let port = no_hang("the first echo", responses.next()).await.expect("an echo").expect("ok").message;
    (sender, responses, port)
}

/// Makes unary calls until one goes on a connection other than `port`'s: the one on `port` was
/// told GOAWAY.
async fn until_moved(client: &RouteGuideClient, port: &str) {
    no_hang("a call on a new connection", async { while unary_port(client).await.expect("unary") == port {} }).await;
}

/// Waits for the channel's connection to go.
async fn until_disconnected(channel: &rust_rpc::Channel) {
    no_hang("the connection closes", async {
        while channel.is_connected() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

fn aging() -> ServerBuilder {
    Server::builder().max_connection_age(Duration::from_millis(300)).max_connection_age_grace(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_across_max_connection_age_never_fail_and_move_to_new_connections() {
    calls_across_max_connection_age(aging()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_on_a_server_with_grpc_web_on() {
    // Its connections are served by `server/web/connection.rs`, HTTP/2 ones as gRPC's.
    calls_across_max_connection_age(aging().grpc_web(rust_rpc::GrpcWeb::new())).await;
}

async fn calls_across_max_connection_age(builder: ServerBuilder) {
    let (_server, client, _) = start(builder);
    let ports = Arc::new(Mutex::new(HashSet::new()));
    let callers = (0..4).map(|_| {
        let (client, ports) = (client.clone(), ports.clone());
        tokio::spawn(async move {
            let (mut calls, mut failures) = (0, Vec::new());
            // Until the server has served the calls on four connections: three ages passed.
            while ports.lock().expect("lock").len() < 4 {
                calls += 1;
                match unary_port(&client).await {
                    Ok(port) => drop(ports.lock().expect("lock").insert(port)),
                    Err(err) => failures.push(err),
                }
            }
            (calls, failures)
        })
    });
    for caller in callers {
        let (calls, failures) = no_hang("callers see four connections", caller).await.expect("task");
        assert!(failures.is_empty(), "{} of {calls} calls failed: {failures:?}", failures.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_in_flight_at_the_age_goaway_finishes_within_the_grace() {
    let builder = Server::builder().max_connection_age(Duration::from_millis(300)).max_connection_age_grace(HANG_GUARD);
    let (_server, client, _) = start(builder);
    let (sender, mut responses, port) = open_chat(&client).await;
    until_moved(&client, &port).await;
    // The old connection is going away, with the stream still on it: it goes on.
    sender.send(RouteNote::default()).expect("send");
    let echo = no_hang("the second echo", responses.next()).await.expect("an echo").expect("ok");
    assert_eq!(echo.message, port, "on the old connection");
    drop(sender);
    assert!(no_hang("the stream's end", responses.next()).await.is_none(), "ended with OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_longer_than_the_grace_is_cut_off_with_unavailable() {
    let builder = Server::builder()
        .max_connection_age(Duration::from_millis(200))
        .max_connection_age_grace(Duration::from_millis(300));
    let (_server, client, _) = start(builder);
    let (_sender, mut responses, _) = open_chat(&client).await;
    // The stream stays open (its requests never end) until the server closes the connection.
    let err = no_hang("the cut", responses.next()).await.expect("an end").expect_err("cut off");
    // grpc-go's client reports a connection closed under its streams as UNAVAILABLE too.
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    // The channel reconnects for the next call.
    unary_port(&client).await.expect("a new connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connection_idle_closes_an_unused_connection_but_not_one_with_a_call() {
    let idle = Duration::from_millis(200);
    let (_server, client, channel) = start(Server::builder().max_connection_idle(idle));
    let first = unary_port(&client).await.expect("call");
    until_disconnected(&channel).await;
    let second = unary_port(&client).await.expect("the next call reconnects");
    assert_ne!(first, second, "a new connection");

    // A call open for several idle periods keeps its connection: calls made meanwhile go on it.
    let (sender, mut responses, port) = open_chat(&client).await;
    tokio::time::sleep(idle * 4).await;
    assert!(channel.is_connected());
    assert_eq!(unary_port(&client).await.expect("call"), port, "still the same connection");
    drop(sender);
    assert!(no_hang("the stream's end", responses.next()).await.is_none(), "ended with OK");
    // Without calls, it goes.
    until_disconnected(&channel).await;
}

/// A server that answers every request with GOAWAY (last stream 0, NO_ERROR): it takes none.
async fn refusing_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Empty SETTINGS, then the client's preface and frames until its first HEADERS.
                socket.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await?;
                let mut read = Vec::new();
                let mut at = 24; // the preface
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = socket.read(&mut chunk).await?;
                    if n == 0 {
                        return Ok::<_, std::io::Error>(());
                    }
                    read.extend_from_slice(&chunk[..n]);
                    let mut headers = false;
                    while read.len() >= at + 9 {
                        let length =
                            usize::from(read[at]) << 16 | usize::from(read[at + 1]) << 8 | usize::from(read[at + 2]);
                        headers |= read[at + 3] == 1;
                        at += 9 + length;
                    }
                    if headers {
                        break;
                    }
                }
                // GOAWAY: last stream 0, NO_ERROR.
                socket.write_all(&[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).await?;
                // Held open until the client goes.
                while socket.read(&mut [0u8; 4096]).await? > 0 {}
                Ok(())
            });
        }
    });
    port
}

#[tokio::test]
async fn a_call_the_servers_goaway_refused_is_unavailable() {
    // grpc-go's client reports a stream above a GOAWAY's last stream as UNAVAILABLE (and
    // retries it); h2 calls it a NO_ERROR GOAWAY, which the RST_STREAM table would make INTERNAL.
    let port = refusing_server().await;
    let client = RouteGuideClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    let err = no_hang("the refusal", unary_port(&client)).await.expect_err("refused");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_wire_the_age_goaway_comes_a_second_ahead_of_h2s_graceful_shutdown() {
    use crate::raw_h2::{
        ACK, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING, Raw, SETTINGS, frame, say_hello_headers,
    };
    use crate::support::{TestGreeter, start_greeter_with};

    let greeter = TestGreeter::default();
    let builder = Server::builder().max_connection_age(Duration::from_millis(200)).max_connection_age_grace(HANG_GUARD);
    let (_server, port) = start_greeter_with(builder.build(), greeter.clone());
    let mut raw = Raw::handshake(port).await;
    // Stream 1: a call the handler holds until the test releases it.
    raw.send(&frame(HEADERS, END_HEADERS, 1, &say_hello_headers(port))).await;
    raw.send(&frame(DATA, END_STREAM, 1, &[0, 0, 0, 0, 6, 0x0a, 4, b'h', b'o', b'l', b'd'])).await;

    let first = raw.until(|f| f.kind == GOAWAY).await.expect("the age's first GOAWAY");
    assert_eq!(first.goaway(), (0x7fff_ffff, 0, String::new()), "graceful: no stream refused yet");
    // Stream 3, as a client that had not read the GOAWAY yet would send it: still taken.
    raw.send(&frame(HEADERS, END_HEADERS, 3, &say_hello_headers(port))).await;
    raw.send(&frame(DATA, END_STREAM, 3, &[0, 0, 0, 0, 4, 0x0a, 2, b'h', b'i'])).await;

    // Then h2's graceful shutdown: GOAWAY (2^31-1) and a PING; once acked, the final GOAWAY.
    let (mut answered, mut goaways, mut last) = (false, 0, None);
    while last.is_none() {
        let frame = raw.next().await.expect("the connection goes on until the final GOAWAY");
        match frame.kind {
            HEADERS if frame.stream == 3 && frame.flags & END_STREAM != 0 => answered = true,
            PING if frame.flags & ACK == 0 => raw.send(&crate::raw_h2::frame(PING, ACK, 0, &frame.payload)).await,
            SETTINGS if frame.flags & ACK == 0 => raw.send(&crate::raw_h2::frame(SETTINGS, ACK, 0, &[])).await,
            GOAWAY => {
                goaways += 1;
                let (stream, code, _) = frame.goaway();
                assert_eq!(code, 0, "NO_ERROR");
                if stream != 0x7fff_ffff {
                    last = Some(stream);
                }
            }
            _ => {}
        }
    }
    assert_eq!(last, Some(3), "the final GOAWAY names the last stream taken");
    assert_eq!(goaways, 2, "h2's own 2^31-1 GOAWAY between the first and the final one");
    if !answered {
        raw.until(|f| f.stream == 3 && f.flags & END_STREAM != 0).await.expect("stream 3 answered");
    }
    // The held call finishes within the grace, then the connection closes.
    greeter.release.add_permits(1);
    let end = raw.until(|f| f.stream == 1 && f.flags & END_STREAM != 0).await.expect("the held call's end");
    assert_eq!(end.kind, HEADERS, "trailers, not a reset");
    assert!(raw.next().await.is_none(), "closed once its calls are done");
}
