//! Bad input gives a clear error that says where, on both paths, and never a panic.

use prost::Message;
use prost_types::compiler::CodeGeneratorRequest;
use prost_types::{DescriptorProto, FileDescriptorProto, MethodDescriptorProto, ServiceDescriptorProto};

use crate::support::{protoc, repo, run_plugin, scratch};

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write proto");
}

/// The build.rs path with protoc as its front end (`Builder::protoc`): protoc's own complaint,
/// as an error naming the position.
fn through_protoc(dir: &std::path::Path, proto: &str) -> rust_rpc_codegen::Error {
    rust_rpc_codegen::Builder::new()
        .protoc(protoc())
        .generate(&[dir.join(proto)], &[dir])
        .expect_err("protoc refuses it")
}

#[test]
fn syntax_error_names_file_line_and_column_on_both_paths() {
    let dir = scratch("syntax-error");
    // Line 4, column 14: the `;` where the field number should be.
    write(&dir, "broken.proto", "syntax = \"proto3\";\npackage p;\nmessage M {\n  string a = ;\n}\n");
    let err =
        rust_rpc_codegen::Builder::new().generate(&[dir.join("broken.proto")], &[&dir]).expect_err("does not parse");
    let text = err.to_string();
    assert!(text.starts_with("broken.proto:4:14: "), "{text}");

    let err = run_plugin(&[&dir], &["broken.proto"], "").expect_err("protoc refuses it");
    assert!(err.contains("broken.proto:4:14"), "{err}");

    let err = through_protoc(&dir, "broken.proto");
    assert!(matches!(err, rust_rpc_codegen::Error::Proto { .. }), "{err:?}");
    // protoc names the file as it was given: here, its whole path.
    assert!(err.to_string().contains("broken.proto:4:14: "), "{err}");
}

#[test]
fn missing_import_names_the_importer_and_the_import() {
    let dir = scratch("missing-import");
    write(&dir, "main.proto", "syntax = \"proto3\";\npackage p;\nimport \"nowhere/gone.proto\";\nmessage M {}\n");
    let err =
        rust_rpc_codegen::Builder::new().generate(&[dir.join("main.proto")], &[&dir]).expect_err("import missing");
    let text = err.to_string();
    assert!(text.starts_with("main.proto:3:"), "{text}");
    assert!(text.contains("nowhere/gone.proto"), "{text}");

    // protoc reports it itself, before the plugin runs.
    let err = run_plugin(&[&dir], &["main.proto"], "").expect_err("protoc refuses it");
    assert!(err.contains("nowhere/gone.proto") && err.contains("main.proto:3:1"), "{err}");

    let text = through_protoc(&dir, "main.proto").to_string();
    assert!(text.contains("main.proto:3:1: ") && text.contains("nowhere/gone.proto"), "{text}");
}

#[test]
fn unknown_type_names_file_line_and_column_on_both_paths() {
    let dir = scratch("unknown-type");
    write(&dir, "types.proto", "syntax = \"proto3\";\npackage p;\nmessage M {\n  Nope n = 1;\n}\n");
    let err = rust_rpc_codegen::Builder::new().generate(&[dir.join("types.proto")], &[&dir]).expect_err("unknown");
    let text = err.to_string();
    assert!(text.starts_with("types.proto:4:3: ") && text.contains("Nope"), "{text}");
    let err = run_plugin(&[&dir], &["types.proto"], "").expect_err("protoc refuses it");
    assert!(err.contains("types.proto:4:3") && err.contains("Nope"), "{err}");

    let text = through_protoc(&dir, "types.proto").to_string();
    assert!(text.contains("types.proto:4:3: ") && text.contains("Nope"), "{text}");
}

#[test]
fn a_protoc_that_is_not_there_is_an_error_that_says_what_to_do() {
    let dir = scratch("no-protoc");
    write(&dir, "ok.proto", "syntax = \"proto3\";\npackage p;\n");
    let err = rust_rpc_codegen::Builder::new()
        .protoc(dir.join("no-such-protoc"))
        .generate(&[dir.join("ok.proto")], &[&dir])
        .expect_err("no protoc");
    let text = err.to_string();
    assert!(matches!(err, rust_rpc_codegen::Error::Protoc { .. }), "{err:?}");
    assert!(text.contains("no-such-protoc") && text.contains("PROTOC") && text.contains("protox"), "{text}");
}

#[test]
fn a_proto_outside_the_includes_is_an_error() {
    let dir = scratch("outside");
    write(&dir, "ok.proto", "syntax = \"proto3\";\npackage p;\n");
    let elsewhere = scratch("outside-includes");
    let err = rust_rpc_codegen::Builder::new().generate(&[dir.join("ok.proto")], &[&elsewhere]).expect_err("outside");
    assert!(err.to_string().contains("ok.proto"), "{err}");
    let err = rust_rpc_codegen::Builder::new()
        .protoc(protoc())
        .generate(&[dir.join("ok.proto")], &[&elsewhere])
        .expect_err("outside");
    assert!(matches!(err, rust_rpc_codegen::Error::Protoc { .. }) && err.to_string().contains("ok.proto"), "{err}");
}

#[test]
fn unknown_option_is_a_response_error_not_a_panic() {
    let request = CodeGeneratorRequest { parameter: Some("colour=blue".into()), ..Default::default() };
    let response = rust_rpc_codegen::respond(&request);
    let error = response.error.expect("an error");
    assert!(error.contains("colour") && error.contains("unknown option"), "{error}");
    assert!(response.file.is_empty());
    assert_eq!(response.supported_features, Some(1), "proto3 optional is still declared");
}

#[test]
fn undecodable_request_is_an_error() {
    for garbage in [&[0xff, 0xff, 0xff, 0x01][..], b"\x0a\x05ab", b"not a protobuf at all \xff\xfe"] {
        let err = rust_rpc_codegen::execute(garbage).expect_err("garbage");
        assert!(err.to_string().contains("CodeGeneratorRequest"), "{err}");
    }
    // The empty request is a valid (empty) message: nothing to generate, no error.
    let response = rust_rpc_codegen::execute(&[]).expect("empty request decodes");
    let response = prost_types::compiler::CodeGeneratorResponse::decode(response.as_slice()).expect("response");
    assert!(response.error.is_none() && response.file.is_empty(), "{response:?}");
}

#[test]
fn malformed_options_are_errors_on_both_paths() {
    for bad in [
        "client=maybe",
        "module_tree=main.rs",
        "crate=a b",
        "extern_path=.a",
        "extern_path=.helloworld=::not a path",
        "runtime_crate=::not a path",
    ] {
        let request = CodeGeneratorRequest { parameter: Some(bad.into()), ..Default::default() };
        let response = rust_rpc_codegen::respond(&request);
        assert!(response.error.as_deref().is_some_and(|e| e.contains("invalid option")), "{bad}: {response:?}");
        let from_builder = rust_rpc_codegen::Builder::from_parameter(bad)
            .and_then(|b| b.generate(&[repo().join("protos/helloworld.proto")], &[repo().join("protos")]).map(|_| ()));
        assert!(matches!(from_builder, Err(rust_rpc_codegen::Error::InvalidOption { .. })), "{bad}: {from_builder:?}");
    }
}

#[test]
fn an_extern_path_that_is_not_a_rust_path_is_refused_before_generating() {
    let err = rust_rpc_codegen::Builder::new()
        .extern_path(".helloworld", "::hello world")
        .generate(&[repo().join("protos/helloworld.proto")], &[repo().join("protos")])
        .expect_err("not a path");
    assert!(matches!(&err, rust_rpc_codegen::Error::InvalidOption { option, .. } if option == "extern_path"), "{err}");
    assert!(err.to_string().contains("\"::hello world\" (for .helloworld) is not a Rust path"), "{err}");
}

/// Set in the child process [`compile_without_out_dir_is_an_error_that_says_what_to_do`] starts.
const CHILD: &str = "CODEGEN_TESTS_NO_OUT_DIR_CHILD";

/// `Builder::compile` outside build.rs, with no `out_dir`: an error saying what to do. Cargo
/// may set `OUT_DIR` for the test process, and removing it here would race with other tests
/// (and `unsafe_code` is forbidden), so the check runs in a child process of this test binary
/// started without it.
#[test]
fn compile_without_out_dir_is_an_error_that_says_what_to_do() {
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "errors::compile_without_out_dir_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("OUT_DIR")
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "the child test did not run:\n{stdout}");
}

/// The child half of [`compile_without_out_dir_is_an_error_that_says_what_to_do`]; does
/// nothing in a normal run.
#[test]
fn compile_without_out_dir_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    assert!(std::env::var_os("OUT_DIR").is_none());
    let err = rust_rpc_codegen::Builder::new()
        .compile(&[repo().join("protos/helloworld.proto")], &[repo().join("protos")])
        .expect_err("nowhere to write");
    assert!(matches!(err, rust_rpc_codegen::Error::OutDirNotSet), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("OUT_DIR is not set") && text.contains("build.rs") && text.contains("Builder::out_dir"),
        "{text}"
    );
}

#[test]
fn an_attribute_that_is_not_an_attribute_is_refused() {
    let dir = scratch("bad-attribute");
    write(&dir, "ok.proto", "syntax = \"proto3\";\npackage p;\nmessage M {}\n");
    let err = rust_rpc_codegen::Builder::new()
        .type_attribute(".p.M", "#[derive(Hash")
        .generate(&[dir.join("ok.proto")], &[&dir])
        .expect_err("not an attribute");
    assert!(err.to_string().contains("type_attribute"), "{err}");
    // The same through the plugin: an error response, no panic.
    let request =
        CodeGeneratorRequest { parameter: Some("type_attribute=.p.M=#[derive(Hash".into()), ..Default::default() };
    // (`#[derive(Hash` has an unclosed bracket, so the comma splitter keeps the rest whole.)
    let response = rust_rpc_codegen::respond(&request);
    assert!(response.error.as_deref().is_some_and(|e| e.contains("type_attribute")), "{response:?}");
    let err = rust_rpc_codegen::Builder::new()
        .field_attribute(".p.M.x", "not an attribute")
        .generate(&[dir.join("ok.proto")], &[&dir])
        .expect_err("not an attribute");
    assert!(err.to_string().contains("field_attribute"), "{err}");
}

#[test]
fn descriptors_that_make_no_sense_get_an_error_response() {
    let file = FileDescriptorProto {
        name: Some("odd.proto".into()),
        package: Some("odd".into()),
        message_type: vec![DescriptorProto { name: Some("M".into()), ..Default::default() }],
        service: vec![ServiceDescriptorProto {
            name: Some("S".into()),
            method: vec![MethodDescriptorProto {
                name: Some("Call".into()),
                input_type: Some(".odd.Missing".into()),
                output_type: Some("".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    for to_generate in [vec!["odd.proto".to_string()], vec!["undescribed.proto".to_string()]] {
        let request = CodeGeneratorRequest {
            file_to_generate: to_generate,
            proto_file: vec![file.clone()],
            ..Default::default()
        };
        let bytes = request.encode_to_vec();
        // Either generated or refused with a message: never a panic.
        let response = rust_rpc_codegen::execute(&bytes).expect("decodes");
        let response = prost_types::compiler::CodeGeneratorResponse::decode(response.as_slice()).expect("response");
        assert!(response.error.is_some() || !response.file.is_empty());
    }
}
