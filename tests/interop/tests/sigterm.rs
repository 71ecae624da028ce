//! The interop server stops gracefully on SIGTERM (what Kubernetes and systemd send): a call in
//! flight when the signal comes goes on to its end, and the process exits 0.

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use interop::pb::{ResponseParameters, StreamingOutputCallRequest, TestServiceBlockingClient};
use test_support::Peer;

/// Bounds every wait on the server process.
const TIMEOUT: Duration = Duration::from_secs(60);

fn one_response(size: i32) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: vec![ResponseParameters { size, ..Default::default() }],
        ..Default::default()
    }
}

#[cfg(unix)]
#[test]
fn sigterm_lets_a_call_in_flight_finish_then_exits_0() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_interop-server"));
    command.args(["--port", "0"]);
    let mut server = Peer::spawn(command, TIMEOUT);
    let line = server.line("listening on PORT");
    let port: u16 = line.rsplit(' ').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line:?}"));

    let client =
        TestServiceBlockingClient::new(rust_rpc::insecure_channel(&format!("localhost:{port}")).expect("channel"));
    let (requests, queued) = mpsc::channel();
    requests.send(one_response(3)).expect("queued");
    let mut responses = client.full_duplex_call(queued).expect("bidi");
    assert_eq!(responses.next().expect("a response").expect("ok").payload.map(|p| p.body.len()), Some(3));

    let status = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().expect("kill runs");
    assert!(status.success());

    requests.send(one_response(5)).expect("queued");
    let after = responses.next().expect("a response after SIGTERM").expect("still served");
    assert_eq!(after.payload.map(|p| p.body.len()), Some(5));
    drop(requests);
    assert!(responses.next().is_none(), "the call ended with OK");
    // Fails the test unless the server exits with status 0.
    server.wait();
}
