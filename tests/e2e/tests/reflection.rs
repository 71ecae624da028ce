//! Server reflection over loopback, with the generated reflection clients: every kind of
//! request, the files already sent on a stream, unknown names, a request that does not decode,
//! and v1alpha answering as v1 does.

use e2e::routeguide::{RouteGuideServicer, add_route_guide_servicer_to_server};
use rust_rpc::prost::Message;
use rust_rpc::prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet, ServiceDescriptorProto,
    descriptor_proto::ExtensionRange,
};
use rust_rpc::reflection::v1::server_reflection_request::MessageRequest;
use rust_rpc::reflection::v1::server_reflection_response::MessageResponse;
use rust_rpc::reflection::v1::{
    ExtensionRequest, ServerReflectionClient, ServerReflectionRequest, ServerReflectionResponse,
};
use rust_rpc::reflection::{enable_server_reflection, v1alpha};
use rust_rpc::{Code, Server, ServiceDefinition};

use crate::support::{TestGreeter, no_hang};

/// The route guide with no methods: reflection only needs it registered.
struct NoGuide;

impl RouteGuideServicer for NoGuide {}

/// A descriptor set of two files: `test/base.proto` (message `test.Base`, extensions 100 to
/// 199) and `test/ext.proto`, which imports it and defines the service `test.Extended` and the
/// extension `test.note` (`test.Base`, 100).
fn extended_set() -> &'static [u8] {
    let base = FileDescriptorProto {
        name: Some("test/base.proto".into()),
        package: Some("test".into()),
        message_type: vec![DescriptorProto {
            name: Some("Base".into()),
            extension_range: vec![ExtensionRange { start: Some(100), end: Some(200), options: None }],
            ..Default::default()
        }],
        syntax: Some("proto2".into()),
        ..Default::default()
    };
    let ext = FileDescriptorProto {
        name: Some("test/ext.proto".into()),
        package: Some("test".into()),
        dependency: vec!["test/base.proto".into()],
        extension: vec![FieldDescriptorProto {
            name: Some("note".into()),
            number: Some(100),
            extendee: Some(".test.Base".into()),
            ..Default::default()
        }],
        service: vec![ServiceDescriptorProto { name: Some("Extended".into()), ..Default::default() }],
        syntax: Some("proto2".into()),
        ..Default::default()
    };
    Box::leak(FileDescriptorSet { file: vec![base, ext] }.encode_to_vec().into_boxed_slice())
}

/// A server with reflection (enabled first, so the services added after it must be reflected
/// too), the greeter, the route guide, `test.Extended` (hand-made, with descriptors) and
/// `test.Bare` (hand-made, without); and its port.
fn start() -> (Server, u16) {
    let server = Server::new();
    enable_server_reflection(&server).expect("enable reflection");
    e2e::helloworld::add_greeter_servicer_to_server(TestGreeter::default(), &server).expect("add greeter");
    add_route_guide_servicer_to_server(NoGuide, &server).expect("add route guide");
    server
        .add_service(ServiceDefinition::builder("test.Extended", ()).file_descriptor_set(extended_set()).build())
        .expect("add test.Extended");
    server.add_service(ServiceDefinition::builder("test.Bare", ()).build()).expect("add test.Bare");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

fn channel(port: u16) -> rust_rpc::Channel {
    rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel")
}

fn request(message: MessageRequest) -> ServerReflectionRequest {
    ServerReflectionRequest { host: "reflection.test".into(), message_request: Some(message) }
}

/// Sends `requests` on one v1 stream; returns the answers after checking each echoes its request.
async fn ask(port: u16, requests: Vec<ServerReflectionRequest>) -> Vec<MessageResponse> {
    let client = ServerReflectionClient::new(channel(port));
    let mut stream =
        no_hang("reflection call", client.server_reflection_info(rust_rpc::stream::iter(requests.clone())))
            .await
            .expect("reflection call");
    let mut answers = Vec::new();
    while let Some(answer) = no_hang("reflection answer", stream.message()).await.expect("reflection answer") {
        answers.push(answer);
    }
    assert_eq!(answers.len(), requests.len(), "one answer per request");
    answers
        .into_iter()
        .zip(requests)
        .map(|(answer, request)| {
            assert_eq!(answer.valid_host, request.host);
            assert_eq!(answer.original_request.as_ref(), Some(&request));
            answer.message_response.expect("an answer")
        })
        .collect()
}

/// The names of the files of a file descriptor answer, in order.
fn file_names(answer: &MessageResponse) -> Vec<String> {
    let MessageResponse::FileDescriptorResponse(files) = answer else { panic!("not files: {answer:?}") };
    files
        .file_descriptor_proto
        .iter()
        .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("a FileDescriptorProto").name().to_owned())
        .collect()
}

fn error_code(answer: &MessageResponse) -> (Code, &str) {
    let MessageResponse::ErrorResponse(error) = answer else { panic!("not an error: {answer:?}") };
    assert!(!error.error_message.is_empty());
    (Code::from_i32(error.error_code), error.error_message.as_str())
}

#[tokio::test]
async fn list_services_names_every_service_sorted() {
    let (_server, port) = start();
    let answers = ask(port, vec![request(MessageRequest::ListServices(String::new()))]).await;
    let MessageResponse::ListServicesResponse(list) = &answers[0] else { panic!("not a list: {:?}", answers[0]) };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "helloworld.Greeter",
            "routeguide.RouteGuide",
            "test.Bare",
            "test.Extended",
        ]
    );
}

#[tokio::test]
async fn symbols_and_files_come_with_their_imports_once_per_stream() {
    let (_server, port) = start();
    let answers = ask(
        port,
        vec![
            request(MessageRequest::FileContainingSymbol("helloworld.Greeter.SayHello".into())),
            request(MessageRequest::FileContainingSymbol("routeguide.Point".into())),
            request(MessageRequest::FileByFilename("grpc/reflection/v1/reflection.proto".into())),
            request(MessageRequest::FileContainingSymbol("grpc.reflection.v1alpha.ServerReflection".into())),
            request(MessageRequest::FileContainingSymbol("test.Extended".into())),
            // base.proto came with ext.proto: asked for itself it still comes; asked for again,
            // ext.proto comes without it.
            request(MessageRequest::FileContainingSymbol("test.Base".into())),
            request(MessageRequest::FileByFilename("test/ext.proto".into())),
        ],
    )
    .await;
    let names: Vec<Vec<String>> = answers.iter().map(file_names).collect();
    assert_eq!(
        names,
        [
            vec!["helloworld.proto"],
            vec!["route_guide.proto"],
            vec!["grpc/reflection/v1/reflection.proto"],
            vec!["grpc/reflection/v1alpha/reflection.proto"],
            vec!["test/ext.proto", "test/base.proto"],
            vec!["test/base.proto"],
            vec!["test/ext.proto"],
        ]
    );
    // A new stream starts with nothing sent.
    let answers = ask(port, vec![request(MessageRequest::FileByFilename("test/ext.proto".into()))]).await;
    assert_eq!(file_names(&answers[0]), ["test/ext.proto", "test/base.proto"]);
}

#[tokio::test]
async fn extensions_are_found_by_type_and_number() {
    let (_server, port) = start();
    let extension = |containing_type: &str, extension_number| {
        request(MessageRequest::FileContainingExtension(ExtensionRequest {
            containing_type: containing_type.into(),
            extension_number,
        }))
    };
    let answers = ask(
        port,
        vec![
            extension("test.Base", 100),
            request(MessageRequest::AllExtensionNumbersOfType("test.Base".into())),
            request(MessageRequest::AllExtensionNumbersOfType("helloworld.HelloRequest".into())),
            request(MessageRequest::FileContainingSymbol("test.note".into())),
        ],
    )
    .await;
    assert_eq!(file_names(&answers[0]), ["test/ext.proto", "test/base.proto"]);
    let MessageResponse::AllExtensionNumbersResponse(numbers) = &answers[1] else { panic!("{:?}", answers[1]) };
    assert_eq!((numbers.base_type_name.as_str(), numbers.extension_number.as_slice()), ("test.Base", &[100][..]));
    let MessageResponse::AllExtensionNumbersResponse(numbers) = &answers[2] else { panic!("{:?}", answers[2]) };
    assert_eq!(numbers.base_type_name, "helloworld.HelloRequest");
    assert!(numbers.extension_number.is_empty());
    assert_eq!(file_names(&answers[3]), ["test/ext.proto"]);
}

#[tokio::test]
async fn unknown_names_are_not_found_and_the_stream_goes_on() {
    let (_server, port) = start();
    let answers = ask(
        port,
        vec![
            request(MessageRequest::FileByFilename("nope.proto".into())),
            request(MessageRequest::FileContainingSymbol("helloworld.Nope".into())),
            // Listed, but it brought no descriptors.
            request(MessageRequest::FileContainingSymbol("test.Bare".into())),
            request(MessageRequest::FileContainingExtension(ExtensionRequest {
                containing_type: "test.Base".into(),
                extension_number: 101,
            })),
            request(MessageRequest::AllExtensionNumbersOfType("test.Nope".into())),
            ServerReflectionRequest { host: String::new(), message_request: None },
            request(MessageRequest::FileContainingSymbol("helloworld.HelloReply".into())),
        ],
    )
    .await;
    for (answer, name) in answers[..5].iter().zip(["nope.proto", "helloworld.Nope", "test.Bare", "101", "test.Nope"]) {
        let (code, message) = error_code(answer);
        assert_eq!(code, Code::NotFound, "{message}");
        assert!(message.contains(name), "{message:?} does not name {name}");
    }
    assert_eq!(error_code(&answers[5]).0, Code::InvalidArgument);
    assert_eq!(file_names(&answers[6]), ["helloworld.proto"]);
}

/// Field 7 (`list_services`, a string) as an int: the wrong wire type, so it does not decode.
#[derive(Clone, PartialEq, rust_rpc::prost::Message)]
#[prost(prost_path = "rust_rpc::prost")]
struct NotARequest {
    #[prost(int32, tag = "7")]
    list_services: i32,
}

#[tokio::test]
async fn a_request_that_does_not_decode_ends_the_call_with_internal() {
    let (_server, port) = start();
    let outcome = no_hang(
        "reflection call with an undecodable request",
        channel(port).bidi_streaming::<_, ServerReflectionResponse>(
            ServerReflectionClient::SERVER_REFLECTION_INFO_PATH,
            rust_rpc::stream::iter([NotARequest { list_services: 1 }]),
        ),
    )
    .await;
    let error = match outcome {
        Ok(mut answers) => no_hang("the answer", answers.message()).await.expect_err("the call fails"),
        Err(error) => error,
    };
    assert_eq!(error.code(), Code::Internal, "{error}");
    let answers = ask(port, vec![request(MessageRequest::ListServices(String::new()))]).await;
    assert!(matches!(answers[0], MessageResponse::ListServicesResponse(_)), "the server still serves");
}

/// `message` as the same message of the other reflection package.
fn transcode<To: Message + Default>(message: &impl Message) -> To {
    To::decode(message.encode_to_vec().as_slice()).expect("v1 and v1alpha messages are the same on the wire")
}

#[tokio::test]
async fn v1alpha_answers_as_v1_does() {
    let (_server, port) = start();
    let requests = vec![
        request(MessageRequest::ListServices(String::new())),
        request(MessageRequest::FileContainingSymbol("test.Extended".into())),
        request(MessageRequest::FileByFilename("test/base.proto".into())),
        request(MessageRequest::AllExtensionNumbersOfType("test.Base".into())),
        request(MessageRequest::FileContainingSymbol("helloworld.Nope".into())),
    ];
    let from_v1 = ask(port, requests.clone()).await;
    let client = v1alpha::ServerReflectionClient::new(channel(port));
    let alpha_requests: Vec<v1alpha::ServerReflectionRequest> = requests.iter().map(transcode).collect();
    let mut stream = no_hang("v1alpha call", client.server_reflection_info(rust_rpc::stream::iter(alpha_requests)))
        .await
        .expect("v1alpha call");
    let mut from_alpha = Vec::new();
    while let Some(answer) = no_hang("v1alpha answer", stream.message()).await.expect("v1alpha answer") {
        let answer: ServerReflectionResponse = transcode(&answer);
        from_alpha.push(answer.message_response.expect("an answer"));
    }
    assert_eq!(from_alpha, from_v1);
}
