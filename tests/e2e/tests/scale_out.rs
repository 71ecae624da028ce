//! Issue 16's load balancing and retries together, over several replicas on loopback: the
//! service config chooses `round_robin` (no channel option set), a replica killed under load
//! costs no call when the config retries UNAVAILABLE, and hedged calls answer from the fast
//! replicas while one replica is slow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{ChannelBuilder, Server, ServicerContext};

use crate::support::{Load, hello, no_hang, poll_until};

/// A replica's greeter: answers with its own name, after `delay`; counts the calls it took and
/// the ones dropped unfinished (their client cancelled them).
#[derive(Clone)]
struct Named {
    name: &'static str,
    delay: Duration,
    calls: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
}

impl GreeterServicer for Named {
    async fn say_hello(&self, request: HelloRequest, _: ServicerContext) -> rust_rpc::Result<HelloReply> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = match request.name.strip_prefix("sleep:") {
            Some(ms) => Duration::from_millis(ms.parse().unwrap_or(0)),
            None => self.delay,
        };
        // A call its client cancels is dropped where it waits: the guard counts it then.
        let unfinished = Unfinished(Some(self.cancelled.clone()));
        tokio::time::sleep(delay).await;
        unfinished.finished();
        Ok(HelloReply { message: self.name.to_owned() })
    }
}

/// Counts a handler dropped before it finished.
struct Unfinished(Option<Arc<AtomicUsize>>);

impl Unfinished {
    fn finished(mut self) {
        self.0 = None;
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(count) = &self.0 {
            count.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct Replica {
    server: Server,
    port: u16,
    greeter: Named,
}

impl Replica {
    fn start(name: &'static str, delay: Duration) -> Replica {
        let greeter = Named { name, delay, calls: Arc::default(), cancelled: Arc::default() };
        let server = Server::new();
        add_greeter_servicer_to_server(greeter.clone(), &server).expect("add service");
        let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
        server.start().expect("start");
        Replica { server, port, greeter }
    }

    fn calls(&self) -> usize {
        self.greeter.calls.load(Ordering::SeqCst)
    }
}

/// A channel over every replica, `ipv4:` listed, with `config` as its service config and no
/// load-balancing option of its own.
fn channel(replicas: &[Replica], config: &str) -> rust_rpc::Channel {
    let list: Vec<String> = replicas.iter().map(|r| format!("127.0.0.1:{}", r.port)).collect();
    ChannelBuilder::new(format!("ipv4:{}", list.join(","))).service_config(config).build().expect("channel")
}

/// Calls until every replica has answered one: only round_robin gets there (pick_first sends
/// every call to one replica), so this also checks that the config's policy is the one in use.
async fn until_each_answered(client: &GreeterClient, replicas: &[Replica]) {
    no_hang("round_robin reaches every replica", async {
        while replicas.iter().any(|r| r.calls() == 0) {
            client.say_hello(hello("sleep:0")).await.expect("warm-up call");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_fails_no_call_when_the_config_retries_unavailable() {
    let replicas: Vec<Replica> = ["a", "b", "c"].into_iter().map(|n| Replica::start(n, Duration::ZERO)).collect();
    let config = r#"{
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [{
            "name": [{"service": "helloworld.Greeter"}],
            "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
                            "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
        }]
    }"#;
    let client = GreeterClient::new(channel(&replicas, config));
    until_each_answered(&client, &replicas).await;

    // Eight workers, one 5 ms call in flight each: the replica killed has calls in flight.
    const WORKERS: usize = 8;
    let load = Load::start(&client, WORKERS, "sleep:5");
    let start = replicas[0].calls();
    poll_until("load on the replica to kill", Duration::from_millis(5), || replicas[0].calls() >= start + 50).await;
    // Killed with no grace: the calls it has in flight end with its connection.
    replicas[0].server.stop(Some(Duration::ZERO)).await;
    let after_kill: Vec<usize> = replicas.iter().map(Replica::calls).collect();
    poll_until("calls go on on the survivors", Duration::from_millis(5), || {
        replicas[1].calls() >= after_kill[1] + 200 && replicas[2].calls() >= after_kill[2] + 200
    })
    .await;
    let (succeeded, failures) = load.stop().await;
    assert!(failures.is_empty(), "{} calls failed despite the retry policy: {failures:?}", failures.len());
    assert!(succeeded >= 400, "{succeeded}");
    assert_eq!(replicas[0].calls(), after_kill[0], "no call reached the killed replica");
    for replica in &replicas[1..] {
        replica.server.stop(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hedged_calls_answer_from_the_fast_replicas_while_one_is_slow() {
    // The slow replica takes far longer than the test may run (see `no_hang`): a call that
    // waited for it could not finish in time.
    let replicas = vec![
        Replica::start("slow", Duration::from_secs(600)),
        Replica::start("fast-1", Duration::ZERO),
        Replica::start("fast-2", Duration::ZERO),
    ];
    let config = r#"{
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [{
            "name": [{"service": "helloworld.Greeter", "method": "SayHello"}],
            "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.02s", "nonFatalStatusCodes": []}
        }]
    }"#;
    let client = GreeterClient::new(channel(&replicas, config));
    // Warm-up calls name their own delay: the slow replica answers them too.
    until_each_answered(&client, &replicas).await;
    let slow_before = replicas[0].calls();

    let mut answered_by: HashMap<String, usize> = HashMap::new();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    no_hang("60 hedged calls", async {
        for _ in 0..60 {
            let start = std::time::Instant::now();
            let reply = client.say_hello(hello("x")).await.expect("a hedged call answers");
            latencies.lock().expect("lock").push(start.elapsed());
            *answered_by.entry(reply.message).or_default() += 1;
        }
    })
    .await;
    assert_eq!(answered_by.get("slow"), None, "{answered_by:?}");
    assert_eq!(answered_by.values().sum::<usize>(), 60);
    // Round robin started about a third of the first attempts on the slow replica: each was
    // overtaken by a hedge, then cancelled.
    let slow_attempts = replicas[0].calls() - slow_before;
    assert!(slow_attempts >= 10, "the slow replica got {slow_attempts} attempts");
    poll_until("the slow attempts are cancelled", Duration::from_millis(5), || {
        replicas[0].greeter.cancelled.load(Ordering::SeqCst) >= slow_attempts
    })
    .await;
    let mut latencies = latencies.lock().expect("lock").clone();
    latencies.sort();
    println!("hedged calls: answered by {answered_by:?}; p50 {:?}, max {:?}", latencies[30], latencies[59]);
    for replica in &replicas {
        replica.server.stop(Some(Duration::ZERO)).await;
    }
}
