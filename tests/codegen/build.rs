//! Generates every edge-case and hostile-name fixture with the build.rs front end, into one module tree, so the
//! generated code is compiled, linted (clippy -D warnings) and documented (rustdoc -D warnings)
//! like a user's crate.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut protos: Vec<_> =
        std::fs::read_dir("protos/edge")?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    // The hostile names (renamed by the generator, with a cargo warning each).
    for entry in std::fs::read_dir("protos/hostile")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "proto") {
            protos.push(path);
        }
    }
    protos.push("protos/hostile/google/protobuf/mine.proto".into());
    protos.sort();
    // Not `compile`, which prints a `cargo:warning` per rename: the hostile fixtures have
    // dozens, on purpose (tests/hostile.rs checks them, and that `compile` prints them).
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let generated =
        rust_rpc_codegen::Builder::new().module_tree("mod.rs").generate_with_warnings(&protos, &["protos"])?;
    rust_rpc_codegen::write_files(&out_dir, &generated.files)?;
    println!("cargo:rerun-if-changed=protos/edge");
    println!("cargo:rerun-if-changed=protos/hostile");
    Ok(())
}
