//! Certificate rotation against a real peer: a rust-rpc server on `ReloadableCredentials`
//! (mutual TLS) replaces its certificate and its client CA with ones of a new CA while it runs;
//! a Python grpcio client (`peers/python/mtls_client.py`) given only the new CA and a client
//! certificate of the new CA then connects and calls. The client before the rotation, given
//! only the old ones, proves the server started on the old certificate.
//!
//! Every wait on the peer is bounded by `PEER_TIMEOUT`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use interop::pb::{SimpleRequest, SimpleResponse, TestServiceServicer, add_test_service_servicer_to_server};
use rust_rpc::{ReloadableCredentials, Result, RpcError, Server, ServerCredentials, ServicerContext};
use test_support::Peer;

const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// Answers with the client certificate's URI SAN, which names the CA generation.
struct IdentityEcho;

impl TestServiceServicer for IdentityEcho {
    async fn unary_call(&self, _request: SimpleRequest, context: ServicerContext) -> Result<SimpleResponse> {
        let auth = context.auth_context().ok_or_else(|| RpcError::unauthenticated("no TLS identity"))?;
        Ok(SimpleResponse { username: auth.uri_names().join(","), ..SimpleResponse::default() })
    }
}

/// A directory of its own under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("rust-rpc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One generation of certificates: a CA, a server certificate for `server.test` and a client
/// certificate (URI SAN `spiffe://example.org/<generation>`), all from it. The client's files
/// go to `dir/<generation>` for the Python side; gives the CA, and the server's PEM pair.
fn generation(dir: &Path, generation: &str) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, format!("{generation} CA"));
    let ca_pem = ca.self_signed(&ca_key).expect("ca").pem();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server = rcgen::CertificateParams::new(vec!["server.test".to_owned()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    let client_key = rcgen::KeyPair::generate().expect("key");
    let mut client = rcgen::CertificateParams::new(vec!["python.client.test".to_owned()]).expect("params");
    let uri = format!("spiffe://example.org/{generation}");
    client.subject_alt_names.push(rcgen::SanType::URI(uri.as_str().try_into().expect("ia5")));
    let client = client.signed_by(&client_key, &issuer).expect("client cert");
    let files = dir.join(generation);
    std::fs::create_dir_all(&files).expect("create the generation's dir");
    for (name, contents) in
        [("ca.pem", &ca_pem), ("client.pem", &client.pem()), ("client.key", &client_key.serialize_pem())]
    {
        std::fs::write(files.join(name), contents).expect("write a PEM file");
    }
    (ca_pem, server.pem(), server_key.serialize_pem())
}

/// Runs the Python client with the files of `generation`; its first output line.
async fn python_call(port: u16, certs: &Path, generation: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python/mtls_client.py");
    let args =
        ["--port".to_owned(), port.to_string(), "--certs".to_owned(), certs.join(generation).display().to_string()];
    let output = tokio::task::spawn_blocking(move || Peer::python(script, args, PEER_TIMEOUT).output())
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    output.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_of_the_new_ca_connects_after_a_rotation() {
    let certs = TempDir::new("cert-rotation");
    let (old_ca, old_cert, old_key) = generation(&certs.0, "old");
    let (new_ca, new_cert, new_key) = generation(&certs.0, "new");
    let credentials = ServerCredentials::new(old_cert, old_key).require_client_auth(old_ca);
    let reloadable = ReloadableCredentials::new(credentials).expect("credentials");
    let server = Server::new();
    add_test_service_servicer_to_server(IdentityEcho, &server).expect("register the service");
    let port = server.add_secure_port("127.0.0.1:0", reloadable.credentials()).expect("bind a loopback TLS port");
    server.start().expect("start the server");

    assert_eq!(python_call(port, &certs.0, "old").await, "username=spiffe://example.org/old");
    reloadable.update(new_cert, new_key).expect("rotate the certificate");
    reloadable.update_client_ca(new_ca).expect("rotate the client CA");
    assert_eq!(python_call(port, &certs.0, "new").await, "username=spiffe://example.org/new");
    server.stop(None).await;
}
