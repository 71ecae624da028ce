//! A generated crate is a normal dependency: generate `hello-api` from helloworld.proto, then
//! build and run a second crate that depends on it, serves Greeter and calls it.

use std::process::Command;

use crate::support::repo;

const CONSUMER: &str = r#"
use hello_api::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use rust_rpc::{Result, Server, ServicerContext};

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        Ok(HelloReply { message: format!("Hello {} from a generated crate", request.name) })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let server = Server::new();
    add_greeter_servicer_to_server(Greeter, &server)?;
    let port = server.add_insecure_port("127.0.0.1:0")?;
    server.start()?;
    let client = GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
    let reply = client.say_hello(HelloRequest { name: "consumer".into() }).await?;
    println!("{}", reply.message);
    server.stop(None).await;
    Ok(())
}
"#;

#[test]
fn a_generated_crate_builds_and_serves_from_another_crate() {
    // Outside the repository, where a user's crates live: inside it, cargo would attach the
    // generated crate to our workspace.
    let root = std::env::temp_dir().join(format!("rust-rpc-crate-output-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let runtime = repo().join("runtime");
    let files = rust_rpc_codegen::Builder::new()
        .generate_crate("hello-api")
        .runtime_dependency(format!("path:{}", runtime.display()))
        .generate(&[repo().join("protos/helloworld.proto")], &[repo().join("protos")])
        .expect("generate the crate");
    rust_rpc_codegen::write_files(&root.join("hello-api"), &files).expect("write the crate");

    let consumer = root.join("consumer");
    std::fs::create_dir_all(consumer.join("src")).expect("consumer dir");
    std::fs::write(
        consumer.join("Cargo.toml"),
        format!(
            "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             hello-api = {{ path = \"../hello-api\" }}\nrust-rpc = {{ path = {:?} }}\n\
             tokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n",
            runtime.display().to_string()
        ),
    )
    .expect("consumer manifest");
    std::fs::write(consumer.join("src/main.rs"), CONSUMER).expect("consumer main");
    std::fs::write(root.join("Cargo.toml"), "[workspace]\nresolver = \"3\"\nmembers = [\"consumer\", \"hello-api\"]\n")
        .expect("workspace manifest");
    // Our lock file, so the build reuses the versions (and artifacts) the workspace has.
    std::fs::copy(repo().join("Cargo.lock"), root.join("Cargo.lock")).expect("lock file");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| repo().join("target"));
    let output = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(consumer.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target.join("crate-output"))
        .output()
        .expect("run cargo");
    assert!(output.status.success(), "the consumer failed:\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "Hello consumer from a generated crate");
    let _ = std::fs::remove_dir_all(&root);
}
