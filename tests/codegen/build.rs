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
    rust_rpc_codegen::Builder::new().module_tree("mod.rs").compile(&protos, &["protos"])?;
    println!("cargo:rerun-if-changed=protos/edge");
    println!("cargo:rerun-if-changed=protos/hostile");
    Ok(())
}
