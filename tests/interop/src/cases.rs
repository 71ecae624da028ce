//! The interop client's test cases, as gRPC's `doc/interop-test-descriptions.md` defines them.

use std::time::Duration;

use rust_rpc::stream::{self, StreamExt};
use rust_rpc::{Code, Compression, MessageCompression, Metadata, RpcError};
use tokio::sync::mpsc;

use crate::payload;
use crate::pb::{
    BoolValue, EchoStatus, Empty, ResponseParameters, SimpleRequest, StreamingInputCallRequest,
    StreamingOutputCallRequest, TestServiceClient, UnimplementedServiceClient,
};

/// Every case this client runs, in the spec's order.
pub const CASES: [&str; 18] = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "status_code_and_message",
    "special_status_message",
    "custom_metadata",
    "unimplemented_method",
    "unimplemented_service",
];

type CaseResult = Result<(), String>;

/// How long any one call may take before the case fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

fn ensure(condition: bool, what: impl FnOnce() -> String) -> CaseResult {
    if condition { Ok(()) } else { Err(what()) }
}

fn rpc(what: &str) -> impl FnOnce(RpcError) -> String + '_ {
    move |e| format!("{what} failed: {e}")
}

fn expect_code<T>(result: Result<T, RpcError>, code: Code, what: &str) -> CaseResult {
    match result {
        Ok(_) => Err(format!("{what}: expected {code}, the call succeeded")),
        Err(e) if e.code() == code => Ok(()),
        Err(e) => Err(format!("{what}: expected {code}, got {e}")),
    }
}

fn body_len(payload: &Option<crate::pb::Payload>) -> usize {
    payload.as_ref().map_or(0, |p| p.body.len())
}

fn streaming_request(sizes: &[i32], payload_size: i32) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: sizes.iter().map(|&size| ResponseParameters { size, ..Default::default() }).collect(),
        payload: Some(payload(payload_size)),
        ..Default::default()
    }
}

/// Runs the case called `name`.
pub async fn run(name: &str, client: &TestServiceClient, unimplemented: &UnimplementedServiceClient) -> CaseResult {
    match name {
        "empty_unary" => empty_unary(client).await,
        "large_unary" => large_unary(client).await,
        "client_compressed_unary" => client_compressed_unary(client).await,
        "server_compressed_unary" => server_compressed_unary(client).await,
        "client_streaming" => client_streaming(client).await,
        "client_compressed_streaming" => client_compressed_streaming(client).await,
        "server_streaming" => server_streaming(client, false).await,
        "server_compressed_streaming" => server_streaming(client, true).await,
        "ping_pong" => ping_pong(client).await,
        "empty_stream" => empty_stream(client).await,
        "timeout_on_sleeping_server" => timeout_on_sleeping_server(client).await,
        "cancel_after_begin" => cancel_after_begin(client).await,
        "cancel_after_first_response" => cancel_after_first_response(client).await,
        "status_code_and_message" => status(client, "test status message").await,
        "special_status_message" => {
            status(client, "\t\ntest with whitespace\r\nand Unicode BMP \u{263A} and non-BMP \u{1F608}\t\n").await
        }
        "custom_metadata" => custom_metadata(client).await,
        "unimplemented_method" => {
            expect_code(client.unimplemented_call(Empty {}).await, Code::Unimplemented, "UnimplementedCall")
        }
        "unimplemented_service" => expect_code(
            unimplemented.unimplemented_call(Empty {}).await,
            Code::Unimplemented,
            "UnimplementedService/UnimplementedCall",
        ),
        other => Err(format!("unknown test case {other:?}; known: {}", CASES.join(", "))),
    }
}

async fn empty_unary(client: &TestServiceClient) -> CaseResult {
    client.empty_call(Empty {}).timeout(CALL_TIMEOUT).await.map_err(rpc("EmptyCall"))?;
    Ok(())
}

fn large_request() -> SimpleRequest {
    SimpleRequest { response_size: 314_159, payload: Some(payload(271_828)), ..Default::default() }
}

async fn large_unary(client: &TestServiceClient) -> CaseResult {
    let response = client.unary_call(large_request()).timeout(CALL_TIMEOUT).await.map_err(rpc("UnaryCall"))?;
    ensure(body_len(&response.payload) == 314_159, || {
        format!("response payload is {} bytes", body_len(&response.payload))
    })
}

async fn client_compressed_unary(client: &TestServiceClient) -> CaseResult {
    let expecting = |value| SimpleRequest { expect_compressed: Some(BoolValue { value }), ..large_request() };
    // The probe: the server must notice an uncompressed request it was told to expect compressed.
    let probe = client.unary_call(expecting(true)).timeout(CALL_TIMEOUT).await;
    expect_code(probe, Code::InvalidArgument, "uncompressed probe")?;
    for (compressed, request) in [(true, expecting(true)), (false, expecting(false))] {
        let mut call = client.unary_call(request).timeout(CALL_TIMEOUT);
        if compressed {
            call = call.compression(Compression::Gzip);
        }
        let response = call.await.map_err(rpc("UnaryCall"))?;
        ensure(body_len(&response.payload) == 314_159, || "wrong response size".into())?;
    }
    Ok(())
}

async fn server_compressed_unary(client: &TestServiceClient) -> CaseResult {
    for value in [true, false] {
        let request = SimpleRequest { response_compressed: Some(BoolValue { value }), ..large_request() };
        let response = client.unary_call(request).timeout(CALL_TIMEOUT).await.map_err(rpc("UnaryCall"))?;
        ensure(body_len(&response.payload) == 314_159, || "wrong response size".into())?;
    }
    Ok(())
}

async fn client_streaming(client: &TestServiceClient) -> CaseResult {
    let requests: Vec<_> = [27_182, 8, 1_828, 45_904]
        .into_iter()
        .map(|size| StreamingInputCallRequest { payload: Some(payload(size)), ..Default::default() })
        .collect();
    let response = client
        .streaming_input_call(stream::iter(requests))
        .timeout(CALL_TIMEOUT)
        .await
        .map_err(rpc("StreamingInputCall"))?;
    ensure(response.aggregated_payload_size == 74_922, || format!("aggregated {}", response.aggregated_payload_size))
}

async fn client_compressed_streaming(client: &TestServiceClient) -> CaseResult {
    let request = |size, expect| StreamingInputCallRequest {
        payload: Some(payload(size)),
        expect_compressed: Some(BoolValue { value: expect }),
    };
    let probe = client.streaming_input_call(stream::iter(vec![request(27_182, true)])).timeout(CALL_TIMEOUT).await;
    expect_code(probe, Code::InvalidArgument, "uncompressed probe")?;
    // The first request compressed, the second not, each saying so, as the spec has it.
    let switch = MessageCompression::new();
    let flip = switch.clone();
    let requests = stream::iter([(27_182, true), (45_904, false)]).map(move |(size, compressed)| {
        if !compressed {
            flip.disable_next_message_compression();
        }
        request(size, compressed)
    });
    let response = client
        .streaming_input_call(requests)
        .compression(Compression::Gzip)
        .message_compression(switch)
        .timeout(CALL_TIMEOUT)
        .await
        .map_err(rpc("StreamingInputCall"))?;
    ensure(response.aggregated_payload_size == 73_086, || format!("aggregated {}", response.aggregated_payload_size))
}

async fn server_streaming(client: &TestServiceClient, compressed: bool) -> CaseResult {
    let sizes: &[i32] = if compressed { &[31_415, 92_653] } else { &[31_415, 9, 2_653, 58_979] };
    let request = StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| ResponseParameters {
                size,
                compressed: compressed.then_some(BoolValue { value: i == 0 }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut responses =
        client.streaming_output_call(request).timeout(CALL_TIMEOUT).await.map_err(rpc("StreamingOutputCall"))?;
    let mut got = Vec::new();
    while let Some(response) = responses.message().await.map_err(rpc("StreamingOutputCall stream"))? {
        got.push(body_len(&response.payload) as i32);
    }
    ensure(got == sizes, || format!("response sizes {got:?}, want {sizes:?}"))
}

async fn ping_pong(client: &TestServiceClient) -> CaseResult {
    let (sender, receiver) = mpsc::channel(1);
    let mut responses =
        client.full_duplex_call(ReceiverStream(receiver)).timeout(CALL_TIMEOUT).await.map_err(rpc("FullDuplexCall"))?;
    for (size, payload_size) in [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)] {
        sender.send(streaming_request(&[size], payload_size)).await.map_err(|_| "request stream closed".to_string())?;
        let response = responses
            .message()
            .await
            .map_err(rpc("FullDuplexCall stream"))?
            .ok_or_else(|| format!("the stream ended before the {size}-byte response"))?;
        ensure(body_len(&response.payload) == size as usize, || {
            format!("got {} bytes, want {size}", body_len(&response.payload))
        })?;
    }
    drop(sender);
    ensure(responses.message().await.map_err(rpc("FullDuplexCall end"))?.is_none(), || "extra response".into())
}

/// Turns a channel receiver into a request stream.
struct ReceiverStream<T>(mpsc::Receiver<T>);

impl<T> rust_rpc::stream::Stream for ReceiverStream<T> {
    type Item = T;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

async fn empty_stream(client: &TestServiceClient) -> CaseResult {
    let mut responses = client
        .full_duplex_call(stream::iter(Vec::<StreamingOutputCallRequest>::new()))
        .timeout(CALL_TIMEOUT)
        .await
        .map_err(rpc("FullDuplexCall"))?;
    ensure(responses.message().await.map_err(rpc("FullDuplexCall stream"))?.is_none(), || "got a response".into())
}

async fn timeout_on_sleeping_server(client: &TestServiceClient) -> CaseResult {
    let (sender, receiver) = mpsc::channel(1);
    let _ = sender.send(StreamingOutputCallRequest { payload: Some(payload(27_182)), ..Default::default() }).await;
    let result = async {
        let mut responses = client.full_duplex_call(ReceiverStream(receiver)).timeout(Duration::from_millis(1)).await?;
        responses.message().await
    }
    .await;
    drop(sender);
    expect_code(result, Code::DeadlineExceeded, "FullDuplexCall with a 1 ms deadline")
}

async fn cancel_after_begin(client: &TestServiceClient) -> CaseResult {
    let (_sender, receiver) = mpsc::channel::<StreamingInputCallRequest>(1);
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let call = client.streaming_input_call(ReceiverStream(receiver)).timeout(CALL_TIMEOUT).cancel_on(async move {
        let _ = cancelled.await;
    });
    let call = tokio::spawn(async move { call.await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(cancel);
    let result = call.await.map_err(|e| format!("call task failed: {e}"))?;
    expect_code(result, Code::Cancelled, "StreamingInputCall cancelled after it began")
}

async fn cancel_after_first_response(client: &TestServiceClient) -> CaseResult {
    let (sender, receiver) = mpsc::channel(1);
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let mut responses = client
        .full_duplex_call(ReceiverStream(receiver))
        .timeout(CALL_TIMEOUT)
        .cancel_on(async move {
            let _ = cancelled.await;
        })
        .await
        .map_err(rpc("FullDuplexCall"))?;
    sender.send(streaming_request(&[31_415], 27_182)).await.map_err(|_| "request stream closed".to_string())?;
    let first = responses.message().await.map_err(rpc("first response"))?;
    ensure(first.is_some_and(|r| body_len(&r.payload) == 31_415), || "wrong first response".into())?;
    drop(cancel);
    expect_code(responses.message().await, Code::Cancelled, "FullDuplexCall cancelled after the first response")
}

async fn status(client: &TestServiceClient, message: &str) -> CaseResult {
    let echo = EchoStatus { code: 2, message: message.to_owned() };
    let request = SimpleRequest { response_status: Some(echo.clone()), ..Default::default() };
    let check = |result: Result<(), RpcError>, what: &str| -> CaseResult {
        match result {
            Err(e) if e.code() == Code::Unknown && e.details() == message => Ok(()),
            Err(e) => Err(format!("{what}: got {} {:?}, want UNKNOWN {message:?}", e.code(), e.details())),
            Ok(()) => Err(format!("{what}: the call succeeded")),
        }
    };
    check(client.unary_call(request).timeout(CALL_TIMEOUT).await.map(drop), "UnaryCall")?;
    let request = StreamingOutputCallRequest { response_status: Some(echo), ..Default::default() };
    let result = async {
        let mut responses = client.full_duplex_call(stream::iter(vec![request])).timeout(CALL_TIMEOUT).await?;
        while responses.message().await?.is_some() {}
        Ok(())
    }
    .await;
    check(result, "FullDuplexCall")
}

async fn custom_metadata(client: &TestServiceClient) -> CaseResult {
    const INITIAL: &str = "x-grpc-test-echo-initial";
    const TRAILING: &str = "x-grpc-test-echo-trailing-bin";
    let mut metadata = Metadata::new();
    metadata.insert(INITIAL, "test_initial_metadata_value").map_err(|e| e.to_string())?;
    metadata.insert_bin(TRAILING, [0xab, 0xab, 0xab]).map_err(|e| e.to_string())?;
    let check = |initial: &Metadata, trailing: Option<&Metadata>, what: &str| -> CaseResult {
        ensure(initial.get(INITIAL) == Some("test_initial_metadata_value"), || {
            format!("{what}: initial metadata {initial:?}")
        })?;
        let echoed = trailing.and_then(|t| t.get_bin(TRAILING));
        ensure(echoed.as_deref() == Some(&[0xab, 0xab, 0xab][..]), || format!("{what}: trailing metadata {trailing:?}"))
    };
    let response = client
        .unary_call(large_request())
        .metadata(metadata.clone())
        .timeout(CALL_TIMEOUT)
        .with_call()
        .await
        .map_err(rpc("UnaryCall"))?;
    check(response.initial_metadata(), Some(response.trailing_metadata()), "UnaryCall")?;
    let mut responses = client
        .full_duplex_call(stream::iter(vec![streaming_request(&[314_159], 271_828)]))
        .metadata(metadata)
        .timeout(CALL_TIMEOUT)
        .await
        .map_err(rpc("FullDuplexCall"))?;
    while let Some(item) = responses.next().await {
        item.map_err(rpc("FullDuplexCall stream"))?;
    }
    let trailing = responses.trailing_metadata().cloned();
    let initial = responses.initial_metadata().await.map_err(rpc("FullDuplexCall headers"))?;
    check(initial, trailing.as_ref(), "FullDuplexCall")
}
