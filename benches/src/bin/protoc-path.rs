//! Prints the path of the protoc binary shipped by the `protoc-bin-vendored` crate.

fn main() -> std::process::ExitCode {
    match protoc_bin_vendored::protoc_bin_path() {
        Ok(path) => {
            println!("{}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("protoc-path: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
