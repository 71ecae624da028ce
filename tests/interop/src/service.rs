//! The interop server's `grpc.testing.TestService`.

use std::time::Duration;

use rust_rpc::stream::StreamExt;
use rust_rpc::{Code, Compression, Metadata, RequestStream, ResponseStream, Result, RpcError, ServicerContext};

use crate::payload;
use crate::pb::{
    Empty, SimpleRequest, SimpleResponse, StreamingInputCallRequest, StreamingInputCallResponse,
    StreamingOutputCallRequest, StreamingOutputCallResponse, TestServiceServicer,
};

/// The interop test service.
#[derive(Debug, Default)]
pub struct TestService;

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";

/// Sends back the echo metadata the client asked for.
fn echo_metadata(context: &ServicerContext) {
    let request = context.invocation_metadata();
    if let Some(value) = request.get(ECHO_INITIAL) {
        let mut initial = Metadata::new();
        if initial.insert(ECHO_INITIAL, value).is_ok() {
            context.set_initial_metadata(initial);
        }
    }
    if let Some(value) = request.get_bin(ECHO_TRAILING) {
        let mut trailing = Metadata::new();
        if trailing.insert_bin(ECHO_TRAILING, value).is_ok() {
            context.set_trailing_metadata(trailing);
        }
    }
}

/// The error an `EchoStatus` asks for, if any.
fn echo_status(status: Option<&crate::pb::EchoStatus>) -> Result<()> {
    match status {
        Some(status) if status.code != 0 => Err(RpcError::new(Code::from_i32(status.code), status.message.clone())),
        _ => Ok(()),
    }
}

fn check_compressed(expect: Option<&crate::pb::BoolValue>, context: &ServicerContext) -> Result<()> {
    let expected = expect.is_some_and(|b| b.value);
    if expected && context.request_compression().is_none() {
        return Err(RpcError::invalid_argument("expected a compressed request"));
    }
    Ok(())
}

fn unary(request: SimpleRequest, context: &ServicerContext) -> Result<SimpleResponse> {
    echo_metadata(context);
    check_compressed(request.expect_compressed.as_ref(), context)?;
    echo_status(request.response_status.as_ref())?;
    if request.response_compressed.as_ref().is_some_and(|b| b.value) {
        context.set_compression(Some(Compression::Gzip));
    }
    Ok(SimpleResponse { payload: Some(payload(request.response_size)), ..SimpleResponse::default() })
}

/// The responses one request asks for, in order, honouring each interval.
async fn respond(
    request: &StreamingOutputCallRequest,
    sender: &rust_rpc::ResponseSender<StreamingOutputCallResponse>,
) -> bool {
    for parameters in &request.response_parameters {
        if parameters.interval_us > 0 {
            tokio::time::sleep(Duration::from_micros(parameters.interval_us as u64)).await;
        }
        let response = StreamingOutputCallResponse { payload: Some(payload(parameters.size)) };
        if sender.send(Ok(response)).await.is_err() {
            return false;
        }
    }
    true
}

fn wants_compression(request: &StreamingOutputCallRequest) -> bool {
    request.response_parameters.iter().any(|p| p.compressed.as_ref().is_some_and(|b| b.value))
}

impl TestServiceServicer for TestService {
    async fn empty_call(&self, _request: Empty, context: ServicerContext) -> Result<Empty> {
        echo_metadata(&context);
        Ok(Empty {})
    }

    async fn unary_call(&self, request: SimpleRequest, context: ServicerContext) -> Result<SimpleResponse> {
        unary(request, &context)
    }

    async fn cacheable_unary_call(&self, request: SimpleRequest, context: ServicerContext) -> Result<SimpleResponse> {
        unary(request, &context)
    }

    async fn streaming_output_call(
        &self,
        request: StreamingOutputCallRequest,
        context: ServicerContext,
    ) -> Result<ResponseStream<StreamingOutputCallResponse>> {
        echo_metadata(&context);
        let compressing = wants_compression(&request);
        if compressing {
            context.set_compression(Some(Compression::Gzip));
        }
        let status = echo_status(request.response_status.as_ref()).err();
        // Each response made as the server takes it, so that the compression choice made
        // just before it applies to it: a response asked to go uncompressed on a compressed
        // call (server_compressed_streaming's second) goes so.
        let responses = rust_rpc::stream::iter(request.response_parameters).then(move |parameters| {
            let context = context.clone();
            async move {
                if parameters.interval_us > 0 {
                    tokio::time::sleep(Duration::from_micros(parameters.interval_us as u64)).await;
                }
                if compressing && !parameters.compressed.is_some_and(|b| b.value) {
                    context.disable_next_message_compression();
                }
                Ok(StreamingOutputCallResponse { payload: Some(payload(parameters.size)) })
            }
        });
        Ok(ResponseStream::new(responses.chain(rust_rpc::stream::iter(status.map(Err)))))
    }

    async fn streaming_input_call(
        &self,
        mut requests: RequestStream<StreamingInputCallRequest>,
        context: ServicerContext,
    ) -> Result<StreamingInputCallResponse> {
        echo_metadata(&context);
        let mut total = 0usize;
        while let Some(request) = requests.message().await? {
            check_compressed(request.expect_compressed.as_ref(), &context)?;
            total += request.payload.map_or(0, |p| p.body.len());
        }
        Ok(StreamingInputCallResponse { aggregated_payload_size: i32::try_from(total).unwrap_or(i32::MAX) })
    }

    async fn full_duplex_call(
        &self,
        mut requests: RequestStream<StreamingOutputCallRequest>,
        context: ServicerContext,
    ) -> Result<ResponseStream<StreamingOutputCallResponse>> {
        echo_metadata(&context);
        let (sender, stream) = ResponseStream::channel(4);
        tokio::spawn(async move {
            while let Some(request) = requests.next().await {
                let request = match request {
                    Ok(request) => request,
                    Err(err) => {
                        let _ = sender.send(Err(err)).await;
                        return;
                    }
                };
                if !respond(&request, &sender).await {
                    return;
                }
                if let Err(err) = echo_status(request.response_status.as_ref()) {
                    let _ = sender.send(Err(err)).await;
                    return;
                }
            }
        });
        Ok(stream)
    }

    async fn half_duplex_call(
        &self,
        mut requests: RequestStream<StreamingOutputCallRequest>,
        context: ServicerContext,
    ) -> Result<ResponseStream<StreamingOutputCallResponse>> {
        echo_metadata(&context);
        let mut all = Vec::new();
        while let Some(request) = requests.message().await? {
            all.push(request);
        }
        let (sender, stream) = ResponseStream::channel(4);
        tokio::spawn(async move {
            for request in &all {
                if !respond(request, &sender).await {
                    return;
                }
            }
        });
        Ok(stream)
    }
}
