//! The odd names the fixtures produce are usable: a keyword-named service served and called.

use codegen_tests::edge::r#type::{AsyncClient, AsyncServicer, Self_, add_async_servicer_to_server};
use rust_rpc::{Result, Server, ServicerContext};

struct Keywords;

impl AsyncServicer for Keywords {
    async fn r#type(&self, request: Self_, _context: ServicerContext) -> Result<Self_> {
        Ok(Self_ { r#type: format!("type:{}", request.r#async), ..request })
    }

    async fn get_foo(&self, request: Self_, _context: ServicerContext) -> Result<Self_> {
        Ok(Self_ { r#match: "GetFoo".into(), ..request })
    }

    async fn get_foo_2(&self, request: Self_, _context: ServicerContext) -> Result<Self_> {
        Ok(Self_ { r#match: "get_foo".into(), ..request })
    }
}

#[tokio::test]
async fn keyword_and_colliding_names_route_to_the_right_methods() {
    assert_eq!(AsyncClient::SERVICE_NAME, "edge.type.async");
    assert_eq!(AsyncClient::GET_FOO_PATH, "/edge.type.async/GetFoo");
    assert_eq!(AsyncClient::GET_FOO_2_PATH, "/edge.type.async/get_foo");
    let server = Server::new();
    add_async_servicer_to_server(Keywords, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = AsyncClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));

    let request = Self_ { r#async: "x".into(), self_: "me".into(), crate_: "c".into(), ..Self_::default() };
    let reply = client.r#type(request.clone()).await.expect("r#type");
    assert_eq!((reply.r#type.as_str(), reply.self_.as_str()), ("type:x", "me"));
    assert_eq!(client.get_foo(request.clone()).await.expect("GetFoo").r#match, "GetFoo");
    assert_eq!(client.get_foo_2(request.clone()).await.expect("get_foo").r#match, "get_foo");
    let err = client.self_(request).await.expect_err("not implemented");
    assert_eq!(err.code(), rust_rpc::Code::Unimplemented);
}

#[test]
fn generated_type_names_avoid_the_packages_messages() {
    // `message GreeterClient` and `message GreeterServicer` exist, so the service's items moved.
    let _messages = (
        codegen_tests::edge::collide::GreeterClient::default(),
        codegen_tests::edge::collide::GreeterServicer::default(),
    );
    fn _client(channel: rust_rpc::Channel) -> codegen_tests::edge::collide::GreeterClient2 {
        codegen_tests::edge::collide::GreeterClient2::new(channel)
    }
    struct Impl;
    impl codegen_tests::edge::collide::GreeterServicer2 for Impl {}
    let _ = codegen_tests::edge::collide::greeter_service(Impl);
}

#[test]
fn every_fixture_package_has_its_descriptor_set() {
    use rust_rpc::prost::Message;
    let set =
        rust_rpc::prost_types::FileDescriptorSet::decode(codegen_tests::edge::b::FILE_DESCRIPTOR_SET).expect("decodes");
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["edge/same_name_a.proto", "edge/same_name_b.proto"], "imports first");
    assert!(!codegen_tests::a::b::c::d::e::FILE_DESCRIPTOR_SET.is_empty());
    assert!(!codegen_tests::FILE_DESCRIPTOR_SET.is_empty(), "the file without a package");
}
