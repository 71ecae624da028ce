//! Hostile names (`protos/hostile`, and `plugin_only/` for what protox refuses): names that
//! collide after prost-build's case conversion, keywords, underscores, packages differing in
//! case, user types in `google.protobuf`, RPCs named like the client's own methods, comments
//! rustc refuses. The generator renames on a private copy of the descriptors, warns with the
//! `.proto` line, and the wire keeps the original names.
//!
//! The build.rs front end compiles them into this crate (`build.rs`, clippy and rustdoc run on
//! it like on the edge cases); the tests here add the plugin front end, the warnings, and calls
//! over loopback proving what goes on the wire.

use std::path::PathBuf;

use codegen_tests::hostile;
use rust_rpc::prost::Message;
use rust_rpc::{Result, Server, ServicerContext};

use crate::support::{check_crate, repo, run_protoc_with_stderr, runtime_path_option};

/// Every hostile fixture, as protoc names it; `enums.proto` is refused by protoc itself (its
/// enum values collide "if you ignore case and strip the prefix"), so only protox reads it.
const FIXTURES: &[&str] = &[
    "hostile/case_lower.proto",
    "hostile/case_upper.proto",
    "hostile/comments.proto",
    "hostile/fields.proto",
    "hostile/google/protobuf/mine.proto",
    "hostile/methods.proto",
    "hostile/nest.proto",
    "hostile/nest_deeper.proto",
    "hostile/nest_sub.proto",
    "hostile/types.proto",
    "hostile/underscore_package.proto",
    "hostile/uses_mine.proto",
];

fn fixtures_dir() -> PathBuf {
    repo().join("tests/codegen/protos")
}

fn builder_warnings(files: &[&str]) -> Vec<String> {
    let dir = fixtures_dir();
    let protos: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let generated = rust_rpc_codegen::Builder::new().generate_with_warnings(&protos, &[&dir]).expect("generates");
    generated.warnings.iter().map(ToString::to_string).collect()
}

fn assert_warned(warnings: &[String], start: &str) {
    assert!(
        warnings.iter().any(|w| w.starts_with(start)),
        "no warning starting {start:?} in:\n{}",
        warnings.join("\n")
    );
}

#[test]
fn every_rename_is_a_warning_naming_the_proto_line() {
    let mut all: Vec<&str> = FIXTURES.to_vec();
    all.push("hostile/enums.proto");
    let warnings = builder_warnings(&all);
    for start in [
        "hostile/fields.proto:14:3: field hostile.fields.Snake.FooBar is generated as `foo_bar_2`",
        "hostile/fields.proto:15:3: field hostile.fields.Snake.FOO_BAR is generated as `foo_bar_3`",
        "hostile/fields.proto:18:3: field hostile.fields.Snake.Self is generated as `self_2`",
        "hostile/fields.proto:25:3: field hostile.fields.Snake._ is generated as `underscore`",
        "hostile/fields.proto:28:3: oneof hostile.fields.Snake.kind_name is generated as field `kind_name_2`",
        "hostile/fields.proto:31:5: field hostile.fields.Snake.FooBaz is generated as variant `FooBaz2`",
        "hostile/fields.proto:36:3: field hostile.fields.Snake.set_mode is generated as `set_mode_2`",
        "hostile/fields.proto:40:3: oneof hostile.fields.Snake.choice is generated as field `choice_2` and enum `Choice2`",
        "hostile/enums.proto:10:3: enum value hostile.enums.Color.RED is generated as variant `Red2`",
        "hostile/enums.proto:13:3: enum value hostile.enums.Color._ is generated as variant `Underscore`",
        "hostile/types.proto:14:1: message hostile.types.HttpRequest is generated as `HttpRequest2`",
        "hostile/types.proto:21:1: enum hostile.types.HTTP_REQUEST_KIND is generated as `HttpRequestKind2`",
        "hostile/types.proto:32:3: enum hostile.types.Outer.KIND is generated as `Kind2`",
        "hostile/types.proto:41:1: message hostile.types._2fa is generated as `Message2fa` (the module of its nested types \
         would be named `_2fa` too)",
        "hostile/underscore_package.proto:4:1: package hostile._ is generated as package hostile.underscore",
        "hostile/types.proto:84:1: message hostile.types.Self_ is generated as `Self2`",
        "hostile/types.proto:93:1: message hostile.types._ is generated as `Underscore`",
        "hostile/types.proto:133:1: the client of service hostile.types.HttpApi is generated as `HttpApiClient2`",
        "hostile/case_upper.proto:4:1: package hostile.Case is generated as package hostile.case_2",
        "hostile/google/protobuf/mine.proto:4:1: package google.protobuf is generated as package google.protobuf_user",
        "hostile/nest.proto:7:3: message hostile.nest.Sub.Inner is generated as `Inner2`",
        "hostile/nest.proto:11:3: oneof hostile.nest.Sub.Other is generated as field `other_2` and enum `Other2`",
        "hostile/nest.proto:17:5: message hostile.nest.Sub.Deeper.X is generated as `X2`",
        "hostile/methods.proto:12:3: method hostile.methods.Calls.New is generated as `new_2`",
        "hostile/methods.proto:14:3: method hostile.methods.Calls.Clone is generated as `clone_2`",
        "hostile/methods.proto:15:3: method hostile.methods.Calls.Into is generated as `into_2`",
        "hostile/methods.proto:22:3: method hostile.methods.Calls.get_foo is generated as `get_foo_2`",
    ] {
        assert_warned(&warnings, start);
    }
    // Names that compile as prost-build writes them are not renamed.
    assert!(!warnings.iter().any(|w| w.contains("Snake.type ") || w.contains("types.Option ")), "{warnings:?}");
}

#[test]
fn the_plugin_writes_what_builder_writes_and_warns_on_stderr() {
    let dir = fixtures_dir();
    let (from_plugin, stderr) =
        run_protoc_with_stderr(&[&dir], FIXTURES, "module_tree=mod.rs", &[]).unwrap_or_else(|e| panic!("{e}"));
    let protos: Vec<PathBuf> = FIXTURES.iter().map(|f| dir.join(f)).collect();
    let from_builder = rust_rpc_codegen::Builder::new().module_tree("mod.rs").generate(&protos, &[&dir]).expect("gen");
    for (name, code) in &from_plugin {
        let builder = from_builder.get(name).unwrap_or_else(|| panic!("Builder did not write {name}"));
        assert!(builder == code, "{name}:\n{}", crate::support::diff(code, builder, 2, 40));
    }
    assert!(from_plugin.iter().any(|(name, _)| name == "hostile.case_2.rs"), "{from_plugin:?}");
    for line in [
        "protoc-gen-rust-rpc: warning: hostile/fields.proto:14:3: field hostile.fields.Snake.FooBar is generated as \
         `foo_bar_2`",
        "protoc-gen-rust-rpc: warning: hostile/methods.proto:12:3: method hostile.methods.Calls.New is generated as \
         `new_2`",
    ] {
        assert!(stderr.contains(line), "{line:?} not in stderr:\n{stderr}");
    }
}

#[test]
fn the_plugins_output_compiles_also_for_protos_only_protoc_accepts() {
    // `plugin_only/hostile/json_twins.proto`: fields whose JSON names collide too (`fooBar` and
    // `foo_bar`, `_` and `__`), which protoc only warns about in proto2 and protox refuses.
    let dir = fixtures_dir();
    let twins = repo().join("tests/codegen/plugin_only");
    let mut protos = FIXTURES.to_vec();
    protos.push("hostile/json_twins.proto");
    let parameter = format!("crate=hostile-plugin,{}", runtime_path_option());
    let (files, stderr) =
        run_protoc_with_stderr(&[&dir, &twins], &protos, &parameter, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stderr.contains("hostile/json_twins.proto:10:3: field hostile.twins.Twins.foo_bar is generated as `foo_bar_2`"),
        "{stderr}"
    );
    let files: rust_rpc_codegen::Files = files.into_iter().collect();
    check_crate("hostile-plugin", &files).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn build_rs_prints_each_rename_as_a_cargo_warning() {
    // A user's crate whose build.rs calls `Builder::compile`, checked with cargo.
    let dir = crate::support::scratch("build-rs-warnings");
    let fixtures = fixtures_dir();
    let manifest = format!(
        "[package]\nname = \"build-rs-warnings\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n\
         [dependencies]\nrust-rpc = {{ path = {runtime:?} }}\n\n[build-dependencies]\nrust-rpc-codegen = {{ path = \
         {codegen:?} }}\n",
        runtime = repo().join("runtime").display().to_string(),
        codegen = repo().join("codegen").display().to_string(),
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("manifest");
    let build = format!(
        "fn main() {{\n    rust_rpc_codegen::Builder::new().compile(&[{:?}], &[{:?}]).expect(\"compiles\");\n}}\n",
        fixtures.join("hostile/fields.proto").display().to_string(),
        fixtures.display().to_string(),
    );
    std::fs::write(dir.join("build.rs"), build).expect("build.rs");
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(
        dir.join("src/lib.rs"),
        "#![allow(missing_docs)]\npub mod fields {\n    rust_rpc::include_proto!(\"hostile.fields\");\n}\n",
    )
    .expect("lib.rs");
    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock file");
    let output = std::process::Command::new(crate::support::cargo())
        .args(["check", "--message-format", "short", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(crate::support::target_dir().join("crate-output"))
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let line = "warning: build-rs-warnings@0.1.0: hostile/fields.proto:14:3: field hostile.fields.Snake.FooBar is \
                generated as `foo_bar_2`";
    assert!(stderr.contains(line), "{line:?} not in:\n{stderr}");
}

#[test]
fn two_extern_path_types_that_would_be_one_rust_type_are_an_error_naming_the_line() {
    let dir = fixtures_dir();
    let err = rust_rpc_codegen::Builder::new()
        .extern_path(".hostile.types", "::elsewhere::types")
        .generate(&[dir.join("hostile/types.proto")], &[&dir])
        .expect_err("HTTPRequest and HttpRequest keep their names under an extern_path");
    assert!(matches!(err, rust_rpc_codegen::Error::Inexpressible { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "hostile/types.proto:14:1: message hostile.types.HttpRequest and hostile.types.HTTPRequest \
             (hostile/types.proto:6:1) are both mapped by extern_path to the Rust type `HttpRequest`"
        ),
        "{err}"
    );
}

#[test]
fn renamed_fields_keep_their_numbers_and_names_on_the_wire() {
    use hostile::fields::{Mode, Snake, snake};
    let message = Snake {
        foo_bar_2: Some("two".into()),
        set_mode_2: Some(Mode::On as i32),
        kind_name_2: Some(snake::KindName2::FooBaz2("v".into())),
        ..Default::default()
    };
    // Field 2 (`FooBar`), the oneof's field 15 (`FooBaz`), field 17 (`set_mode`).
    let bytes = message.encode_to_vec();
    assert_eq!(bytes, [&[0x12, 3][..], b"two", &[0x7a, 1], b"v", &[0x88, 0x01, 1]].concat(), "{bytes:x?}");
    assert_eq!(Snake::decode(bytes.as_slice()).expect("decodes"), message);
    // The embedded descriptor is the original one.
    let set =
        rust_rpc::prost_types::FileDescriptorSet::decode(hostile::fields::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let snake = &set.file[0].message_type[0];
    let field = snake.field.iter().find(|f| f.number() == 2).expect("field 2");
    assert_eq!((field.name(), field.json_name()), ("FooBar", "FooBar"));
    assert_eq!(snake.oneof_decl[0].name(), "kind_name");
}

#[test]
fn renamed_enum_values_keep_their_proto_names() {
    use hostile::enums::{Color, Paint};
    assert_eq!(Color::Red2 as i32, 2);
    assert_eq!(Color::Red2.as_str_name(), "RED");
    assert_eq!(Color::from_str_name("RED"), Some(Color::Red2));
    assert_eq!(Color::Red.as_str_name(), "COLOR_RED");
    assert_eq!(Color::Underscore.as_str_name(), "_");
    // `[default = RED]` still means value 2.
    assert_eq!(Paint::default().color(), Color::Red2);
    assert_eq!(Paint::default().label(), "\u{202e} evil \u{2066}");
    assert_eq!(Paint::default().shade(), hostile::enums::paint::Shade::Dark2);
    assert_eq!(hostile::enums::paint::Shade::Dark2.as_str_name(), "DARK");
}

#[test]
fn renamed_types_and_packages_keep_their_wire_names() {
    assert_eq!(hostile::case_2::UpperClient::SERVICE_NAME, "hostile.Case.Upper");
    assert_eq!(hostile::case::LowerClient::GET_PATH, "/hostile.case.Lower/Get");
    assert_eq!(hostile::underscore::LonelyClient::CALL_PATH, "/hostile._.Lonely/Call");
    let holder = hostile::types::Holder { ordering: hostile::types::Ordering::Some as i32, ..Default::default() };
    assert_eq!(
        (holder.ordering(), holder.maybe()),
        (hostile::types::Ordering::Some, hostile::types::Ordering::Unspecified)
    );
    let _: hostile::case_2::Thing = hostile::case::Thing::default().other.unwrap_or_default();
    assert_eq!(codegen_tests::google::protobuf_user::MyServiceClient::GET_PATH, "/google.protobuf.MyService/Get");
    let thing = codegen_tests::google::protobuf_user::MyThing {
        at: Some(rust_rpc::prost_types::Timestamp { seconds: 1, nanos: 0 }),
        name: "x".into(),
    };
    let _ = hostile::mine::Wrapper { thing: Some(thing), at: None };
    let _ = (hostile::types::HttpRequest::default(), hostile::types::HttpRequest2::default());
    let _ = (hostile::types::http_request::Inner::default(), hostile::types::http_request2::Inner::default());
    let _ = (hostile::nest::sub::Inner::default(), hostile::nest::sub::Inner2::default());
    let x = hostile::nest::sub::deeper::X { b: 1, nested: Some(hostile::nest::sub::deeper::X2 { a: 2 }) };
    assert_eq!(x.nested.map(|n| n.a), Some(2));
    let _ = (hostile::types::Option::default(), hostile::types::Result::default(), hostile::types::Box::default());
}

struct Calls;

fn reply(what: &str, request: hostile::methods::Req) -> Result<hostile::methods::Req> {
    Ok(hostile::methods::Req { text: format!("{what}:{}", request.text) })
}

impl hostile::methods::CallsServicer for Calls {
    async fn new_2(&self, request: hostile::methods::Req, _: ServicerContext) -> Result<hostile::methods::Req> {
        reply("New", request)
    }
    async fn clone_2(&self, request: hostile::methods::Req, _: ServicerContext) -> Result<hostile::methods::Req> {
        reply("Clone", request)
    }
    async fn into_2(&self, request: hostile::methods::Req, _: ServicerContext) -> Result<hostile::methods::Req> {
        reply("Into", request)
    }
    async fn drop(&self, request: hostile::methods::Req, _: ServicerContext) -> Result<hostile::methods::Req> {
        reply("Drop", request)
    }
    async fn get_foo_3(&self, request: hostile::methods::Req, _: ServicerContext) -> Result<hostile::methods::Req> {
        reply("GET_FOO", request)
    }
}

#[tokio::test]
async fn rpcs_named_like_the_clients_own_methods_call_their_wire_paths() {
    use hostile::methods::{CallsClient, Req, add_calls_servicer_to_server};
    assert_eq!(CallsClient::NEW_2_PATH, "/hostile.methods.Calls/New");
    let server = Server::new();
    add_calls_servicer_to_server(Calls, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = CallsClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    let request = |text: &str| Req { text: text.into() };
    // The server routes by path: each answer names the proto method that served it.
    assert_eq!(client.new_2(request("a")).await.expect("New").text, "New:a");
    assert_eq!(client.clone_2(request("b")).await.expect("Clone").text, "Clone:b");
    assert_eq!(client.into_2(request("c")).await.expect("Into").text, "Into:c");
    assert_eq!(client.drop(request("d")).await.expect("Drop").text, "Drop:d");
    assert_eq!(client.get_foo_3(request("e")).await.expect("GET_FOO").text, "GET_FOO:e");
    let err = client.get_foo(request("f")).await.expect_err("GetFoo is not implemented");
    assert_eq!(err.code(), rust_rpc::Code::Unimplemented);
    // The client is still a client: `clone` and `channel` are its own.
    let copy = client.clone();
    let _ = copy.channel();
    server.stop(None).await;
}

#[tokio::test]
async fn a_renamed_field_goes_over_a_real_call_under_its_number() {
    use hostile::fields::{FieldsClient, FieldsServicer, Snake, add_fields_servicer_to_server};
    struct Echo;
    impl FieldsServicer for Echo {
        async fn echo(&self, request: Snake, _: ServicerContext) -> Result<Snake> {
            Ok(Snake { foo_bar: request.foo_bar_2.clone(), ..request })
        }
    }
    let server = Server::new();
    add_fields_servicer_to_server(Echo, &server).expect("add");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    let client = FieldsClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}")).expect("channel"));
    let reply = client.echo(Snake { foo_bar_2: Some("x".into()), ..Default::default() }).await.expect("echo");
    assert_eq!((reply.foo_bar.as_deref(), reply.foo_bar_2.as_deref()), (Some("x"), Some("x")));
    server.stop(None).await;
}
