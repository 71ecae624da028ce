//! Bearer tokens over TLS between rust-rpc interceptors and Python grpcio, both ways
//! (`peers/python/bearer.py`):
//!
//! - a grpcio client sends its token with `grpc.access_token_call_credentials`, and a rust-rpc
//!   server's `ServerInterceptor` lets it in, or answers UNAUTHENTICATED for a wrong one;
//! - a rust-rpc client sends its token from a `ClientInterceptor`, or as `AccessToken` call
//!   credentials, and a grpcio server's `grpc.ServerInterceptor` checks it the same way;
//! - a grpcio client's token passes tower-http's `ValidateRequestHeaderLayer` on a rust-rpc
//!   server (`ServerBuilder::layer`), whose HTTP 401 for a wrong one grpcio reads as
//!   UNAUTHENTICATED.

use std::path::{Path, PathBuf};
use std::time::Duration;

use interop::pb::{Empty, TestServiceClient, add_test_service_servicer_to_server};
use rust_rpc::{
    AccessToken, ChannelBuilder, ChannelCredentials, ClientCall, ClientInterceptor, Code, Result, RpcError, Server,
    ServerCredentials, ServerInterceptor, ServicerContext,
};
use test_support::{Peer, repo};

const TOKEN: &str = "s3cret-token";
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// A CA, and a server certificate it signed for `foo.test.google.fr`, written as PEM files into
/// a fresh directory under the target dir: (ca, cert, key) paths.
fn certificates(dir_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = test_support::target_dir().join("bearer-token").join(dir_name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the certificate dir");
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // A subject of its own: with rcgen's default one, the server certificate's issuer and subject
    // would be the same name, and BoringSSL (grpcio) takes it for self-signed.
    ca.distinguished_name.push(rcgen::DnType::CommonName, "rust-rpc bearer token test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().expect("server key");
    let cert = rcgen::CertificateParams::new(vec!["foo.test.google.fr".to_owned()])
        .expect("server params")
        .signed_by(&key, &issuer)
        .expect("server cert");
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write a certificate");
        path
    };
    (write("ca.pem", ca_cert.pem()), write("cert.pem", cert.pem()), write("key.pem", key.serialize_pem()))
}

fn script() -> PathBuf {
    repo().join("tests/interop/peers/python/bearer.py")
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// Lets through calls with `authorization: Bearer TOKEN`.
struct RequireToken;

impl ServerInterceptor for RequireToken {
    async fn intercept(&self, context: &ServicerContext) -> Result<()> {
        match context.invocation_metadata().get("authorization") {
            Some(value) if value == format!("Bearer {TOKEN}") => Ok(()),
            _ => Err(RpcError::unauthenticated("a valid bearer token is required")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_with_access_token_credentials_passes_a_rust_rpc_server_interceptor() {
    grpcio_client_against(Server::builder().interceptor(RequireToken).build(), "rust-server").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpcio_client_with_access_token_credentials_passes_a_tower_http_bearer_layer() {
    // tower-http deprecates `bearer` as too basic for real use; it is the stock layer that
    // answers (HTTP 401) without calling the service, which is what this test is about.
    #[allow(deprecated)]
    let layer = tower_http::validate_request::ValidateRequestHeaderLayer::bearer(TOKEN);
    grpcio_client_against(Server::builder().layer(layer).build(), "rust-server-layer").await;
}

/// Runs the Python client against `server` with the right token (`ok`) and a wrong one
/// (UNAUTHENTICATED), on a TLS port with certificates in `dir_name`.
async fn grpcio_client_against(server: Server, dir_name: &str) {
    let (ca, cert, key) = certificates(dir_name);
    add_test_service_servicer_to_server(interop::service::TestService, &server).expect("add service");
    let credentials = ServerCredentials::new(std::fs::read(&cert).expect("cert"), std::fs::read(&key).expect("key"));
    let port = server.add_secure_port("127.0.0.1:0", credentials).expect("bind");
    server.start().expect("start");
    for (token, expected) in [(TOKEN, "ok"), ("wrong", "UNAUTHENTICATED")] {
        let args = ["client", "--port", &port.to_string(), "--ca", &arg(&ca), "--token", token].map(str::to_owned);
        let answer =
            tokio::task::spawn_blocking(move || Peer::python(script(), args, PEER_TIMEOUT).answer("the call's result"))
                .await
                .expect("join");
        assert_eq!(answer, expected, "token {token:?}");
    }
    server.stop(None).await;
}

/// Sends `authorization: Bearer <token>` with every call.
struct SendToken(&'static str);

impl ClientInterceptor for SendToken {
    async fn intercept(&self, call: &mut ClientCall<'_>) -> Result<()> {
        call.metadata_mut().insert("authorization", &format!("Bearer {}", self.0))?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_rpc_client_interceptor_token_passes_a_grpcio_server_interceptor() {
    let (ca, cert, key) = certificates("python-server");
    let args = ["server", "--cert", &arg(&cert), "--key", &arg(&key), "--token", TOKEN].map(str::to_owned);
    let server = tokio::task::spawn_blocking(move || {
        let mut server = Peer::python(script(), args, PEER_TIMEOUT);
        let line = server.line("the listening port");
        (server, line)
    })
    .await
    .expect("join");
    let port = server.1.strip_prefix("listening on ").expect("a port line").to_owned();
    for (token, expected) in [(TOKEN, Ok(())), ("wrong", Err(Code::Unauthenticated))] {
        // The same token two ways: from an interceptor, and as call credentials (Python's
        // access_token_call_credentials, which rust-rpc sends only over TLS, as here).
        for call_credentials in [false, true] {
            let credentials = ChannelCredentials::with_root_ca(std::fs::read(&ca).expect("ca"))
                .server_name_override("foo.test.google.fr");
            let builder = ChannelBuilder::new(format!("127.0.0.1:{port}")).credentials(credentials);
            let builder = if call_credentials {
                builder.call_credentials(AccessToken::new(token))
            } else {
                builder.interceptor(SendToken(token))
            };
            let channel = builder.build().expect("channel");
            let result = TestServiceClient::new(channel).empty_call(Empty {}).timeout(Duration::from_secs(30)).await;
            let got = result.map(|_| ()).map_err(|e| e.code());
            assert_eq!(got, expected, "token {token:?}, call credentials {call_credentials}");
        }
    }
    // Dropping the peer ends the Python server.
    drop(server);
}
