//! `protoc-gen-rust-rpc`: the protoc plugin. It only moves bytes; the work is in
//! [`rust_rpc_codegen::execute`].

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        None => {}
        Some("--version") => {
            println!("protoc-gen-rust-rpc {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!(
                "protoc-gen-rust-rpc: unexpected argument {other:?}; this is a protoc plugin: run it through \
                 protoc --rust-rpc_out=DIR, with options in --rust-rpc_opt"
            );
            return ExitCode::FAILURE;
        }
    }
    let mut request = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut request) {
        eprintln!("protoc-gen-rust-rpc: reading the request from stdin failed: {e}");
        return ExitCode::FAILURE;
    }
    let response = match rust_rpc_codegen::execute(&request) {
        Ok(response) => response,
        Err(e) => {
            eprintln!("protoc-gen-rust-rpc: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::io::stdout().write_all(&response) {
        eprintln!("protoc-gen-rust-rpc: writing the response failed: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
