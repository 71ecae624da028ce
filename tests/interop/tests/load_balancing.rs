//! Load balancing against a reference: grpcio's `round_robin` (`peers/python/lb_client.py`)
//! and rust-rpc's, over the same name served by a real DNS server (dnsmasq) and the same three
//! rust-rpc replicas on 127.0.0.1, .2 and .3, spread their calls the same way: evenly.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rust_rpc::bytes::Bytes;
use rust_rpc::stream::StreamExt;
use rust_rpc::{ChannelBuilder, GenericClient, LoadBalancing, ResponseStream, Server};
use test_support::{Dnsmasq, Peer, repo};

const PEER_TIMEOUT: Duration = Duration::from_secs(120);
const CALLS: usize = 3000;

/// A replica answering /lb.Replica/Who with its name, counting calls.
fn replica(name: &'static str, ip: Ipv4Addr, port: u16, calls: Arc<AtomicUsize>) -> Option<(Server, u16)> {
    let server = Server::builder()
        .fallback(move |requests, _context| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok(ResponseStream::new(requests.map(move |m| m.map(|_| Bytes::from_static(name.as_bytes()))))) }
        })
        .build();
    let port = server.add_insecure_port(&format!("{ip}:{port}")).ok()?;
    server.start().expect("start");
    Some((server, port))
}

/// Three replicas, `r1` to `r3`, on 127.0.0.1 to .3 and one port.
fn replicas() -> (Vec<Server>, Vec<Arc<AtomicUsize>>, u16) {
    const NAMES: [&str; 3] = ["r1", "r2", "r3"];
    for _ in 0..50 {
        let counts: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
        let Some((first, port)) = replica(NAMES[0], Ipv4Addr::new(127, 0, 0, 1), 0, counts[0].clone()) else {
            continue;
        };
        let mut servers = vec![first];
        for i in 1..3 {
            match replica(NAMES[i], Ipv4Addr::new(127, 0, 0, i as u8 + 1), port, counts[i].clone()) {
                Some((server, _)) => servers.push(server),
                None => break,
            }
        }
        if servers.len() == 3 {
            return (servers, counts, port);
        }
    }
    panic!("no port free on 127.0.0.1, .2 and .3");
}

/// `r1=N r2=N r3=N` as a map.
fn parse(line: &str) -> BTreeMap<String, usize> {
    line.split_whitespace()
        .map(|pair| {
            let (name, n) = pair.split_once('=').expect("name=count");
            (name.to_owned(), n.parse().expect("count"))
        })
        .collect()
}

fn assert_even(who: &str, spread: &BTreeMap<String, usize>) {
    assert_eq!(spread.values().sum::<usize>(), CALLS, "{who}: {spread:?}");
    assert_eq!(spread.len(), 3, "{who}: {spread:?}");
    for n in spread.values() {
        assert!((900..=1100).contains(n), "{who}: within 10% of 1,000 each: {spread:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_and_rust_rpc_round_robin_spread_calls_alike_over_a_dns_name() {
    let (servers, counts, port) = replicas();
    let ips = (1..=3).map(|l| IpAddr::V4(Ipv4Addr::new(127, 0, 0, l))).collect();
    let dns = Dnsmasq::start(&[("svc.test", ips)]);
    let dns_port = dns.port();

    // grpcio, with its c-ares resolver asking dnsmasq.
    let before: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    let line = tokio::task::spawn_blocking(move || {
        let script = repo().join("tests/interop/peers/python/lb_client.py");
        let args = [dns_port.to_string(), port.to_string(), "3".into(), CALLS.to_string()];
        Peer::python(script, args, PEER_TIMEOUT).answer("the counts")
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let grpcio = parse(&line);
    assert_even("grpcio", &grpcio);
    let served: usize = counts.iter().zip(&before).map(|(c, b)| c.load(Ordering::SeqCst) - b).sum();
    assert!(served >= CALLS, "the replicas served the calls: {served}");

    // rust-rpc, the same way.
    let channel = ChannelBuilder::new(format!("dns://127.0.0.1:{dns_port}/svc.test:{port}"))
        .load_balancing(LoadBalancing::RoundRobin)
        .build()
        .expect("channel");
    let client = GenericClient::raw(channel);
    let who = |name: &'static str| {
        let client = client.clone();
        async move {
            let answer = client.unary("/lb.Replica/Who", Bytes::from_static(name.as_bytes())).await.expect("call");
            String::from_utf8(answer.to_vec()).expect("a name")
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        seen.insert(who("warm-up").await);
        if seen.len() == 3 {
            break;
        }
    }
    assert_eq!(seen.len(), 3, "every replica answers: {seen:?}");
    let mut ours = BTreeMap::new();
    for _ in 0..CALLS {
        *ours.entry(who("x").await).or_insert(0) += 1;
    }
    println!("grpcio {grpcio:?}, rust-rpc {ours:?}");
    assert_even("rust-rpc", &ours);
    for server in servers {
        server.stop(None).await;
    }
}
