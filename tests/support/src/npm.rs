//! Packages from the npm registry, cached in `<repo>/.cache/npm`.

use std::path::PathBuf;
use std::process::Command;

use crate::repo;

/// The buf release the tests run (`tests/codegen`'s `buf generate`, `tests/interop`'s `buf curl`).
pub const BUF_VERSION: &str = "1.75.0";

/// The npm package `name@version` unpacked under `<repo>/.cache/npm/<name>-<version>/package`
/// (`@scope/name` as `scope-name`), fetched with `npm pack` on first use.
pub fn npm_package(name: &str, version: &str) -> PathBuf {
    let cache = repo().join(".cache/npm");
    let dir = cache.join(format!("{}-{version}", name.trim_start_matches('@').replace('/', "-")));
    let package = dir.join("package");
    if package.join("package.json").exists() {
        return package;
    }
    let download = cache.join("download");
    std::fs::create_dir_all(&download).expect("create .cache/npm/download");
    let output = Command::new("npm")
        .args(["pack", "--silent", &format!("{name}@{version}")])
        .current_dir(&download)
        .output()
        .expect("npm must be installed: this test fetches a package from the npm registry");
    assert!(output.status.success(), "npm pack {name}@{version} failed: {}", String::from_utf8_lossy(&output.stderr));
    let tarball = download.join(String::from_utf8_lossy(&output.stdout).trim());
    std::fs::create_dir_all(&dir).expect("create the package dir");
    let status = Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&dir).status().expect("run tar");
    assert!(status.success(), "unpacking {} failed", tarball.display());
    package
}

/// The `buf` binary ([`BUF_VERSION`]) from `@bufbuild/buf`'s binary package for this platform
/// (`@bufbuild/buf-<platform>`, the one `@bufbuild/buf` installs), fetched on first use.
pub fn buf() -> PathBuf {
    let package = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "@bufbuild/buf-linux-x64",
        ("linux", "aarch64") => "@bufbuild/buf-linux-aarch64",
        ("macos", "x86_64") => "@bufbuild/buf-darwin-x64",
        ("macos", "aarch64") => "@bufbuild/buf-darwin-arm64",
        (os, arch) => panic!("no @bufbuild/buf binary package is known for {os}/{arch}: add it here"),
    };
    npm_package(package, BUF_VERSION).join("bin/buf")
}
