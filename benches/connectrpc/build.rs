//! helloworld for connectrpc, from descriptors parsed by protox (no protoc needed).

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let set = protox::compile(["helloworld.proto"], ["../../protos"])?;
    let path = out.join("helloworld.fds");
    std::fs::write(&path, set.encode_to_vec())?;
    connectrpc_build::Config::new()
        .descriptor_set(&path)
        .files(&["helloworld.proto"])
        .generate_json(false)
        .include_file("_connectrpc.rs")
        .compile()?;
    println!("cargo:rerun-if-changed=../../protos/helloworld.proto");
    Ok(())
}
