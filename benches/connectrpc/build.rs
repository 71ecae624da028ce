//! helloworld for connectrpc, from descriptors parsed by protox (no protoc needed).

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let set = protox::compile(["helloworld.proto"], ["../../protos"])?;
    let path = out.join("helloworld.fds");
    // Only when it changed: connectrpc-build reruns this script whenever the file's mtime
    // moves, so writing it every time rebuilt the crate on every `cargo build` (12 s).
    let bytes = set.encode_to_vec();
    if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(&path, bytes)?;
    }
    connectrpc_build::Config::new()
        .descriptor_set(&path)
        .files(&["helloworld.proto"])
        .generate_json(false)
        .include_file("_connectrpc.rs")
        .compile()?;
    println!("cargo:rerun-if-changed=../../protos/helloworld.proto");
    Ok(())
}
