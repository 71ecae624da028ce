//! Paths and tools the codegen tests share.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Shared with the other test crates (`tests/support`).
pub use test_support::{repo, target_dir};

/// The vendored protoc.
pub fn protoc() -> PathBuf {
    protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc for this platform")
}

/// The cargo running the tests (`$CARGO`), else the one on `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The plugin binary, built from this workspace's current sources.
///
/// `CARGO_BIN_EXE_*` only exists for a package's own binaries, so the tests run
/// `cargo build -p rust-rpc-codegen --bin protoc-gen-rust-rpc` once per test process (a no-op
/// when it is up to date) instead of trusting whatever `target/debug` holds, which could be a
/// stale binary. The dev profile is used whatever profile the tests run under, and
/// `CARGO_TARGET_DIR` is respected (cargo passes it down through the environment).
pub fn plugin() -> PathBuf {
    static PLUGIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PLUGIN
        .get_or_init(|| {
            let output = Command::new(cargo())
                .args(["build", "--quiet", "-p", "rust-rpc-codegen", "--bin", "protoc-gen-rust-rpc"])
                .current_dir(repo())
                .output()
                .expect("run cargo build");
            assert!(
                output.status.success(),
                "building protoc-gen-rust-rpc failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let path = target_dir().join("debug").join(format!("protoc-gen-rust-rpc{}", std::env::consts::EXE_SUFFIX));
            assert!(path.is_file(), "no plugin at {}", path.display());
            path
        })
        .clone()
}

/// A fresh empty directory under the target dir, named for the test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = target_dir().join("codegen-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs protoc with our plugin; returns the output files (name -> content) or protoc's stderr.
pub fn run_plugin(includes: &[&Path], protos: &[&str], parameter: &str) -> Result<Vec<(String, String)>, String> {
    run_protoc(includes, protos, parameter, &[])
}

/// [`run_plugin`] with extra protoc arguments (`--descriptor_set_out=...`).
pub fn run_protoc(
    includes: &[&Path],
    protos: &[&str],
    parameter: &str,
    extra: &[String],
) -> Result<Vec<(String, String)>, String> {
    run_protoc_with_stderr(includes, protos, parameter, extra).map(|(files, _)| files)
}

/// [`run_protoc`], also returning what protoc printed on stderr (the plugin's warnings).
pub fn run_protoc_with_stderr(
    includes: &[&Path],
    protos: &[&str],
    parameter: &str,
    extra: &[String],
) -> Result<(Vec<(String, String)>, String), String> {
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
    command.args(extra);
    command.args(protos);
    let output = command.output().expect("run protoc");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let mut files = Vec::new();
    collect(&out, &out, &mut files);
    files.sort();
    Ok((files, String::from_utf8_lossy(&output.stderr).into_owned()))
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

/// A line diff of `expected` -> `actual` (`-` expected only, `+` actual only), showing
/// `context` unchanged lines around each change and at most `limit` lines in all.
pub fn diff(expected: &str, actual: &str, context: usize, limit: usize) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    // (tag, expected line number, text)
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i + 1, a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', i + 1, b[j]));
            j += 1;
        } else {
            ops.push(('-', i + 1, a[i]));
            i += 1;
        }
    }
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, op)| op.0 != ' ').map(|(k, _)| k).collect();
    let mut out = String::new();
    let mut shown = 0;
    let mut last: Option<usize> = None;
    for (k, (tag, line, text)) in ops.iter().enumerate() {
        let near = changed.iter().any(|&c| c.abs_diff(k) <= context);
        if !near {
            continue;
        }
        if last.is_some_and(|l| l + 1 != k) || last.is_none() {
            out.push_str(&format!("@@ line {line} @@\n"));
        }
        last = Some(k);
        out.push_str(&format!("{tag} {text}\n"));
        shown += 1;
        if shown >= limit {
            out.push_str("... (diff truncated)\n");
            break;
        }
    }
    out
}

/// Generates `protos` as a crate (`crate=NAME`) in a fresh directory outside the repository and
/// runs `cargo check` on it with `#![deny(warnings)]` added to its `lib.rs`: `Err` holds the
/// compiler's complaints. Uses the workspace's lock
/// file and `<target>/crate-output`, so dependencies come from cache and are built once.
pub fn check_generated_crate(name: &str, protos: &[PathBuf], includes: &[PathBuf]) -> Result<(), String> {
    let files = rust_rpc_codegen::Builder::new()
        .generate_crate(name)
        .runtime_dependency(format!("path:{}", repo().join("runtime").display()))
        .generate(protos, includes)
        .map_err(|e| format!("generation failed: {e}"))?;
    check_crate(name, &files)
}

/// The runtime dependency generated crates of the tests use.
pub fn runtime_path_option() -> String {
    format!("runtime_dependency=path:{}", repo().join("runtime").display())
}

/// `cargo check` with `#![deny(warnings)]` on a generated crate's files (from either front end).
pub fn check_crate(name: &str, files: &rust_rpc_codegen::Files) -> Result<(), String> {
    let root = std::env::temp_dir().join(format!("rust-rpc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    rust_rpc_codegen::write_files(&root.join(name), files).expect("write the crate");
    let lib = root.join(name).join("src/lib.rs");
    let code = std::fs::read_to_string(&lib).expect("lib.rs");
    std::fs::write(&lib, format!("#![deny(warnings)]\n{code}")).expect("lib.rs");
    std::fs::write(root.join("Cargo.toml"), format!("[workspace]\nresolver = \"3\"\nmembers = [\"{name}\"]\n"))
        .expect("workspace manifest");
    std::fs::copy(repo().join("Cargo.lock"), root.join("Cargo.lock")).expect("lock file");
    let output = Command::new(cargo())
        .args(["check", "--quiet", "--message-format", "short", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir().join("crate-output"))
        .output()
        .expect("run cargo");
    let _ = std::fs::remove_dir_all(&root);
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stderr).into_owned()) }
}
