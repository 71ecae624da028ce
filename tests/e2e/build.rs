//! Generates the test services from the repository's protos with the build.rs front end.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    rust_rpc_codegen::compile_protos(
        &["../../protos/helloworld.proto", "../../protos/route_guide.proto"],
        &["../../protos"],
    )?;
    Ok(())
}
