//! The health service against a client nobody here wrote: grpcio-health-checking's
//! (`tests/interop/peers/python/health_client.py`, in the venv `tests/interop/peers/setup.sh`
//! installs). Check, List, and a Watch that sees each status change the test makes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rust_rpc::Server;
use rust_rpc::health::{self, Health, ServingStatus};

/// How long any one step may take before the test fails as hung (not a speed check).
const HANG_GUARD: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python, installing the peers first if needed (setup.sh is idempotent).
fn python() -> PathBuf {
    let status = Command::new("bash").arg(repo().join("tests/interop/peers/setup.sh")).status().expect("run setup.sh");
    assert!(status.success(), "tests/interop/peers/setup.sh failed");
    repo().join(".cache/interop/venv/bin/python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_health_checking_checks_lists_and_watches() {
    let server = Server::new();
    let health = Health::new();
    health::add_health_servicer_to_server(health.clone(), &server).expect("add health");
    health.set_status("other.Service", ServingStatus::NotServing);
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");

    let mut client = Command::new(python())
        .arg(repo().join("tests/interop/peers/python/health_client.py"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the Python client");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = client.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(HANG_GUARD, lines.recv())
            .await
            .expect("the Python client hung")
            .expect("the Python client ended early")
    };

    assert_eq!(next().await, "check - SERVING");
    assert_eq!(next().await, "check no.such.Service NOT_FOUND");
    assert_eq!(next().await, "list -=SERVING other.Service=NOT_SERVING");
    // Watch starts before the service has a status, then sees each change.
    assert_eq!(next().await, "watch SERVICE_UNKNOWN");
    health.set_status("helloworld.Greeter", ServingStatus::Serving);
    assert_eq!(next().await, "watch SERVING");
    // Setting the same status again is no change, so the next update is the one after it.
    health.set_status("helloworld.Greeter", ServingStatus::Serving);
    health.set_status("helloworld.Greeter", ServingStatus::NotServing);
    assert_eq!(next().await, "watch NOT_SERVING");
    assert_eq!(next().await, "done");
    let exit = tokio::task::spawn_blocking(move || client.wait()).await.expect("join").expect("wait");
    assert!(exit.success(), "the Python client failed: {exit}");

    // The cancelled Watch lets go of its channel on the server: three statuses, no watchers.
    tokio::time::timeout(HANG_GUARD, async {
        while health.channels_and_watchers() != (3, 0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the cancelled Watch still holds {:?}", health.channels_and_watchers()));
    server.stop(None).await;
}
