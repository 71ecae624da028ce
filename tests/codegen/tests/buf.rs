//! `buf generate` with a local plugin entry, as the README shows it, writes the same files as
//! protoc with the same options. buf comes from npm (`@bufbuild/buf-<platform>`, the binary
//! the `@bufbuild/buf` package installs, at `test_support::BUF_VERSION`), fetched into
//! `.cache/npm` on first run.

use std::process::Command;

use test_support::buf;

use crate::support::{diff, plugin, repo, run_plugin, scratch};

#[test]
fn buf_generate_with_a_local_plugin_writes_what_protoc_writes() {
    let buf = buf();
    let work = scratch("buf-generate");
    let protos = repo().join("protos");
    std::fs::create_dir_all(work.join("protos")).expect("create protos dir");
    for proto in ["helloworld.proto", "route_guide.proto"] {
        std::fs::copy(protos.join(proto), work.join("protos").join(proto)).expect("copy proto");
    }
    std::fs::write(work.join("buf.yaml"), "version: v2\nmodules:\n  - path: protos\n").expect("buf.yaml");
    let gen_yaml = format!(
        "version: v2\nplugins:\n  - local: {:?}\n    out: gen\n    opt:\n      - module_tree=mod.rs\n",
        plugin().display().to_string()
    );
    std::fs::write(work.join("buf.gen.yaml"), gen_yaml).expect("buf.gen.yaml");
    let output = Command::new(&buf)
        .arg("generate")
        .current_dir(&work)
        .env("BUF_CACHE_DIR", work.join("cache"))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", buf.display()));
    assert!(output.status.success(), "buf generate failed:\n{}", String::from_utf8_lossy(&output.stderr));

    let expected =
        run_plugin(&[&work.join("protos")], &["helloworld.proto", "route_guide.proto"], "module_tree=mod.rs")
            .unwrap_or_else(|e| panic!("protoc failed: {e}"));
    let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["helloworld.rs", "mod.rs", "routeguide.rs"]);
    for (name, from_protoc) in &expected {
        let from_buf = std::fs::read_to_string(work.join("gen").join(name))
            .unwrap_or_else(|e| panic!("buf did not write {name}: {e}"));
        assert!(
            from_buf == *from_protoc,
            "{name}: protoc (-) and buf (+) differ:\n{}",
            diff(from_protoc, &from_buf, 2, 60)
        );
    }
}
