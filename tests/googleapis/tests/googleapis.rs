//! Real-world protos through the generator: a broad set of googleapis services (from the npm
//! package `google-proto-files`), gRPC health (`grpc-health-check`) and reflection
//! (`@grpc/reflection`), all fetched with `npm pack` into `<repo>/.cache/npm` on first run.
//! The generated crate must pass `cargo clippy -- -D warnings` and `cargo doc` with
//! `-D warnings`, as a user's crate would be checked.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::{npm_package, repo, target_dir};

/// npm packages and versions, pinned so the test sees the same protos every run.
const PACKAGES: [(&str, &str); 3] =
    [("google-proto-files", "6.0.1"), ("grpc-health-check", "2.1.0"), ("@grpc/reflection", "1.0.4")];

/// googleapis service directories to generate (everything they import comes along).
const SERVICE_DIRS: [&str; 20] = [
    "google/pubsub/v1",
    "google/storage/v2",
    "google/spanner/v1",
    "google/spanner/admin/database/v1",
    "google/firestore/v1",
    "google/datastore/v1",
    "google/bigtable/v2",
    "google/cloud/tasks/v2",
    "google/cloud/language/v1",
    "google/cloud/vision/v1",
    "google/cloud/speech/v1",
    "google/cloud/translate/v3",
    "google/cloud/texttospeech/v1",
    "google/iam/v1",
    "google/logging/v2",
    "google/monitoring/v3",
    "google/longrunning",
    "google/cloud/location",
    "google/rpc",
    "google/type",
];

fn run(command: &mut Command) {
    let shown = format!("{command:?}");
    let status = command.status().unwrap_or_else(|e| panic!("could not run {shown}: {e}"));
    assert!(status.success(), "{shown} failed with {status}");
}

fn protos_under(root: &Path, dir: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("{}: {e}", root.join(dir).display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    found.sort();
    found
}

#[test]
fn googleapis_health_and_reflection_compile_clippy_clean_and_document() {
    let [googleapis, health, reflection] = PACKAGES.map(|(name, version)| npm_package(name, version));
    let health = health.join("proto");
    let reflection = reflection.join("build/proto");

    let mut protos = Vec::new();
    for dir in SERVICE_DIRS {
        protos.extend(protos_under(&googleapis, dir));
    }
    protos.extend(protos_under(&health, "health/v1"));
    protos.extend(protos_under(&reflection, "grpc/reflection/v1"));
    protos.extend(protos_under(&reflection, "grpc/reflection/v1alpha"));
    assert!(protos.len() >= 100, "expected a broad set, found {} protos", protos.len());

    let out = target_dir().join("googleapis-crate");
    let _ = std::fs::remove_dir_all(out.join("src"));
    let generated = rust_rpc_codegen::Builder::new()
        .generate_crate("googleapis-generated")
        .runtime_dependency(format!("path:{}", repo().join("runtime").display()))
        .generate_with_warnings(&protos, &[&googleapis, &health, &reflection])
        .unwrap_or_else(|e| panic!("generation failed: {e}"));
    // Real APIs need no renames: every name is the one prost-build would write.
    let warnings: Vec<String> = generated.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.is_empty(), "renames in googleapis:\n{}", warnings.join("\n"));
    let files = generated.files;
    let services = files.values().map(|code| code.matches("pub trait ").count()).sum::<usize>();
    let packages = files.keys().filter(|name| name.ends_with(".rs") && *name != "src/lib.rs").count();
    assert!(services >= 30, "expected at least 30 services, generated {services}");
    rust_rpc_codegen::write_files(&out, &files).expect("write the crate");
    // Its own workspace, so cargo does not try to attach it to ours.
    let manifest = out.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).expect("read Cargo.toml");
    toml.push_str("\n[workspace]\n");
    std::fs::write(&manifest, toml).expect("write Cargo.toml");
    eprintln!("generated {services} services in {packages} packages from {} protos", protos.len());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = target_dir().join("googleapis-target");
    run(Command::new(&cargo)
        .args(["clippy", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .args(["--", "-D", "warnings"]));
    run(Command::new(&cargo)
        .args(["doc", "--quiet", "--no-deps", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .env("RUSTDOCFLAGS", "-D warnings"));
}
