//! helloworld and the benchmark proto twice: for rust-rpc (our generator) and for tonic
//! (tonic-prost-build), both from descriptors parsed by protox, so neither needs protoc. The
//! benchmark proto's `bytes` fields are `bytes::Bytes` on both sides, so servers answer with
//! cheap clones of one prebuilt payload.

const PROTOS: [&str; 2] = ["helloworld.proto", "bench.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let paths: Vec<String> = PROTOS.iter().map(|p| format!("../protos/{p}")).collect();
    rust_rpc_codegen::Builder::new().out_dir(out.join("rust-rpc")).bytes(".bench").compile(&paths, &["../protos"])?;
    let set = protox::compile(PROTOS, ["../protos"])?;
    std::fs::create_dir_all(out.join("tonic"))?;
    tonic_prost_build::configure().out_dir(out.join("tonic")).bytes(".bench").compile_fds(set)?;
    for path in &paths {
        println!("cargo:rerun-if-changed={path}");
    }
    Ok(())
}
