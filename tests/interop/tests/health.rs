//! The health service against a client nobody here wrote: grpcio-health-checking's
//! (`tests/interop/peers/python/health_client.py`, in the venv `tests/interop/peers/setup.sh`
//! installs). Check, List, and a Watch that sees each status change the test makes.

use std::time::Duration;

use rust_rpc::Server;
use rust_rpc::health::{self, Health, ServingStatus};
use test_support::{Peer, repo};

/// How long any one step may take before the test fails as hung (not a speed check).
const HANG_GUARD: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_health_checking_checks_lists_and_watches() {
    let server = Server::new();
    let health = Health::new();
    health::add_health_servicer_to_server(health.clone(), &server).expect("add health");
    health.set_status("other.Service", ServingStatus::NotServing);
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");

    let script = repo().join("tests/interop/peers/python/health_client.py");
    let mut client = Peer::python(script, [port.to_string()], HANG_GUARD);
    // The server runs on this runtime: wait for the client's lines off its workers.
    let mut next = || tokio::task::block_in_place(|| client.line("its next line"));

    assert_eq!(next(), "check - SERVING");
    assert_eq!(next(), "check no.such.Service NOT_FOUND");
    assert_eq!(next(), "list -=SERVING other.Service=NOT_SERVING");
    // Watch starts before the service has a status, then sees each change.
    assert_eq!(next(), "watch SERVICE_UNKNOWN");
    health.set_status("helloworld.Greeter", ServingStatus::Serving);
    assert_eq!(next(), "watch SERVING");
    // Setting the same status again is no change, so the next update is the one after it.
    health.set_status("helloworld.Greeter", ServingStatus::Serving);
    health.set_status("helloworld.Greeter", ServingStatus::NotServing);
    assert_eq!(next(), "watch NOT_SERVING");
    assert_eq!(next(), "done");
    // Fails the test unless the client exits successfully.
    tokio::task::block_in_place(|| client.wait());

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
