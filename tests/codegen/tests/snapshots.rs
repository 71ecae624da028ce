//! Snapshot tests: the generated code for representative protos, compared with files committed
//! under `tests/codegen/snapshots`. A change in generated code shows up as a diff here; when it
//! is intended, regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p codegen-tests snapshots` and
//! review the diff in git.

use std::path::PathBuf;

use crate::support::{diff, repo};

fn check(name: &str, protos: &[PathBuf], includes: &[PathBuf]) {
    let files = rust_rpc_codegen::Builder::new().generate(protos, includes).expect("generate");
    let dir = repo().join("tests/codegen/snapshots");
    for (file, code) in files {
        let snapshot = dir.join(format!("{name}__{file}"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(&dir).expect("snapshot dir");
            std::fs::write(&snapshot, &code).expect("write snapshot");
            continue;
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_else(|_| {
            panic!(
                "no snapshot {}; create it with UPDATE_SNAPSHOTS=1 cargo test -p codegen-tests snapshots",
                snapshot.display()
            )
        });
        assert!(
            expected == code,
            "{} differs from the generated code (- snapshot, + generated):\n{}\n\
             If the change is intended: UPDATE_SNAPSHOTS=1 cargo test -p codegen-tests snapshots, then review \
             the git diff of tests/codegen/snapshots.",
            snapshot.display(),
            diff(&expected, &code, 3, 80)
        );
    }
}

#[test]
fn helloworld() {
    let protos = repo().join("protos");
    check("helloworld", &[protos.join("helloworld.proto")], &[protos]);
}

#[test]
fn route_guide_all_four_kinds() {
    let protos = repo().join("protos");
    check("route_guide", &[protos.join("route_guide.proto")], &[protos]);
}

#[test]
fn keywords_and_collisions() {
    let protos = repo().join("tests/codegen/protos");
    check("keywords", &[protos.join("edge/keywords.proto")], &[protos]);
}

#[test]
fn hostile_comments() {
    let protos = repo().join("tests/codegen/protos");
    check("comments", &[protos.join("edge/comments.proto")], &[protos]);
}
