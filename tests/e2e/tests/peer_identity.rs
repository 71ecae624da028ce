//! The client's TLS identity in the handler's context (`ServicerContext::auth_context`), over
//! loopback: mTLS with a verified client certificate, optional client auth without one, and
//! plaintext.

use std::net::IpAddr;
use std::time::Duration;

use e2e::helloworld::{GreeterClient, GreeterServicer, HelloReply, HelloRequest};
use rust_rpc::{AuthContext, ChannelCredentials, Server, ServerCredentials, ServicerContext};
use tokio::sync::mpsc;

use crate::support::{Pki, hello, no_hang};

const SPIFFE_ID: &str = "spiffe://example.org/ns/default/sa/client";

/// Hands each call's `auth_context()` (cloned) to the test.
struct Recorder(mpsc::UnboundedSender<Option<AuthContext>>);

impl GreeterServicer for Recorder {
    async fn say_hello(&self, _request: HelloRequest, context: ServicerContext) -> rust_rpc::Result<HelloReply> {
        let _ = self.0.send(context.auth_context().cloned());
        Ok(HelloReply { message: "seen".into() })
    }
}

/// The certificates: a server for `server.test`, a workload client with DNS, SPIFFE URI and IP
/// SANs and a common name.
fn pki() -> Pki {
    let mut client = rcgen::CertificateParams::new(vec!["client.example.org".to_owned()]).expect("params");
    client.subject_alt_names.push(rcgen::SanType::URI(SPIFFE_ID.try_into().expect("ia5")));
    client.subject_alt_names.push(rcgen::SanType::IpAddress("10.0.0.7".parse().expect("ip")));
    client.distinguished_name.push(rcgen::DnType::CommonName, "workload client");
    crate::support::pki("server.test", client)
}

/// A server recording every call's identity, on a TLS port with `credentials` and a plaintext
/// one; the ports, and the receiving end of the record.
fn start(credentials: ServerCredentials) -> (Server, u16, u16, mpsc::UnboundedReceiver<Option<AuthContext>>) {
    let (sender, seen) = mpsc::unbounded_channel();
    let server = Server::new();
    server.add_service(e2e::helloworld::greeter_service(Recorder(sender))).expect("add");
    let tls = server.add_secure_port("127.0.0.1:0", credentials).expect("tls port");
    let plain = server.add_insecure_port("127.0.0.1:0").expect("plaintext port");
    server.start().expect("start");
    (server, tls, plain, seen)
}

async fn call(client: &GreeterClient, seen: &mut mpsc::UnboundedReceiver<Option<AuthContext>>) -> Option<AuthContext> {
    let reply = no_hang("a call", client.say_hello(hello("x")).timeout(Duration::from_secs(10))).await.expect("call");
    assert_eq!(reply.message, "seen");
    seen.try_recv().expect("the handler ran before it answered")
}

fn tls_client(port: u16, credentials: ChannelCredentials) -> GreeterClient {
    let channel = rust_rpc::secure_channel(&format!("127.0.0.1:{port}"), credentials).expect("channel");
    GreeterClient::new(channel)
}

#[tokio::test]
async fn a_verified_client_certificate_and_its_names_reach_the_handler() {
    let pki = pki();
    let credentials =
        ServerCredentials::new(pki.server_cert.clone(), pki.server_key.clone()).require_client_auth(pki.ca.clone());
    let (server, tls, _plain, mut seen) = start(credentials);
    let client = tls_client(
        tls,
        ChannelCredentials::with_root_ca(pki.ca.clone())
            .client_identity(pki.client_cert.clone(), pki.client_key.clone())
            .server_name_override("server.test"),
    );

    let auth = call(&client, &mut seen).await.expect("an identity on a TLS port");
    assert!(auth.verified());
    assert_eq!(auth.transport_security_type(), "ssl");
    assert_eq!(auth.dns_names(), ["client.example.org"]);
    assert_eq!(auth.uri_names(), [SPIFFE_ID]);
    assert_eq!(auth.ip_addresses(), ["10.0.0.7".parse::<IpAddr>().expect("ip")]);
    assert!(auth.email_addresses().is_empty());
    assert_eq!(auth.common_name(), Some("workload client"));
    // rcgen's client sends its own certificate only.
    assert_eq!(auth.certificate_chain().collect::<Vec<_>>(), [pki.client_der.as_slice()]);
    assert_eq!(auth.leaf_certificate(), Some(pki.client_der.as_slice()));
    assert_eq!(auth.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(auth.tls_version(), Some("TLSv1.3"));

    // A second call on the same connection sees the same identity.
    assert_eq!(call(&client, &mut seen).await, Some(auth));
    server.stop(None).await;
}

#[tokio::test]
async fn optional_client_auth_without_a_certificate_is_present_and_unverified() {
    let pki = pki();
    let credentials =
        ServerCredentials::new(pki.server_cert.clone(), pki.server_key.clone()).optional_client_auth(pki.ca.clone());
    let (server, tls, plain, mut seen) = start(credentials);
    let anonymous =
        tls_client(tls, ChannelCredentials::with_root_ca(pki.ca.clone()).server_name_override("server.test"));

    let auth = call(&anonymous, &mut seen).await.expect("an identity on a TLS port");
    assert!(!auth.verified());
    assert_eq!(auth.transport_security_type(), "ssl");
    assert_eq!(auth.certificate_chain().len(), 0);
    assert_eq!(auth.leaf_certificate(), None);
    assert!(auth.dns_names().is_empty() && auth.uri_names().is_empty() && auth.ip_addresses().is_empty());
    assert_eq!(auth.common_name(), None);

    // The same port, with a certificate this time: verified.
    let identified = tls_client(
        tls,
        ChannelCredentials::with_root_ca(pki.ca.clone())
            .client_identity(pki.client_cert.clone(), pki.client_key.clone())
            .server_name_override("server.test"),
    );
    let auth = call(&identified, &mut seen).await.expect("an identity");
    assert!(auth.verified());
    assert_eq!(auth.uri_names(), [SPIFFE_ID]);

    // Plaintext: no identity at all.
    let plaintext = GreeterClient::new(rust_rpc::insecure_channel(&format!("127.0.0.1:{plain}")).expect("channel"));
    assert_eq!(call(&plaintext, &mut seen).await, None);
    server.stop(None).await;
}

#[tokio::test]
async fn a_tls_port_without_client_auth_has_an_unverified_identity() {
    let pki = pki();
    let (server, tls, _plain, mut seen) = start(ServerCredentials::new(pki.server_cert.clone(), pki.server_key));
    // The client has a certificate, but the server asks for none, so none is sent.
    let client = tls_client(
        tls,
        ChannelCredentials::with_root_ca(pki.ca.clone())
            .client_identity(pki.client_cert.clone(), pki.client_key.clone())
            .server_name_override("server.test"),
    );
    let auth = call(&client, &mut seen).await.expect("an identity on a TLS port");
    assert!(!auth.verified());
    assert_eq!(auth.certificate_chain().len(), 0);
    server.stop(None).await;
}
