//! `protox-generate OUT INCLUDE... -- PROTO...`: the build.rs code path (protox, no protoc),
//! timed by `scripts/bench-codegen.py`.

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").ok_or("usage: protox-generate OUT INCLUDE... -- PROTO...")?;
    let (out, includes) = args[..split].split_first().ok_or("missing OUT")?;
    let protos = &args[split + 1..];
    rust_rpc_codegen::Builder::new().module_tree("lib.rs").out_dir(out).compile(protos, includes)?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("protox-generate: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
