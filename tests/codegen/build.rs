//! Generates every edge-case fixture with the build.rs front end, into one module tree, so the
//! generated code is compiled, linted (clippy -D warnings) and documented (rustdoc -D warnings)
//! like a user's crate.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut protos: Vec<_> =
        std::fs::read_dir("protos/edge")?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    protos.sort();
    rust_rpc_codegen::Builder::new().module_tree("mod.rs").compile(&protos, &["protos"])?;
    println!("cargo:rerun-if-changed=protos/edge");
    Ok(())
}
