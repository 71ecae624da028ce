//! The lightest build a user can ask for: the runtime without its default features (no TLS,
//! health, reflection or signals) and the generator without protox, so that build.rs runs
//! protoc (`$PROTOC`). A crate built so generates helloworld, serves it and calls it, and
//! neither rustls nor protox is in its dependency tree.

use std::path::Path;
use std::process::Command;

use crate::support::{cargo, protoc, repo, target_dir};

const BUILD_RS: &str = r#"
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // No protox in this build: protoc from $PROTOC.
    let protos = std::path::PathBuf::from(std::env::var("PROTOS")?);
    rust_rpc_codegen::compile_protos(&[protos.join("helloworld.proto")], &[protos])?;
    Ok(())
}
"#;

const MAIN_RS: &str = r#"
pub mod helloworld {
    rust_rpc::include_proto!("helloworld");
}

use helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest};

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, _context: rust_rpc::ServicerContext) -> rust_rpc::Result<HelloReply> {
        Ok(HelloReply { message: format!("Hello {} from a light build", request.name) })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = rust_rpc::Server::new();
    helloworld::add_greeter_servicer_to_server(Greeter, &server)?;
    let port = server.add_insecure_port("127.0.0.1:0")?;
    server.start()?;
    let client = GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{port}"))?);
    let reply = client.say_hello(HelloRequest { name: "plaintext".into() }).await?;
    println!("{}", reply.message);
    // No TLS here: an https:// target is refused, and says why.
    match rust_rpc::insecure_channel("https://example.com:443") {
        Ok(_) => println!("https accepted"),
        Err(err) => println!("https refused: {err}"),
    }
    server.stop(None).await;
    Ok(())
}
"#;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn without_default_features_the_runtime_and_generator_build_and_serve_without_tls_or_protox() {
    // Outside the repository, so that cargo does not attach the crate to our workspace.
    let root = std::env::temp_dir().join(format!("rust-rpc-light-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    write(
        &root.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"light\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n\
             rust-rpc = {{ path = {:?}, default-features = false }}\n\
             tokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n\n[build-dependencies]\n\
             rust-rpc-codegen = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
            repo().join("runtime").display().to_string(),
            repo().join("codegen").display().to_string(),
        ),
    );
    write(&root.join("build.rs"), BUILD_RS);
    write(&root.join("src/main.rs"), MAIN_RS);
    // Our lock file, so the build reuses the versions (and artifacts) the workspace has.
    std::fs::copy(repo().join("Cargo.lock"), root.join("Cargo.lock")).expect("lock file");
    let manifest = root.join("Cargo.toml");

    let tree = Command::new(cargo())
        .args(["tree", "--quiet", "--prefix", "none", "-e", "normal,build", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo tree");
    assert!(tree.status.success(), "cargo tree failed:\n{}", String::from_utf8_lossy(&tree.stderr));
    let tree = String::from_utf8_lossy(&tree.stdout);
    assert!(tree.contains("rust-rpc-codegen") && tree.contains("prost-build"), "{tree}");
    for heavy in ["rustls", "ring", "protox", "prost-reflect", "miette", "logos"] {
        assert!(!tree.lines().any(|line| line.starts_with(&format!("{heavy} v"))), "{heavy} is in the tree:\n{tree}");
    }

    let output = Command::new(cargo())
        .args(["run", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir().join("light-build"))
        .env("PROTOC", protoc())
        .env("PROTOS", repo().join("protos"))
        .output()
        .expect("run cargo");
    assert!(output.status.success(), "the light build failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("Hello plaintext from a light build"), "{stdout}");
    let https = lines.next().unwrap_or_default();
    assert!(https.starts_with("https refused: ") && https.contains("`tls` feature"), "{stdout}");
    let _ = std::fs::remove_dir_all(&root);
}
