//! Snapshot tests (insta): the code generated for every fixture `.proto`, one snapshot per
//! fixture, under `tests/codegen/tests/snapshots/`.
//!
//! When generated code changes on purpose, review and accept the new snapshots with
//! `cargo insta review` (needs `cargo install cargo-insta`), or without cargo-insta:
//! `INSTA_UPDATE=always cargo test -p codegen-tests snapshots`, then review the `git diff`.
//! With `CI=true` a mismatch fails the test and nothing is written.
//!
//! Each fixture is generated alone, with the build.rs front end and `module_tree=mod.rs`. A
//! fixture's snapshot therefore holds every file that fixture generates standalone, in path
//! order: the packages it imports too (`bugs/nest_bar.proto` brings `nest`, `edge/deep.proto`
//! and `edge/same_name_b.proto` bring `edge.a`), plus `mod.rs`, which is where fixtures that
//! only make sense together show their point (`nest_bar`'s package module nested inside
//! `nest.rs`'s `pub mod bar`). The well-known types are never generated (they map to
//! prost-types). Fixtures of one package generate that package from what they see:
//! `grpc/testing/empty.proto` alone gives a `grpc.testing.rs` with only `Empty`, `test.proto`
//! the whole package.

use std::path::Path;

use crate::support::repo;

/// Every generated file of one fixture, each under a `// ==== path ====` line, in path order.
fn generate(proto: &Path, include: &Path) -> String {
    let files = rust_rpc_codegen::Builder::new()
        .module_tree("mod.rs")
        .generate(&[proto], &[include])
        .unwrap_or_else(|e| panic!("{} does not generate: {e}", proto.display()));
    files.iter().map(|(path, code)| format!("// ==== {path} ====\n{code}\n")).collect()
}

/// `tests/codegen/protos/{edge,bugs}/*.proto`, imports resolved from `tests/codegen/protos`.
#[test]
fn fixtures() {
    let include = repo().join("tests/codegen/protos");
    insta::glob!("../protos", "**/*.proto", |proto| {
        insta::assert_snapshot!(generate(proto, &include));
    });
}

/// `protos/**/*.proto`: the examples, the benchmark and the interop protos.
#[test]
fn example_protos() {
    let include = repo().join("protos");
    insta::glob!("../../../protos", "**/*.proto", |proto| {
        insta::assert_snapshot!(generate(proto, &include));
    });
}
