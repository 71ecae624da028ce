//! Server reflection against clients nobody here wrote, over loopback:
//!
//! - `buf curl` (the `@bufbuild/buf-<platform>` npm package, fetched into `.cache/npm`) lists
//!   every method and calls `helloworld.Greeter/SayHello` with a schema it got from reflection
//!   alone (no `.proto` files anywhere it looks), over `grpc-v1` and over `grpc-v1alpha`;
//! - grpcio-reflection's `ProtoReflectionDescriptorDatabase` (Python, in the interop venv that
//!   `peers/setup.sh` installs; it speaks v1alpha) lists the services and resolves every
//!   method's input and output message through a `DescriptorPool`, with extensions.
//!
//! The server has reflection, the example services (generated, so they bring their
//! descriptors) and googleapis' `google.longrunning.Operations`, served by hand with the
//! descriptor set protoc (`grpc_tools.protoc`) makes from `google-proto-files` (npm): real
//! imports, custom options and extensions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use rust_rpc::{Result, Server, ServiceDefinition, ServicerContext};

mod pb {
    #![allow(missing_docs, unreachable_pub)]
    pub mod helloworld {
        rust_rpc::include_proto!("helloworld");
    }
    pub mod routeguide {
        rust_rpc::include_proto!("routeguide");
    }
}

use pb::helloworld::{GreeterServicer, HelloReply, HelloRequest, add_greeter_servicer_to_server};
use pb::routeguide::{RouteGuideServicer, add_route_guide_servicer_to_server};

/// The buf release the test runs (the one `tests/codegen` runs).
const BUF_VERSION: &str = "1.75.0";

/// The googleapis protos, pinned as `tests/googleapis` pins them.
const GOOGLE_PROTO_FILES: (&str, &str) = ("google-proto-files", "6.0.1");

/// How long one tool run may take before the test calls it a hang: a hang guard for a loaded
/// 2-core machine (buf and Python start slowly there), not a speed check.
const HANG_GUARD: Duration = Duration::from_secs(120);

struct Greeter;

impl GreeterServicer for Greeter {
    async fn say_hello(&self, request: HelloRequest, _context: ServicerContext) -> Result<HelloReply> {
        Ok(HelloReply { message: format!("Hello {}", request.name) })
    }
}

/// The route guide with no methods: the clients only describe it.
struct NoGuide;

impl RouteGuideServicer for NoGuide {}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A fresh empty directory under the target dir, named for the test.
fn scratch(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"));
    let dir = target.join("interop-reflection").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The npm package `name@version`, unpacked into `.cache/npm/<name>-<version>/package` with
/// `npm pack` on first use (the layout `tests/codegen` and `tests/googleapis` use).
fn npm_package(name: &str, version: &str) -> PathBuf {
    let cache = repo().join(".cache/npm");
    let dir = cache.join(format!("{}-{version}", name.trim_start_matches('@').replace('/', "-")));
    let package = dir.join("package");
    if package.join("package.json").exists() {
        return package;
    }
    let download = cache.join("download");
    std::fs::create_dir_all(&download).expect("create .cache/npm/download");
    let output = Command::new("npm")
        .args(["pack", "--silent", &format!("{name}@{version}")])
        .current_dir(&download)
        .output()
        .expect("npm must be installed: this test fetches a package from the npm registry");
    assert!(output.status.success(), "npm pack {name}@{version} failed: {}", String::from_utf8_lossy(&output.stderr));
    let tarball = download.join(String::from_utf8_lossy(&output.stdout).trim());
    std::fs::create_dir_all(&dir).expect("create the package dir");
    let status = Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&dir).status().expect("run tar");
    assert!(status.success(), "unpacking {} failed", tarball.display());
    package
}

/// `buf` from `@bufbuild/buf`'s binary package for this platform.
fn buf() -> PathBuf {
    let package = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "@bufbuild/buf-linux-x64",
        ("linux", "aarch64") => "@bufbuild/buf-linux-aarch64",
        ("macos", "x86_64") => "@bufbuild/buf-darwin-x64",
        ("macos", "aarch64") => "@bufbuild/buf-darwin-arm64",
        (os, arch) => panic!("no @bufbuild/buf binary package is known for {os}/{arch}: add it here"),
    };
    npm_package(package, BUF_VERSION).join("bin/buf")
}

/// The interop venv's Python (grpcio, grpcio-tools, grpcio-reflection), installed by
/// `peers/setup.sh` if its pins changed.
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let cache = repo().join(".cache/interop");
            let output = Command::new("bash")
                .arg(repo().join("tests/interop/peers/setup.sh"))
                .arg(&cache)
                .output()
                .expect("run tests/interop/peers/setup.sh");
            assert!(
                output.status.success(),
                "tests/interop/peers/setup.sh failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            cache.join("venv/bin/python")
        })
        .clone()
}

/// The descriptor set of `google/longrunning/operations.proto` and its imports, made by protoc.
fn longrunning_descriptors() -> &'static [u8] {
    static SET: OnceLock<&'static [u8]> = OnceLock::new();
    SET.get_or_init(|| {
        let protos = npm_package(GOOGLE_PROTO_FILES.0, GOOGLE_PROTO_FILES.1);
        let out = scratch("descriptors").join("longrunning.pb");
        let output = Command::new(python())
            .args(["-m", "grpc_tools.protoc", "--include_imports"])
            .arg(format!("--descriptor_set_out={}", out.display()))
            .arg(format!("-I{}", protos.display()))
            .arg("google/longrunning/operations.proto")
            .output()
            .expect("run grpc_tools.protoc");
        assert!(output.status.success(), "protoc failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let set = std::fs::read(&out).expect("read the descriptor set protoc wrote");
        Box::leak(set.into_boxed_slice())
    })
}

/// A started server on 127.0.0.1 with reflection, the examples and `google.longrunning.Operations`.
fn start() -> (Server, u16) {
    let server = Server::new();
    rust_rpc::reflection::enable_server_reflection(&server).expect("enable reflection");
    add_greeter_servicer_to_server(Greeter, &server).expect("add greeter");
    add_route_guide_servicer_to_server(NoGuide, &server).expect("add route guide");
    let operations =
        ServiceDefinition::builder("google.longrunning.Operations", ()).file_descriptor_set(longrunning_descriptors());
    server.add_service(operations.build()).expect("add google.longrunning.Operations");
    let port = server.add_insecure_port("127.0.0.1:0").expect("bind");
    server.start().expect("start");
    (server, port)
}

/// Runs `command` off the runtime (the server runs on it) and returns its stdout; fails the test
/// on a non-zero exit, or after [`HANG_GUARD`] (killing it).
async fn run(mut command: Command) -> String {
    let shown = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {shown}: {e}"));
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(HANG_GUARD, waiting).await {
        Ok(output) => output.expect("the waiting task").unwrap_or_else(|e| panic!("waiting for {shown}: {e}")),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("{shown} hung for {HANG_GUARD:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{shown} failed with {}:\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `buf curl` over gRPC with the reflection protocol `reflect`, in an empty directory (no
/// schema to find but the server's).
fn buf_curl(reflect: &str, dir: &Path) -> Command {
    let mut command = Command::new(buf());
    command
        .args(["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", reflect])
        .current_dir(dir)
        .env("BUF_CACHE_DIR", dir.join("cache"));
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_lists_and_calls_methods_it_learns_by_reflection() {
    let (server, port) = start();
    let url = format!("http://127.0.0.1:{port}");
    let mut expected = vec![
        "google.longrunning.Operations/CancelOperation",
        "google.longrunning.Operations/DeleteOperation",
        "google.longrunning.Operations/GetOperation",
        "google.longrunning.Operations/ListOperations",
        "google.longrunning.Operations/WaitOperation",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "helloworld.Greeter/SayHello",
        "routeguide.RouteGuide/GetFeature",
        "routeguide.RouteGuide/ListFeatures",
        "routeguide.RouteGuide/RecordRoute",
        "routeguide.RouteGuide/RouteChat",
    ];
    expected.sort();
    for reflect in ["grpc-v1", "grpc-v1alpha"] {
        let dir = scratch(&format!("buf-{reflect}"));
        let mut list = buf_curl(reflect, &dir);
        list.args(["--list-methods", &url]);
        let listed = run(list).await;
        let mut methods: Vec<&str> = listed.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        methods.sort();
        assert_eq!(methods, expected, "buf curl --list-methods --reflect-protocol {reflect}");

        let mut call = buf_curl(reflect, &dir);
        call.args(["-d", &format!(r#"{{"name":"{reflect}"}}"#), &format!("{url}/helloworld.Greeter/SayHello")]);
        let reply = run(call).await;
        let compact: String = reply.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(compact, format!(r#"{{ "message": "Hello {reflect}" }}"#), "buf curl SayHello with {reflect}");
    }
    server.stop(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_reflection_resolves_every_method_of_every_service() {
    let (server, port) = start();
    let mut script = Command::new(python());
    script
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reflection_client.py"))
        .arg(format!("127.0.0.1:{port}"));
    let out = run(script).await;
    let lines: Vec<&str> = out.lines().collect();
    let services: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("service ")).collect();
    assert_eq!(
        services,
        [
            "google.longrunning.Operations",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "helloworld.Greeter",
            "routeguide.RouteGuide",
        ],
        "{out}"
    );
    assert!(!out.contains("unresolved"), "{out}");
    // (method, input, output, whether it has options): the googleapis methods carry
    // `google.api.http` and `method_signature`, which only survive if the server sends the
    // files as protoc encoded them.
    let methods: Vec<(&str, &str, &str, bool)> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("method "))
        .map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let [name, input, output, options] = fields[..] else { panic!("bad method line {l:?}") };
            (name, input, output, options != "0")
        })
        .collect();
    let empty = "google.protobuf.Empty";
    let expected = [
        (
            "google.longrunning.Operations.ListOperations",
            "google.longrunning.ListOperationsRequest",
            "google.longrunning.ListOperationsResponse",
            true,
        ),
        (
            "google.longrunning.Operations.GetOperation",
            "google.longrunning.GetOperationRequest",
            "google.longrunning.Operation",
            true,
        ),
        ("google.longrunning.Operations.DeleteOperation", "google.longrunning.DeleteOperationRequest", empty, true),
        ("google.longrunning.Operations.CancelOperation", "google.longrunning.CancelOperationRequest", empty, true),
        (
            "google.longrunning.Operations.WaitOperation",
            "google.longrunning.WaitOperationRequest",
            "google.longrunning.Operation",
            false,
        ),
        (
            "grpc.reflection.v1.ServerReflection.ServerReflectionInfo",
            "grpc.reflection.v1.ServerReflectionRequest",
            "grpc.reflection.v1.ServerReflectionResponse",
            false,
        ),
        (
            "grpc.reflection.v1alpha.ServerReflection.ServerReflectionInfo",
            "grpc.reflection.v1alpha.ServerReflectionRequest",
            "grpc.reflection.v1alpha.ServerReflectionResponse",
            false,
        ),
        ("helloworld.Greeter.SayHello", "helloworld.HelloRequest", "helloworld.HelloReply", false),
        ("routeguide.RouteGuide.GetFeature", "routeguide.Point", "routeguide.Feature", false),
        ("routeguide.RouteGuide.ListFeatures", "routeguide.Rectangle", "routeguide.Feature", false),
        ("routeguide.RouteGuide.RecordRoute", "routeguide.Point", "routeguide.RouteSummary", false),
        ("routeguide.RouteGuide.RouteChat", "routeguide.RouteNote", "routeguide.RouteNote", false),
    ];
    assert_eq!(methods, expected, "{out}");
    assert!(lines.contains(&"extensions google.protobuf.MethodOptions 1049 1051 72295728"), "{out}");
    assert!(
        lines.contains(&"extension google.protobuf.MethodOptions 1049 google/longrunning/operations.proto"),
        "{out}"
    );
    assert!(lines.contains(&"extension google.protobuf.MethodOptions 72295728 google/api/annotations.proto"), "{out}");
    assert!(
        lines.contains(
            &"extension-symbol google.api.http google.protobuf.MethodOptions 72295728 google/api/annotations.proto"
        ),
        "{out}"
    );
    server.stop(None).await;
}
