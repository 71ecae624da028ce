//! Paths and tools the codegen tests share.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The vendored protoc.
pub fn protoc() -> PathBuf {
    protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc for this platform")
}

/// The plugin binary, built from this workspace (cargo builds it if needed; it is fast when
/// up to date).
pub fn plugin() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "rust-rpc-codegen", "--bin", "protoc-gen-rust-rpc"])
        .current_dir(repo())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building protoc-gen-rust-rpc failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    target.join("debug").join("protoc-gen-rust-rpc")
}

/// A fresh empty directory under the target dir, named for the test.
pub fn scratch(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    let dir = target.join("codegen-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs protoc with our plugin; returns the output files (name -> content) or protoc's stderr.
pub fn run_plugin(includes: &[&Path], protos: &[&str], parameter: &str) -> Result<Vec<(String, String)>, String> {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = scratch(&format!("plugin-{}-{run}", std::process::id()));
    let mut command = Command::new(protoc());
    command.arg(format!("--plugin=protoc-gen-rust-rpc={}", plugin().display()));
    command.arg(format!("--rust-rpc_out={}", out.display()));
    if !parameter.is_empty() {
        command.arg(format!("--rust-rpc_opt={parameter}"));
    }
    for include in includes {
        command.arg(format!("-I{}", include.display()));
    }
    command.args(protos);
    let output = command.output().expect("run protoc");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut files = Vec::new();
    collect(&out, &out, &mut files);
    files.sort();
    Ok(files)
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read output dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            files.push((name, std::fs::read_to_string(&path).expect("utf-8 output")));
        }
    }
}
