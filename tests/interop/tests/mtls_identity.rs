//! Mutual TLS against a real peer: a Python grpcio client presents a client certificate
//! (`grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)`,
//! `peers/python/mtls_client.py`) to a rust-rpc server that requires one; the handler reads the
//! client's identity from `ServicerContext::auth_context` and sends it back, in the response's
//! `username` and in trailing metadata, which the client prints.
//!
//! Runs `peers/setup.sh` first (idempotent). Every wait on the peer is bounded by
//! `PEER_TIMEOUT`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use interop::pb::{SimpleRequest, SimpleResponse, TestServiceServicer, add_test_service_servicer_to_server};
use rust_rpc::{Metadata, Result, RpcError, Server, ServerCredentials, ServicerContext};
use test_support::Peer;

const PEER_TIMEOUT: Duration = Duration::from_secs(60);
const SPIFFE_ID: &str = "spiffe://example.org/ns/default/sa/python-client";

/// Answers with the client's identity: URI SANs as the username, the rest as trailers.
struct IdentityEcho;

impl TestServiceServicer for IdentityEcho {
    async fn unary_call(&self, _request: SimpleRequest, context: ServicerContext) -> Result<SimpleResponse> {
        let auth = context.auth_context().ok_or_else(|| RpcError::unauthenticated("no TLS identity"))?;
        let mut trailers = Metadata::new();
        trailers.insert("x-peer-verified", &auth.verified().to_string())?;
        trailers.insert("x-peer-dns", &auth.dns_names().join(","))?;
        trailers.insert("x-peer-cn", auth.common_name().unwrap_or("none"))?;
        trailers.insert("x-peer-security", auth.transport_security_type())?;
        context.set_trailing_metadata(trailers);
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

/// A CA, a server certificate for `server.test`, and a client certificate with a DNS SAN, a
/// SPIFFE URI SAN and a CN: the server's PEM pair and CA, with the client's files written to
/// `dir` for the Python side.
fn pki(dir: &Path) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "rust-rpc mTLS test CA");
    let ca_pem = ca.self_signed(&ca_key).expect("ca").pem();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server = rcgen::CertificateParams::new(vec!["server.test".to_owned()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    let client_key = rcgen::KeyPair::generate().expect("key");
    let mut client = rcgen::CertificateParams::new(vec!["python.client.test".to_owned()]).expect("params");
    client.subject_alt_names.push(rcgen::SanType::URI(SPIFFE_ID.try_into().expect("ia5")));
    client.distinguished_name.push(rcgen::DnType::CommonName, "python client");
    let client = client.signed_by(&client_key, &issuer).expect("client cert");
    for (name, contents) in
        [("ca.pem", &ca_pem), ("client.pem", &client.pem()), ("client.key", &client_key.serialize_pem())]
    {
        std::fs::write(dir.join(name), contents).expect("write a PEM file");
    }
    (ca_pem, server.pem(), server_key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_certificate_reaches_the_handler() {
    let certs = TempDir::new("mtls-identity");
    let (ca, server_cert, server_key) = pki(&certs.0);
    let server = Server::new();
    add_test_service_servicer_to_server(IdentityEcho, &server).expect("register the service");
    let credentials = ServerCredentials::new(server_cert, server_key).require_client_auth(ca);
    let port = server.add_secure_port("127.0.0.1:0", credentials).expect("bind a loopback TLS port");
    server.start().expect("start the server");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python/mtls_client.py");
    let args = ["--port".to_owned(), port.to_string(), "--certs".to_owned(), certs.0.display().to_string()];
    let output = tokio::task::spawn_blocking(move || Peer::python(script, args, PEER_TIMEOUT).output())
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    assert_eq!(
        output,
        format!(
            "username={SPIFFE_ID}\nx-peer-verified=true\nx-peer-dns=python.client.test\nx-peer-cn=python client\n\
             x-peer-security=ssl\n"
        )
    );
    server.stop(None).await;
}
