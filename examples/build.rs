//! Generates the example stubs from `protos/` with the pure-Rust parser: no protoc needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    rust_rpc_codegen::compile_protos(
        &["../protos/helloworld.proto", "../protos/helloworld_stream.proto", "../protos/route_guide.proto"],
        &["../protos"],
    )?;
    Ok(())
}
