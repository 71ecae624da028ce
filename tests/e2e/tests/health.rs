//! The health service over loopback with rust-rpc's own generated health client: statuses,
//! Watch through changes and a server stop, and Watch streams that leave nothing behind.

use std::time::Duration;

use rust_rpc::health::{self, Health, HealthCheckRequest, HealthClient, HealthListRequest, ServingStatus};
use rust_rpc::{Code, Server, Streaming};

use crate::support::{TestGreeter, no_hang};

/// A server with the greeter and `health`; its port.
fn serve(health: &Health) -> (Server, u16) {
    let server = Server::new();
    e2e::helloworld::add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add greeter");
    health::add_health_servicer_to_server(health.clone(), &server).expect("add health");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

fn client(port: u16) -> HealthClient {
    HealthClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"))
}

fn request(service: &str) -> HealthCheckRequest {
    HealthCheckRequest { service: service.to_owned() }
}

/// The next status a Watch reports.
async fn next(watch: &mut Streaming<rust_rpc::health::HealthCheckResponse>) -> ServingStatus {
    let answer = no_hang("the next Watch update", watch.message()).await.expect("an update").expect("not ended");
    ServingStatus::try_from(answer.status).expect("a known status")
}

/// Waits until the server's health state holds `expected` (channels, watchers).
async fn settles(health: &Health, expected: (usize, usize)) {
    let settled = async {
        while health.channels_and_watchers() != expected {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(crate::support::HANG_GUARD, settled).await.is_err() {
        panic!("health state is {:?}, expected {expected:?}", health.channels_and_watchers());
    }
}

#[tokio::test]
async fn check_and_list_report_what_was_set() {
    let health = Health::new();
    let (_server, port) = serve(&health);
    let client = client(port);
    let status = |answer: rust_rpc::health::HealthCheckResponse| ServingStatus::try_from(answer.status).ok();
    assert_eq!(status(client.check(request("")).await.expect("check")), Some(ServingStatus::Serving));
    let err = client.check(request("helloworld.Greeter")).await.expect_err("no status yet");
    assert_eq!(err.code(), Code::NotFound, "{err}");
    health.set_status("helloworld.Greeter", ServingStatus::NotServing);
    assert_eq!(
        status(client.check(request("helloworld.Greeter")).await.expect("check")),
        Some(ServingStatus::NotServing)
    );
    let listed = client.list(HealthListRequest {}).await.expect("list").statuses;
    let mut listed: Vec<_> = listed.into_iter().map(|(name, answer)| (name, status(answer))).collect();
    listed.sort();
    let expected = [
        ("".to_owned(), Some(ServingStatus::Serving)),
        ("helloworld.Greeter".to_owned(), Some(ServingStatus::NotServing)),
    ];
    assert_eq!(listed, expected);
    health.clear_status("helloworld.Greeter");
    let err = client.check(request("helloworld.Greeter")).await.expect_err("cleared");
    assert_eq!(err.code(), Code::NotFound, "{err}");
}

#[tokio::test]
async fn watch_follows_a_service_that_appears_later_and_goes_again() {
    let health = Health::new();
    let (_server, port) = serve(&health);
    let mut watch = client(port).watch(request("later.Service")).await.expect("watch");
    assert_eq!(next(&mut watch).await, ServingStatus::ServiceUnknown);
    health.set_status("later.Service", ServingStatus::Serving);
    assert_eq!(next(&mut watch).await, ServingStatus::Serving);
    health.clear_status("later.Service");
    assert_eq!(next(&mut watch).await, ServingStatus::ServiceUnknown);
    // The watcher keeps the unknown service's channel until it goes.
    settles(&health, (2, 1)).await;
    drop(watch);
    settles(&health, (1, 0)).await;
}

#[tokio::test]
async fn stopping_the_server_turns_every_status_not_serving_before_it_drains() {
    let health = Health::new();
    health.set_status("helloworld.Greeter", ServingStatus::Serving);
    let (server, port) = serve(&health);
    let mut overall = client(port).watch(request("")).await.expect("watch");
    let mut greeter = client(port).watch(request("helloworld.Greeter")).await.expect("watch");
    assert_eq!(next(&mut overall).await, ServingStatus::Serving);
    assert_eq!(next(&mut greeter).await, ServingStatus::Serving);
    // The grace lets the watchers read the change; then their streams end with the server.
    let stopping = tokio::spawn(async move { server.stop(Some(Duration::from_secs(1))).await });
    assert_eq!(next(&mut overall).await, ServingStatus::NotServing);
    assert_eq!(next(&mut greeter).await, ServingStatus::NotServing);
    // Changes after the stop began are ignored: the server is going away.
    health.set_status("helloworld.Greeter", ServingStatus::Serving);
    assert_eq!(health.status("helloworld.Greeter"), Some(ServingStatus::NotServing));
    let end = no_hang("the Watch ends when grace is over", overall.message()).await;
    assert!(matches!(&end, Ok(None)) || end.as_ref().is_err_and(|e| e.code() == Code::Unavailable), "{end:?}");
    no_hang("stop returns", stopping).await.expect("stop");
}

#[tokio::test]
async fn a_thousand_cancelled_watches_leave_nothing_behind() {
    let health = Health::new();
    let (_server, port) = serve(&health);
    // Ten connections of 100 streams: one HTTP/2 connection holds only as many streams at once
    // as the server allows (hyper's default is 200).
    let clients: Vec<HealthClient> = (0..10).map(|_| client(port)).collect();
    let mut watches = Vec::new();
    for i in 0..1000 {
        // Half on the server as a whole, half on services that never get a status.
        let service = if i % 2 == 0 { String::new() } else { format!("ghost.Service{i}") };
        let mut watch = clients[i % 10].watch(request(&service)).await.expect("watch");
        next(&mut watch).await;
        watches.push(watch);
    }
    settles(&health, (501, 1000)).await;
    drop(watches);
    settles(&health, (1, 0)).await;
    // And the server still serves.
    assert!(clients[0].check(request("")).await.is_ok());
}
