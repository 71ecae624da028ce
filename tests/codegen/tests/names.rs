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

    // `rpc Self`, declared after `rpc self`.
    async fn self_2(&self, request: Self_, _context: ServicerContext) -> Result<Self_> {
        Ok(Self_ { self_: "Self".into(), ..request })
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
    assert_eq!(client.self_2(request.clone()).await.expect("Self").self_, "Self");
    assert_eq!(AsyncClient::SELF_PATH, "/edge.type.async/self");
    assert_eq!(AsyncClient::SELF_2_PATH, "/edge.type.async/Self");
    assert_eq!(AsyncClient::NEW_2_PATH, "/edge.type.async/New", "`new` is the client's constructor");
    let err = client.self_(request.clone()).await.expect_err("not implemented");
    assert_eq!(err.code(), rust_rpc::Code::Unimplemented);
    let err = client.new_2(request).await.expect_err("not implemented");
    assert_eq!(err.code(), rust_rpc::Code::Unimplemented);
    server.stop(None).await;
}

#[tokio::test]
async fn a_service_named_self_serves_and_calls() {
    use codegen_tests::edge::collide::{GreeterClient, SelfClient, SelfServicer, add_self_servicer_to_server};
    struct Me;
    impl SelfServicer for Me {
        async fn self_(&self, request: GreeterClient, _context: ServicerContext) -> Result<GreeterClient> {
            Ok(GreeterClient { text: format!("Self:{}", request.text) })
        }
    }
    assert_eq!(SelfClient::SERVICE_NAME, "edge.collide.Self");
    let server = Server::new();
    add_self_servicer_to_server(Me, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = SelfClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    let reply = client.self_(GreeterClient { text: "x".into() }).await.expect("Self");
    assert_eq!(reply.text, "Self:x");
    let err = client.self_2(GreeterClient::default()).await.expect_err("`rpc self` is not implemented");
    assert_eq!(err.code(), rust_rpc::Code::Unimplemented);
    server.stop(None).await;
}

#[test]
#[allow(deprecated)]
fn deprecated_items_are_marked_and_still_usable() {
    use codegen_tests::edge::old::{CurrentClient, LegacyClient, LegacyServicer, legacy_service};
    struct Old;
    impl LegacyServicer for Old {}
    let _ = legacy_service(Old);
    assert_eq!(LegacyClient::ANYTHING_PATH, "/edge.old.Legacy/Anything");
    assert_eq!(CurrentClient::STALE_PATH, "/edge.old.Current/Stale");
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
