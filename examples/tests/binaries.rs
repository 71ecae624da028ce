//! The example binaries as their users run them: child processes, stopped with signals.
//!
//! These tests are plain `#[test]`s with no runtime of their own: the clients are the
//! generated blocking ones.

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use rust_rpc::health::{HealthBlockingClient, HealthCheckRequest, ServingStatus};
use rust_rpc::reflection::v1::server_reflection_request::MessageRequest;
use rust_rpc::reflection::v1::server_reflection_response::MessageResponse;
use rust_rpc::reflection::v1::{ServerReflectionBlockingClient, ServerReflectionRequest, ServerReflectionResponse};
use test_support::Peer;

/// Bounds every wait on a child process.
const TIMEOUT: Duration = Duration::from_secs(60);

/// `helloworld-server` on a free loopback port, and that port.
fn helloworld_server() -> (Peer, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_helloworld-server"));
    command.args(["--addr", "127.0.0.1:0"]);
    let mut server = Peer::spawn(command, TIMEOUT);
    let line = server.line("helloworld-server listening on port N");
    let port = line.rsplit(' ').next().and_then(|p| p.parse().ok());
    (server, port.unwrap_or_else(|| panic!("no port in {line:?}")))
}

fn list_services() -> ServerReflectionRequest {
    ServerReflectionRequest { message_request: Some(MessageRequest::ListServices(String::new())), ..Default::default() }
}

fn service_names(response: rust_rpc::Result<ServerReflectionResponse>) -> Vec<String> {
    match response.expect("a reflection answer").message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("not a service list: {other:?}"),
    }
}

/// Sends `signal` to the process `pid` with kill(1).
fn send_signal(signal: &str, pid: u32) {
    let status = Command::new("kill").args([signal, &pid.to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}: {status}");
}

#[test]
fn the_blocking_client_example_calls_the_helloworld_server_from_a_plain_main() {
    let (_server, port) = helloworld_server();
    let mut command = Command::new(env!("CARGO_BIN_EXE_blocking-client"));
    command.args(["--addr", &format!("127.0.0.1:{port}"), "--name", "sync world"]);
    let output = Peer::spawn(command, TIMEOUT).output();
    assert_eq!(output, "Hello sync world\nrefused: name must not be empty\n");
}

/// SIGTERM (what Kubernetes and systemd send) mid-call: the server starts its stop (health
/// turns NOT_SERVING), still answers on the call in flight, and exits 0 once that call ends.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_example_server_gracefully_mid_call() {
    let (mut server, port) = helloworld_server();
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");

    // A long call in flight: reflection's bidi stream, open until we end our requests.
    let reflection = ServerReflectionBlockingClient::new(channel.clone());
    let (requests, queued) = mpsc::channel();
    requests.send(list_services()).expect("queued");
    let mut answers = reflection.server_reflection_info(queued).expect("reflection call");
    assert!(service_names(answers.next().expect("an answer")).contains(&"helloworld.Greeter".to_owned()));

    // Health's watch tells us when the stop has begun.
    let health = HealthBlockingClient::new(channel);
    let mut watch = health.watch(HealthCheckRequest { service: String::new() }).expect("watch");
    let status = |update: Option<rust_rpc::Result<rust_rpc::health::HealthCheckResponse>>| {
        update.expect("a health update").expect("health update").status
    };
    assert_eq!(status(watch.next()), ServingStatus::Serving as i32);

    send_signal("-TERM", server.id());
    assert_eq!(status(watch.next()), ServingStatus::NotServing as i32, "the stop began");
    drop(watch);

    // Draining: the call in flight is still served...
    requests.send(list_services()).expect("queued");
    assert!(service_names(answers.next().expect("an answer after SIGTERM")).contains(&"helloworld.Greeter".to_owned()));
    // ...and ends with OK when we end it.
    drop(requests);
    assert!(answers.next().is_none(), "the call ended with OK");

    // Then the process exits, with status 0 (`wait` fails the test otherwise).
    server.wait();
}

/// Ctrl-C (SIGINT) stops the server as SIGTERM does.
#[cfg(unix)]
#[test]
fn sigint_stops_the_example_server_too() {
    let (mut server, port) = helloworld_server();
    let health = HealthBlockingClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    let mut watch = health.watch(HealthCheckRequest { service: String::new() }).expect("watch");
    assert_eq!(watch.next().expect("an update").expect("update").status, ServingStatus::Serving as i32);
    send_signal("-INT", server.id());
    assert_eq!(watch.next().expect("an update").expect("update").status, ServingStatus::NotServing as i32);
    drop(watch);
    server.wait();
}
