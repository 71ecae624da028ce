//! `Channel::close` with calls in flight: they end at once, with a status, and the server hears
//! of it (found by the soak, where a stream open on a closed channel waited forever).

use e2e::helloworld::GreeterClient;
use rust_rpc::Code;

use crate::support::{TestGreeter, hello, no_hang, start_greeter};

#[tokio::test]
async fn closing_a_channel_ends_its_calls_in_flight() {
    let greeter = TestGreeter::default();
    let (server, port) = start_greeter(greeter.clone());
    let channel = rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel");
    let client = GreeterClient::new(channel.clone());
    let started = greeter.started.notified();
    let held = tokio::spawn(async move { client.say_hello(hello("hold")).await });
    no_hang("the handler starts", started).await;

    let cancelled = greeter.cancelled.notified();
    channel.close();
    let err = no_hang("the call ends", held).await.expect("task").expect_err("the channel was closed");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    // The server saw the connection go and ended the handler's call.
    no_hang("the server hears of it", cancelled).await;
    assert!(!channel.is_connected());
    server.stop(None).await;
}
