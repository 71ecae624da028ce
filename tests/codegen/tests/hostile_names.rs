//! Valid protos whose names clash with names the generated code relies on. Each test generates
//! a crate and runs `cargo check` on it with `#![deny(warnings)]` (tens of seconds the first
//! time), so the compiler itself is the judge. Each was a generator bug, pinned here first.

use std::path::PathBuf;

use crate::support::{check_generated_crate, repo};

fn bugs(files: &[&str]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dir = repo().join("tests/codegen/protos");
    (files.iter().map(|f| dir.join(f)).collect(), vec![dir])
}

fn generated(file: &str, package_file: &str) -> String {
    let (protos, includes) = bugs(&[file]);
    let mut files = rust_rpc_codegen::Builder::new().generate(&protos, &includes).expect("generates");
    files.remove(package_file).expect("the package file")
}

#[test]
fn messages_named_send_and_sync_compile() {
    // The package's `struct Send` would shadow the prelude trait (error[E0404]) if generated
    // bounds named `Send` / `Sync` without a path; they use `::core::marker::*`.
    let code = generated("bugs/shadow_traits.proto", "bugs.traits.rs");
    assert!(code.contains("pub struct Send {") && !code.contains("+ Send"), "precondition: {code}");
    let (protos, includes) = bugs(&["bugs/shadow_traits.proto"]);
    check_generated_crate("shadow-traits", &protos, &includes).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_message_named_s_compiles() {
    // `pub fn letters_service<S: LettersServicer>(servicer: S)` registered closures taking
    // `request: S`, which then meant the servicer type, not the message (E0308/E0277). The
    // generic is now the first of `S`, `S2`, ... that no type of the package takes.
    let code = generated("bugs/shadow_generic.proto", "bugs.generic.rs");
    assert!(code.contains("<S2: LettersServicer>") && code.contains("request: S,"), "{code}");
    assert!(
        code.contains("pub fn stream<S2>(") && code.contains("S2: ::rust_rpc::__codegen::Stream<Item = S>"),
        "{code}"
    );
    let (protos, includes) = bugs(&["bugs/shadow_generic.proto"]);
    check_generated_crate("shadow-generic", &protos, &includes).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_package_named_like_a_messages_nested_module_compiles() {
    // prost-build puts message `nest.Bar`'s nested types in `pub mod bar` of `nest.rs`; the
    // module tree used to add a second `pub mod bar` for package `nest.bar` (E0428). The
    // package now goes inside prost's module, and each file refers to the other's types.
    let (protos, includes) = bugs(&["bugs/nest.proto", "bugs/nest_bar.proto"]);
    let files = rust_rpc_codegen::Builder::new().module_tree("mod.rs").generate(&protos, &includes).expect("generates");
    assert!(files["mod.rs"].contains("pub mod nest {\n    include!(\"nest.rs\");\n}"), "{}", files["mod.rs"]);
    assert!(files["nest.rs"].contains("pub mod bar {\n    include!(\"nest.bar.rs\");\n"), "{}", files["nest.rs"]);
    assert!(files["nest.bar.rs"].contains("super::bar::Inner"), "{}", files["nest.bar.rs"]);
    check_generated_crate("nest", &protos, &includes).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_method_named_underscore_generates_and_compiles() {
    // heck turns `_` into "", and `ident("")` used to panic (caught, and reported as
    // "prost-build failed: Ident is not allowed to be empty"). A name of underscores only is
    // now kept and escaped like `self`: `_` -> `__`, path constant `_PATH`.
    let code = generated("bugs/underscore_method.proto", "bugs.underscore.rs");
    assert!(code.contains("\"/bugs.underscore.S/_\"") && code.contains("pub fn __(&self"), "{code}");
    let (protos, includes) = bugs(&["bugs/underscore_method.proto"]);
    check_generated_crate("underscore-method", &protos, &includes).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_method_named_underscore_generates_the_same_through_the_plugin() {
    let dir = repo().join("tests/codegen/protos");
    let files =
        crate::support::run_plugin(&[&dir], &["bugs/underscore_method.proto"], "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].1, generated("bugs/underscore_method.proto", "bugs.underscore.rs"));
}

#[test]
fn a_service_named_underscore_compiles_without_warnings() {
    // `service _` used to give `_service` and `add__servicer_to_server` (non_snake_case). The
    // empty stem is now left out: `Client`, `Servicer`, `service`, `add_servicer_to_server`.
    let code = generated("bugs/underscore_service.proto", "bugs.lonely.rs");
    assert!(code.contains("pub struct Client {") && code.contains("pub fn add_servicer_to_server"), "{code}");
    assert!(code.contains("pub fn service<S: Servicer>"), "{code}");
    let (protos, includes) = bugs(&["bugs/underscore_service.proto"]);
    check_generated_crate("underscore-service", &protos, &includes).unwrap_or_else(|e| panic!("{e}"));
}

/// The contiguous `///` block right before the first line containing `item`.
fn docs_before(code: &str, item: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let at = lines.iter().position(|l| l.contains(item)).expect("the item");
    let start = lines[..at].iter().rposition(|l| !l.trim_start().starts_with("///")).map_or(0, |i| i + 1);
    lines[start..at].iter().map(|l| format!("{}\n", l.trim_start())).collect()
}

#[test]
fn rust_fences_in_proto_comments_are_not_doctests() {
    // prost-build rewrites ```rust to ```compile_fail before `docs::clean` sees the text, so
    // the `info == "rust"` case there never fires. In a crate that `include_proto!`s the code,
    // rustdoc then compiles the block: `cargo doc` warns "could not parse code block as Rust
    // code" (an error under -D warnings) for prose, and `cargo test --doc` FAILS for a block
    // that does compile ("Test compiled successfully, but it's marked `compile_fail`").
    let code = generated("bugs/rust_fence.proto", "bugs.fence.rs");
    let docs = docs_before(&code, "pub fn call(");
    assert!(docs.contains("let answer = 42;"), "{docs}");
    // rustdoc on those docs alone, as a doctest run would see them.
    let dir = crate::support::scratch("rust-fence");
    let file = dir.join("lib.rs");
    std::fs::write(&file, format!("//! Docs copied from generated code.\n\n{docs}pub fn call() {{}}\n"))
        .expect("write");
    let rustdoc = std::env::var("RUSTDOC").unwrap_or_else(|_| "rustdoc".into());
    let output = std::process::Command::new(rustdoc)
        .args(["--test", "--edition", "2024", "--crate-name", "fence", "-D", "warnings"])
        .arg(&file)
        .output()
        .expect("run rustdoc");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let fences: Vec<&str> =
        docs.lines().filter(|l| l.trim_start_matches("///").trim_start().starts_with("```")).collect();
    assert!(
        output.status.success() && !text.contains("running 1 test") && !text.contains("running 2 tests"),
        "the fences are {fences:?}; rustdoc --test says:\n{text}"
    );
}
