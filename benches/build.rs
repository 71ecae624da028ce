//! helloworld twice: for rust-rpc (our generator) and for tonic (tonic-prost-build), both from
//! descriptors parsed by protox, so neither needs protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    rust_rpc_codegen::Builder::new()
        .out_dir(out.join("rust-rpc"))
        .compile(&["../protos/helloworld.proto"], &["../protos"])?;
    let set = protox::compile(["helloworld.proto"], ["../protos"])?;
    std::fs::create_dir_all(out.join("tonic"))?;
    tonic_prost_build::configure().out_dir(out.join("tonic")).compile_fds(set)?;
    println!("cargo:rerun-if-changed=../protos/helloworld.proto");
    Ok(())
}
