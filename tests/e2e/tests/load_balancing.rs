//! Issue 16: a channel as resolver -> load-balancing policy -> subchannels. Replicas on
//! 127.0.0.1, 127.0.0.2 and 127.0.0.3 (all loopback on Linux), found through a real DNS server
//! (dnsmasq, tests/support) or an `ipv4:` list; calls counted by each replica's servicer.

use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{
    Address, ChannelBuilder, Code, ConnectivityState, LoadBalancing, ResolveFuture, Resolver, Server, ServicerContext,
};
use test_support::Dnsmasq;

use crate::support::{HANG_GUARD, Load, hello, no_hang, poll_until};

/// A greeter that counts its calls; `sleep:<ms>` sleeps first.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl GreeterServicer for Counting {
    async fn say_hello(&self, request: HelloRequest, _: ServicerContext) -> rust_rpc::Result<HelloReply> {
        self.0.fetch_add(1, Ordering::SeqCst);
        if let Some(ms) = request.name.strip_prefix("sleep:") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        }
        Ok(HelloReply { message: request.name })
    }
}

/// One replica: its server, its address and its call count.
struct Replica {
    server: Server,
    address: SocketAddr,
    calls: Arc<AtomicUsize>,
}

impl Replica {
    /// A replica on `ip:port` (port 0: any).
    fn start(ip: Ipv4Addr, port: u16) -> Option<Replica> {
        let greeter = Counting::default();
        let calls = greeter.0.clone();
        let server = Server::new();
        add_greeter_servicer_to_server(greeter, &server).expect("add service");
        let port = server.add_insecure_port(&format!("{ip}:{port}")).ok()?;
        server.start().expect("start");
        Some(Replica { server, address: SocketAddr::new(IpAddr::V4(ip), port), calls })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

/// Replicas on 127.0.0.1, .2, ... (one per entry of `lasts`), all on one port.
fn replicas_on_one_port(lasts: &[u8]) -> (Vec<Replica>, u16) {
    for _ in 0..50 {
        let Some(first) = Replica::start(ip(lasts[0]), 0) else { continue };
        let port = first.address.port();
        let mut replicas = vec![first];
        for last in &lasts[1..] {
            match Replica::start(ip(*last), port) {
                Some(replica) => replicas.push(replica),
                None => break,
            }
        }
        if replicas.len() == lasts.len() {
            return (replicas, port);
        }
    }
    panic!("no port free on every loopback address");
}

/// The hosts entry of `name` for replicas on these loopback addresses.
fn hosts(name: &'static str, lasts: &[u8]) -> Vec<(&'static str, Vec<IpAddr>)> {
    vec![(name, lasts.iter().map(|l| IpAddr::V4(ip(*l))).collect())]
}

fn counts(replicas: &[Replica]) -> Vec<usize> {
    replicas.iter().map(Replica::calls).collect()
}

/// Calls until every replica in `replicas` has answered one (their connections are all up).
async fn until_each_answered(client: &GreeterClient, replicas: &[&Replica]) {
    no_hang("every replica answers", async {
        while replicas.iter().any(|r| r.calls() == 0) {
            client.say_hello(hello("warm-up")).await.expect("warm-up call");
        }
    })
    .await;
}

/// `total` calls, eight at a time.
async fn calls(client: &GreeterClient, total: usize) {
    let per_worker = total / 8;
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    client.say_hello(hello("x")).await.expect("call");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_over_dns_spreads_calls_evenly_and_pick_first_sticks_to_one() {
    let (replicas, port) = replicas_on_one_port(&[1, 2, 3]);
    let dns = Dnsmasq::start(&hosts("svc.test", &[1, 2, 3]));
    let target = format!("dns://{}/svc.test:{port}", dns.address());

    let channel = ChannelBuilder::new(&target).load_balancing(LoadBalancing::RoundRobin).build().expect("channel");
    assert_eq!(channel.authority(), format!("svc.test:{port}"));
    let client = GreeterClient::new(channel);
    until_each_answered(&client, &replicas.iter().collect::<Vec<_>>()).await;
    let before = counts(&replicas);
    calls(&client, 3000).await;
    let spread: Vec<usize> = counts(&replicas).iter().zip(&before).map(|(after, before)| after - before).collect();
    assert_eq!(spread.iter().sum::<usize>(), 3000);
    for count in &spread {
        assert!((900..=1100).contains(count), "within 10% of 1,000 each: {spread:?}");
    }

    // pick_first (the default): every call to one replica.
    let client = GreeterClient::new(ChannelBuilder::new(&target).build().expect("channel"));
    let before = counts(&replicas);
    calls(&client, 800).await;
    let spread: Vec<usize> = counts(&replicas).iter().zip(&before).map(|(after, before)| after - before).collect();
    assert_eq!(spread.iter().filter(|c| **c > 0).count(), 1, "one replica took every call: {spread:?}");
    assert_eq!(spread.iter().sum::<usize>(), 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_fails_only_the_calls_it_had() {
    let replicas: Vec<Replica> = (0..3).map(|_| Replica::start(ip(1), 0).expect("replica")).collect();
    let list: Vec<String> = replicas.iter().map(|r| r.address.to_string()).collect();
    let channel = ChannelBuilder::new(format!("ipv4:{}", list.join(",")))
        .load_balancing(LoadBalancing::RoundRobin)
        .build()
        .expect("channel");
    let client = GreeterClient::new(channel);
    until_each_answered(&client, &replicas.iter().collect::<Vec<_>>()).await;

    // Four workers, one call in flight each, each call 5 ms long: every replica has calls in
    // flight when the first is killed.
    const WORKERS: usize = 4;
    let load = Load::start(&client, WORKERS, "sleep:5");
    let start = replicas[0].calls();
    poll_until("load on the replica to kill", Duration::from_millis(5), || replicas[0].calls() >= start + 20).await;
    // Killed: no grace, its calls in flight end at once.
    replicas[0].server.stop(Some(Duration::ZERO)).await;
    let after_kill = counts(&replicas);
    poll_until("calls go on on the survivors", Duration::from_millis(5), || {
        replicas[1].calls() >= after_kill[1] + 100 && replicas[2].calls() >= after_kill[2] + 100
    })
    .await;
    let (succeeded, failures) = load.stop().await;
    // At most the calls in flight on the killed replica: one per worker.
    assert!(failures.len() <= WORKERS, "{} failed: {failures:?}", failures.len());
    for failure in &failures {
        assert!(matches!(failure.code(), Code::Unavailable | Code::Cancelled), "{failure:?}");
    }
    assert!(succeeded >= 200);
    assert_eq!(replicas[0].calls(), after_kill[0], "no call reached the killed replica");
    for replica in &replicas[1..] {
        replica.server.stop(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_added_to_dns_get_calls_and_removed_ones_stop_getting_them() {
    let (replicas, port) = replicas_on_one_port(&[1, 2, 3]);
    let dns = Dnsmasq::start(&hosts("svc.test", &[1, 2]));
    let channel = ChannelBuilder::new(format!("dns://{}/svc.test:{port}", dns.address()))
        .load_balancing(LoadBalancing::RoundRobin)
        .resolution_interval(Duration::from_millis(100), Duration::from_millis(50))
        .build()
        .expect("channel");
    let client = GreeterClient::new(channel);
    until_each_answered(&client, &[&replicas[0], &replicas[1]]).await;
    assert_eq!(replicas[2].calls(), 0, "not in DNS yet");

    dns.set_hosts(&hosts("svc.test", &[1, 2, 3]));
    until_each_answered(&client, &[&replicas[2]]).await;

    dns.set_hosts(&hosts("svc.test", &[1, 3]));
    // Once a re-resolution has dropped it, the removed replica gets nothing more.
    no_hang("the removed replica stops getting calls", async {
        loop {
            let before = replicas[1].calls();
            calls(&client, 96).await;
            if replicas[1].calls() == before {
                break;
            }
        }
    })
    .await;
    let before = counts(&replicas);
    calls(&client, 400).await;
    let after = counts(&replicas);
    assert_eq!(after[1], before[1], "removed from DNS: {before:?} -> {after:?}");
    assert!(after[0] > before[0] && after[2] > before[2], "{before:?} -> {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_dns_does_not_know_fails_unavailable_naming_it() {
    let dns = Dnsmasq::start(&hosts("svc.test", &[1]));
    let replica = Replica::start(ip(2), 0).expect("replica");
    let port = replica.address.port();
    // Periodic lookups an hour apart: only the retry of a failed lookup finds the name later.
    let channel = ChannelBuilder::new(format!("dns://{}/missing.test:{port}", dns.address()))
        .resolution_interval(Duration::from_secs(3600), Duration::from_millis(50))
        .build()
        .expect("channel");
    let client = GreeterClient::new(channel.clone());
    let error = client.say_hello(hello("x")).await.expect_err("no such name");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(error.details().contains("missing.test"), "{error:?}");
    assert!(error.details().contains("name resolution"), "{error:?}");
    assert_eq!(channel.state(false), ConnectivityState::TransientFailure);

    // The name appears: a call waiting for ready gets through once a lookup finds it.
    dns.set_hosts(&[("svc.test", vec![IpAddr::V4(ip(1))]), ("missing.test", vec![IpAddr::V4(ip(2))])]);
    client.say_hello(hello("x")).wait_for_ready(true).timeout(HANG_GUARD).await.expect("found at last");
    assert_eq!(replica.calls(), 1);
    replica.server.stop(None).await;
}

/// A resolver that finds nothing.
struct Nothing;

impl Resolver for Nothing {
    fn resolve(&self) -> ResolveFuture<'_> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// A fixed list of addresses.
struct Fixed(Vec<Address>);

impl Resolver for Fixed {
    fn resolve(&self) -> ResolveFuture<'_> {
        let addresses = self.0.clone();
        Box::pin(async move { Ok(addresses) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_finding_no_addresses_fails_calls_unavailable_and_a_custom_one_is_used() {
    let channel = ChannelBuilder::new("nowhere.test:1").resolver(Nothing).build().expect("channel");
    let error = GreeterClient::new(channel).say_hello(hello("x")).await.expect_err("no addresses");
    assert_eq!(error.code(), Code::Unavailable);
    assert!(error.details().contains("no addresses") && error.details().contains("nowhere.test:1"), "{error:?}");

    // A resolver of our own, round robin over what it gives.
    let replicas: Vec<Replica> = (2..4).map(|l| Replica::start(ip(l), 0).expect("replica")).collect();
    let channel = ChannelBuilder::new("my-service:443")
        .resolver(Fixed(replicas.iter().map(|r| Address::from(r.address)).collect()))
        .load_balancing(LoadBalancing::RoundRobin)
        .build()
        .expect("channel");
    let client = GreeterClient::new(channel);
    until_each_answered(&client, &replicas.iter().collect::<Vec<_>>()).await;
}

/// A "DNS server" that answers every query with SERVFAIL, counting them.
fn servfail_server(port: u16) -> Arc<AtomicUsize> {
    let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind the DNS port");
    let queries = Arc::new(AtomicUsize::new(0));
    let counted = queries.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buffer) {
            if n < 12 {
                continue;
            }
            counted.fetch_add(1, Ordering::SeqCst);
            let mut answer = buffer[..n].to_vec();
            answer[2] = 0x81; // QR, RD
            answer[3] = 0x82; // RA, SERVFAIL
            let _ = socket.send_to(&answer, from);
        }
    });
    queries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_server_that_stops_answering_leaves_the_last_good_addresses() {
    let (replicas, port) = replicas_on_one_port(&[1, 2]);
    let mut dns = Dnsmasq::start(&hosts("svc.test", &[1, 2]));
    let dns_port = dns.port();
    let channel = ChannelBuilder::new(format!("dns://{}/svc.test:{port}", dns.address()))
        .load_balancing(LoadBalancing::RoundRobin)
        .resolution_interval(Duration::from_millis(50), Duration::from_millis(50))
        .build()
        .expect("channel");
    let client = GreeterClient::new(channel.clone());
    until_each_answered(&client, &replicas.iter().collect::<Vec<_>>()).await;

    // The server is gone, then answers only SERVFAIL: lookups fail, one after another.
    dns.stop();
    let queries = servfail_server(dns_port);
    poll_until("lookups fail", Duration::from_millis(10), || queries.load(Ordering::SeqCst) >= 3).await;
    let before = counts(&replicas);
    calls(&client, 400).await;
    let after = counts(&replicas);
    assert!(after[0] > before[0] && after[1] > before[1], "both replicas still get calls: {before:?} -> {after:?}");
    assert_eq!(channel.state(false), ConnectivityState::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_replica_down_calls_fail_fast_or_wait_and_the_channel_recovers() {
    // Two ports with nothing listening.
    let ports: Vec<u16> = (0..2).map(|_| crate::support::dead_port()).collect();
    for policy in [LoadBalancing::PickFirst, LoadBalancing::RoundRobin] {
        let channel = ChannelBuilder::new(format!("ipv4:127.0.0.1:{},127.0.0.1:{}", ports[0], ports[1]))
            .load_balancing(policy)
            .reconnect_backoff(Duration::from_millis(20), 1.6, 0.2, Duration::from_millis(100))
            .build()
            .expect("channel");
        let client = GreeterClient::new(channel.clone());
        let error = client.say_hello(hello("x")).await.expect_err("nothing listens");
        assert_eq!(error.code(), Code::Unavailable, "{policy:?}: {error:?}");
        assert!(error.details().contains("failed to connect"), "{policy:?}: {error:?}");
        assert!(error.details().contains("127.0.0.1:"), "{policy:?}: {error:?}");
        assert_eq!(channel.state(false), ConnectivityState::TransientFailure, "{policy:?}");

        // Waiting for ready, the call waits until its deadline.
        let error = client
            .say_hello(hello("x"))
            .wait_for_ready(true)
            .timeout(Duration::from_millis(200))
            .await
            .expect_err("still nothing");
        assert_eq!(error.code(), Code::DeadlineExceeded, "{policy:?}: {error:?}");

        // A replica comes back: a waiting call gets through, and the channel is READY.
        let waiting = tokio::spawn({
            let client = client.clone();
            async move { client.say_hello(hello("x")).wait_for_ready(true).timeout(HANG_GUARD).await }
        });
        let replica = Replica::start(ip(1), ports[1]).expect("the port is free again");
        no_hang("the waiting call", waiting).await.expect("task").expect("answered once the replica is back");
        assert_eq!(channel.state(false), ConnectivityState::Ready);
        client.say_hello(hello("x")).await.expect("fails fast no more");
        replica.server.stop(None).await;
    }
}

// One thread: the channel's tasks run only when the test awaits, so CONNECTING is seen before
// the connection is made.
#[tokio::test]
async fn connectivity_state_goes_idle_connecting_ready_and_back_and_shutdown_on_close() {
    let replica = Replica::start(ip(1), 0).expect("replica");
    let channel = ChannelBuilder::new(replica.address.to_string()).build().expect("channel");
    let mut states = channel.subscribe();
    assert_eq!(*states.borrow_and_update(), ConnectivityState::Idle);
    assert_eq!(channel.state(false), ConnectivityState::Idle, "no connection before asked");
    assert_eq!(channel.state(true), ConnectivityState::Connecting);
    assert!(channel.wait_for_state_change(ConnectivityState::Connecting, HANG_GUARD).await);
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    no_hang("the subscriber hears of it", states.wait_for(|s| *s == ConnectivityState::Ready)).await.expect("open");

    // The server goes: pick_first leaves READY (to IDLE, gRFC A62) and waits for a call.
    replica.server.stop(None).await;
    assert!(channel.wait_for_state_change(ConnectivityState::Ready, HANG_GUARD).await);
    no_hang("the subscriber hears of it", states.wait_for(|s| *s != ConnectivityState::Ready)).await.expect("open");
    let left = channel.state(false);
    assert!(matches!(left, ConnectivityState::Idle | ConnectivityState::TransientFailure), "{left}");
    let error = GreeterClient::new(channel.clone()).say_hello(hello("x")).await.expect_err("no server");
    assert_eq!(error.code(), Code::Unavailable);
    assert_eq!(channel.state(false), ConnectivityState::TransientFailure);

    channel.close();
    assert_eq!(channel.state(true), ConnectivityState::Shutdown, "closed for good");
    no_hang("the subscriber hears of it", states.wait_for(|s| *s == ConnectivityState::Shutdown)).await.expect("open");
    let error = GreeterClient::new(channel).say_hello(hello("x")).await.expect_err("closed");
    assert_eq!(error.code(), Code::Unavailable);
    assert!(error.details().contains("closed"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_channel_goes_idle_after_its_idle_timeout_and_reconnects_on_the_next_call() {
    let replica = Replica::start(ip(1), 0).expect("replica");
    let channel = ChannelBuilder::new(replica.address.to_string())
        .idle_timeout(Duration::from_millis(200))
        .build()
        .expect("channel");
    let client = GreeterClient::new(channel.clone());
    client.say_hello(hello("x")).await.expect("call");
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    // A call longer than the idle timeout keeps it connected.
    client.say_hello(hello("sleep:600")).await.expect("long call");
    assert!(channel.wait_for_state_change(ConnectivityState::Ready, HANG_GUARD).await);
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    assert!(!channel.is_connected());
    client.say_hello(hello("x")).await.expect("connects again");
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    assert_eq!(replica.calls(), 3);
    replica.server.stop(None).await;
}

#[tokio::test]
async fn a_dns_server_must_be_an_ip_address() {
    let error = ChannelBuilder::new("dns://dns.google/svc.test:1").build().expect_err("a name for the server");
    assert!(error.is_invalid_target());
    assert!(error.to_string().contains("must be an IP address"), "{error}");
}

#[test]
fn a_channel_outlives_the_runtime_it_first_connected_on() {
    let servers = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let replica = servers.block_on(async { Replica::start(ip(1), 0) }).expect("replica");
    let client = GreeterClient::new(ChannelBuilder::new(replica.address.to_string()).build().expect("channel"));
    // Each runtime is gone after its call, and the channel's tasks with it; the next one
    // connects again.
    for _ in 0..3 {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(client.say_hello(hello("x")).timeout(HANG_GUARD).into_future()).expect("call");
    }
    assert_eq!(replica.calls(), 3);
    servers.block_on(replica.server.stop(None));
}
