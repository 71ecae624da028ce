//! The real plugin binary, run by protoc, writes one file per package, and the protoc plugin
//! and the build.rs path, with either front end (protox, or protoc through `Builder::protoc`),
//! produce byte-identical files for the same input.
//!
//! The plugin is built with `cargo build -p rust-rpc-codegen --bin protoc-gen-rust-rpc` from the
//! test (see `support::plugin`), so it is never a stale binary, and `CARGO_TARGET_DIR` is
//! respected. protoc is the vendored one from `protoc-bin-vendored`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{diff, plugin, protoc, repo, run_plugin};

/// Every edge-case fixture, as protoc names it (relative to `tests/codegen/protos`).
const FIXTURES: &[&str] = &[
    "edge/collide.proto",
    "edge/comments.proto",
    "edge/deep.proto",
    "edge/deprecated.proto",
    "edge/empty_service.proto",
    "edge/keywords.proto",
    "edge/legacy.proto",
    "edge/no_package.proto",
    "edge/optional.proto",
    "edge/same_name_a.proto",
    "edge/same_name_b.proto",
    "edge/well_known.proto",
];

/// Runs both front ends on the same input and asserts the same file names and bytes.
fn compare(includes: &[&Path], protos: &[&str], parameter: &str) -> Vec<String> {
    let (plugin, builder) = compare_common(includes, protos, parameter);
    assert_eq!(plugin, builder, "the same files from protoc+plugin and from Builder");
    plugin
}

/// Runs the plugin and the builder and asserts that the files both write are byte-identical;
/// returns the names each wrote. The builder runs twice, with protox and with protoc as its
/// front end, which must write the same files, byte for byte.
fn compare_common(includes: &[&Path], protos: &[&str], parameter: &str) -> (Vec<String>, Vec<String>) {
    let from_plugin = run_plugin(includes, protos, parameter).unwrap_or_else(|e| panic!("protoc failed: {e}"));
    let paths: Vec<_> = protos.iter().map(|p| includes[0].join(p)).collect();
    let builder = rust_rpc_codegen::Builder::from_parameter(parameter).expect("parameter");
    let from_builder = builder.generate(&paths, includes).unwrap_or_else(|e| panic!("build.rs path failed: {e}"));
    let from_builder: Vec<(String, String)> = from_builder.into_iter().collect();
    let through_protoc: Vec<(String, String)> = builder
        .clone()
        .protoc(protoc())
        .generate(&paths, includes)
        .unwrap_or_else(|e| panic!("build.rs path with protoc failed: {e}"))
        .into_iter()
        .collect();
    assert_eq!(names(&through_protoc), names(&from_builder), "the same files from both front ends");
    for ((name, protoc), (_, protox)) in through_protoc.iter().zip(&from_builder) {
        assert!(
            protoc == protox,
            "{name}: the builder with protoc (-) and with protox (+) differ:\n{}",
            diff(protoc, protox, 2, 60)
        );
    }
    for (name, plugin) in &from_plugin {
        let Some((_, builder)) = from_builder.iter().find(|(n, _)| n == name) else { continue };
        assert!(
            plugin == builder,
            "{name}: the plugin (-) and Builder::generate (+) differ:\n{}",
            diff(plugin, builder, 2, 60)
        );
    }
    (names(&from_plugin), names(&from_builder))
}

fn names(files: &[(String, String)]) -> Vec<String> {
    files.iter().map(|(n, _)| n.clone()).collect()
}

#[test]
fn examples_generate_identically_through_protoc_and_protox() {
    let protos = repo().join("protos");
    let files = compare(&[&protos], &["helloworld.proto", "route_guide.proto"], "");
    assert_eq!(files, ["helloworld.rs", "routeguide.rs"]);
    let files = compare(&[&protos], &["helloworld.proto"], "client=false,module_tree=mod.rs");
    assert_eq!(files, ["helloworld.rs", "mod.rs"]);
}

#[test]
fn blocking_clients_come_with_the_async_ones_unless_turned_off() {
    let protos = repo().join("protos");
    let generate = |parameter: &str| {
        let files = run_plugin(&[&protos], &["helloworld.proto"], parameter).unwrap_or_else(|e| panic!("{e}"));
        files.into_iter().map(|(_, code)| code).collect::<String>()
    };
    let default = generate("");
    assert!(default.contains("pub struct GreeterClient") && default.contains("pub struct GreeterBlockingClient"));
    let off = generate("blocking_client=false");
    assert!(off.contains("pub struct GreeterClient") && !off.contains("BlockingClient"), "{off}");
    // No client, no blocking client either.
    assert!(!generate("client=false").contains("BlockingClient"));
}

#[test]
fn edge_fixtures_generate_identically_through_protoc_and_protox() {
    let fixtures = repo().join("tests/codegen/protos");
    // All at once, the well-known types included (their descriptors are embedded in
    // `edge.wkt.rs`'s FILE_DESCRIPTOR_SET, so protoc's and protox's copies must agree).
    let files = compare(&[&fixtures], FIXTURES, "module_tree=mod.rs");
    assert_eq!(
        files,
        [
            "_.rs",
            "a.b.c.d.e.rs",
            "edge.a.rs",
            "edge.b.rs",
            "edge.collide.rs",
            "edge.docs.rs",
            "edge.empty.rs",
            "edge.legacy.rs",
            "edge.old.rs",
            "edge.optional.rs",
            "edge.type.rs",
            "edge.wkt.rs",
            "mod.rs",
        ],
        "one file per package, `_.rs` for the file without one, and the module tree"
    );
    // One file at a time, as a build with one proto per invocation would. Every file both
    // front ends write is identical, but see the next test for which files they write.
    for fixture in FIXTURES {
        compare_common(&[&fixtures], &[fixture], "");
    }
    // And with every option that changes the output shape.
    compare(&[&fixtures], &["edge/well_known.proto", "edge/keywords.proto"], "file_descriptor_set=false,server=false");
    compare(&[&fixtures], &["edge/deprecated.proto"], "client=false,btree_map=.,bytes=.");
}

/// Not byte-identical output sets: protoc's plugin writes only the packages of
/// `file_to_generate`, while `Builder::generate` also writes every imported package (except
/// `google.protobuf` and `extern_path`s), as its `to_generate` documents. The crate docs'
/// "for the same input both produce the same code" holds file by file, not for the set.
#[test]
fn builder_also_generates_imported_packages_and_the_plugin_does_not() {
    let fixtures = repo().join("tests/codegen/protos");
    let (plugin, builder) = compare_common(&[&fixtures], &["edge/deep.proto"], "");
    assert_eq!(plugin, ["a.b.c.d.e.rs"]);
    assert_eq!(builder, ["a.b.c.d.e.rs", "edge.a.rs"], "edge.a is imported by deep.proto");
    // So the plugin's module tree for `edge/same_name_b.proto` alone lacks `edge::a`, which
    // `edge.b.rs` refers to (`super::a::Ping`): with protoc, pass every imported file too.
    let (plugin, builder) = compare_common(&[&fixtures], &["edge/same_name_b.proto"], "");
    assert_eq!(plugin, ["edge.b.rs"]);
    assert_eq!(builder, ["edge.a.rs", "edge.b.rs"]);
}

#[test]
fn plugin_writes_a_whole_crate() {
    let protos = repo().join("protos");
    let files =
        run_plugin(&[&protos], &["helloworld.proto"], "crate=hello-api,runtime_dependency=0.1").expect("protoc");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Cargo.toml", "src/helloworld.rs", "src/lib.rs"]);
    let manifest = &files[0].1;
    assert!(manifest.contains("name = \"hello-api\"") && manifest.contains("rust-rpc = \"0.1\""), "{manifest}");
    assert!(files[2].1.contains("pub mod helloworld {"), "{}", files[2].1);
}

#[test]
fn plugin_binary_speaks_the_protocol_on_stdin_and_stdout() {
    use prost::Message;
    let request =
        prost_types::compiler::CodeGeneratorRequest { parameter: Some("colour=blue".into()), ..Default::default() };
    let run = |input: &[u8]| {
        let mut child = Command::new(plugin())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the plugin");
        child.stdin.take().expect("stdin").write_all(input).expect("write request");
        child.wait_with_output().expect("plugin output")
    };
    // A bad option is a response with `error` set, exit status 0 (protoc prints the error).
    let output = run(&request.encode_to_vec());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let response = prost_types::compiler::CodeGeneratorResponse::decode(output.stdout.as_slice()).expect("a response");
    assert!(response.error().contains("colour"), "{:?}", response.error);
    // Bytes that are no request: a protocol error, exit status 1, message on stderr, no panic.
    let output = run(&[0xff, 0xff, 0xff, 0x01]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CodeGeneratorRequest") && !stderr.contains("panicked"), "{stderr}");
}

/// A front-end difference found while writing the fixtures: inside `service S`, protoc
/// resolves a type name that is also the name of one of S's methods to the method (innermost
/// scope first) and refuses the file; protox skips non-type symbols and accepts it. So the
/// build.rs path generates code for a file protoc rejects. (Not the generator's logic: protox
/// 0.10's name resolution.) The fixtures use fully qualified names there.
#[test]
fn protox_accepts_a_method_shadowing_a_type_name_that_protoc_rejects() {
    let dir = crate::support::scratch("method-shadows-type");
    let proto =
        "syntax = \"proto3\";\npackage p;\nmessage Thing {}\nservice S {\n  rpc Thing(Thing) returns (Thing);\n}\n";
    std::fs::write(dir.join("shadow.proto"), proto).expect("write");
    let files =
        rust_rpc_codegen::Builder::new().generate(&[dir.join("shadow.proto")], &[&dir]).expect("protox accepts");
    assert!(files["p.rs"].contains("pub fn thing("));
    let err = run_plugin(&[&dir], &["shadow.proto"], "").expect_err("protoc rejects");
    assert!(err.contains("shadow.proto:5:13: \"Thing\" is not a message type."), "{err}");
}
