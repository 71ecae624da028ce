//! `proto-closure INCLUDE... -- PROTO...`: prints every file the protos need (themselves and
//! their imports, without the well-known types), one per line, imports first: what a protoc
//! invocation must name to generate them all.

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").ok_or("usage: proto-closure INCLUDE... -- PROTO...")?;
    // Well-known types from protox's own copies first, as rust-rpc-codegen resolves them.
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(protox::file::GoogleFileResolver::new());
    for include in &args[..split] {
        resolver.add(protox::file::IncludeFileResolver::new(include.into()));
    }
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_files(&args[split + 1..])?;
    for file in compiler.file_descriptor_set().file {
        let name = file.name.unwrap_or_default();
        if !name.starts_with("google/protobuf/") {
            println!("{name}");
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("proto-closure: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
