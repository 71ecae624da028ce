//! The protoc plugin and the build.rs path produce the same files for the same input.

use std::path::Path;

use crate::support::{repo, run_plugin};

fn compare(includes: &[&Path], protos: &[&str], parameter: &str) {
    let from_plugin = run_plugin(includes, protos, parameter).unwrap_or_else(|e| panic!("protoc failed: {e}"));
    let paths: Vec<_> = protos.iter().map(|p| includes[0].join(p)).collect();
    let from_builder = rust_rpc_codegen::Builder::from_parameter(parameter)
        .expect("parameter")
        .generate(&paths, includes)
        .unwrap_or_else(|e| panic!("build.rs path failed: {e}"));
    let from_builder: Vec<(String, String)> = from_builder.into_iter().collect();
    let names = |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&from_plugin), names(&from_builder), "the same files");
    for ((name, plugin), (_, builder)) in from_plugin.iter().zip(&from_builder) {
        if plugin != builder {
            let line = plugin.lines().zip(builder.lines()).position(|(a, b)| a != b).unwrap_or(0);
            panic!(
                "{name} differs at line {}:\nplugin:  {:?}\nbuild.rs: {:?}",
                line + 1,
                plugin.lines().nth(line),
                builder.lines().nth(line)
            );
        }
    }
}

#[test]
fn examples_generate_identically_through_protoc_and_protox() {
    let protos = repo().join("protos");
    compare(&[&protos], &["helloworld.proto", "route_guide.proto"], "");
    compare(&[&protos], &["helloworld.proto"], "client=false,module_tree=mod.rs");
}

#[test]
fn edge_fixtures_generate_identically_through_protoc_and_protox() {
    let fixtures = repo().join("tests/codegen/protos");
    // Every fixture except the well-known-types one: its embedded descriptor set includes
    // google/protobuf files, whose text differs between protoc's bundled copies and protox's.
    let protos = [
        "edge/keywords.proto",
        "edge/same_name_a.proto",
        "edge/same_name_b.proto",
        "edge/no_package.proto",
        "edge/legacy.proto",
        "edge/optional.proto",
        "edge/empty_service.proto",
        "edge/deep.proto",
        "edge/deprecated.proto",
        "edge/comments.proto",
        "edge/collide.proto",
    ];
    compare(&[&fixtures], &protos, "module_tree=mod.rs");
    // With the descriptor set off, the well-known types fixture matches too.
    compare(&[&fixtures], &["edge/well_known.proto"], "file_descriptor_set=false");
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
