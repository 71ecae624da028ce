//! Certificate rotation (`ReloadableCredentials`) and what a client hears when a certificate is
//! refused on either side, over loopback with certificates rcgen makes per test.
//!
//! Which certificate a connection got is seen from the client: each client trusts one CA only,
//! so a handshake with the other CA's certificate fails, and a call that succeeds on a connection
//! opened before a rotation proves that connection kept the old certificate.

use std::time::Duration;

use e2e::helloworld::GreeterClient;
use rust_rpc::{ChannelCredentials, Code, ReloadableCredentials, RpcError, Server, ServerCredentials};

use crate::support::{TestGreeter, hello, no_hang};

/// A test CA: its certificate (PEM) and what signs with it.
struct Ca {
    pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let pem = params.self_signed(&key).expect("ca").pem();
    Ca { pem, issuer: rcgen::Issuer::new(params, key) }
}

/// A certificate for `name` signed by `ca`, changed by `adjust` first: (certificate, key) PEMs.
fn leaf(ca: &Ca, name: &str, adjust: impl FnOnce(&mut rcgen::CertificateParams)) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("params");
    adjust(&mut params);
    let cert = params.signed_by(&key, &ca.issuer).expect("leaf");
    (cert.pem(), key.serialize_pem())
}

fn server_cert(ca: &Ca) -> (String, String) {
    leaf(ca, "server.test", |_| {})
}

/// A started server with a greeter on a TLS port with `credentials`; the server and the port.
fn start(credentials: ServerCredentials) -> (Server, u16) {
    let server = Server::new();
    server.add_service(e2e::helloworld::greeter_service(TestGreeter::default())).expect("add");
    let port = server.add_secure_port("127.0.0.1:0", credentials).expect("tls port");
    server.start().expect("start");
    (server, port)
}

/// A client trusting `ca` only, checking the name `server.test`, with `identity` if given.
fn client(port: u16, ca: &Ca, identity: Option<&(String, String)>) -> GreeterClient {
    let mut credentials = ChannelCredentials::with_root_ca(ca.pem.clone()).server_name_override("server.test");
    if let Some((cert, key)) = identity {
        credentials = credentials.client_identity(cert.clone(), key.clone());
    }
    GreeterClient::new(rust_rpc::secure_channel(&format!("127.0.0.1:{port}"), credentials).expect("channel"))
}

async fn call(client: &GreeterClient) -> Result<String, RpcError> {
    let reply = no_hang("a call", client.say_hello(hello("x")).timeout(Duration::from_secs(10))).await?;
    Ok(reply.message)
}

/// The call's status, which must be UNAVAILABLE; its message.
async fn unavailable(client: &GreeterClient) -> String {
    let err = call(client).await.expect_err("the handshake must fail");
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    err.details().to_owned()
}

#[tokio::test]
async fn a_rotated_certificate_is_presented_to_new_connections_while_old_ones_keep_theirs() {
    let (old_ca, new_ca) = (ca("old CA"), ca("new CA"));
    let (cert, key) = server_cert(&old_ca);
    let reloadable = ReloadableCredentials::new(ServerCredentials::new(cert, key)).expect("credentials");
    let (server, port) = start(reloadable.credentials());

    let before = client(port, &old_ca, None);
    assert_eq!(call(&before).await.expect("the old certificate before the rotation"), "Hello x");

    let (cert, key) = server_cert(&new_ca);
    reloadable.update(cert, key).expect("rotate");

    // The connection opened before the rotation carries on: it still has the old certificate,
    // the only one its client trusts.
    assert_eq!(call(&before).await.expect("the old connection after the rotation"), "Hello x");
    assert!(before.channel().is_connected());
    // New connections get the new certificate: a client trusting only the new CA gets through,
    // a new one trusting only the old CA is refused.
    let after = client(port, &new_ca, None);
    assert_eq!(call(&after).await.expect("the new certificate"), "Hello x");
    assert_eq!(
        unavailable(&client(port, &old_ca, None)).await,
        format!(
            "TLS handshake with 127.0.0.1:{port} failed: the server's certificate for server.test was issued by a CA \
             this channel does not trust (unknown issuer): give the channel that CA with ChannelCredentials::with_root_ca"
        )
    );
    server.stop(None).await;
}

#[tokio::test]
async fn a_rotated_client_ca_list_applies_to_new_connections() {
    let (server_ca, old_clients, new_clients) = (ca("server CA"), ca("old client CA"), ca("new client CA"));
    let (cert, key) = server_cert(&server_ca);
    let old_identity = leaf(&old_clients, "client.test", |_| {});
    let new_identity = leaf(&new_clients, "client.test", |_| {});
    let credentials = ServerCredentials::new(cert, key).require_client_auth(old_clients.pem.clone());
    let reloadable = ReloadableCredentials::new(credentials).expect("credentials");
    let (server, port) = start(reloadable.credentials());

    let before = client(port, &server_ca, Some(&old_identity));
    assert_eq!(call(&before).await.expect("an old client before the rotation"), "Hello x");
    let refused = client(port, &server_ca, Some(&new_identity));
    let rejected = format!(
        "connection to 127.0.0.1:{port} failed: the server rejected this channel's client certificate: it was not \
         issued by a CA the server trusts (unknown CA) (TLS alert UnknownCA); check the certificate given to \
         ChannelCredentials::client_identity against the server's client CA"
    );
    assert_eq!(unavailable(&refused).await, rejected);

    reloadable.update_client_ca(new_clients.pem.clone()).expect("rotate the client CA");

    assert_eq!(call(&before).await.expect("the old client's connection after the rotation"), "Hello x");
    assert_eq!(call(&client(port, &server_ca, Some(&new_identity))).await.expect("a new client"), "Hello x");
    assert_eq!(unavailable(&client(port, &server_ca, Some(&old_identity))).await, rejected);
    // No certificate at all.
    assert_eq!(
        unavailable(&client(port, &server_ca, None)).await,
        format!(
            "connection to 127.0.0.1:{port} failed: the server requires a client certificate and this channel \
             presents none: give it one with ChannelCredentials::client_identity"
        )
    );
    server.stop(None).await;
}

#[tokio::test]
async fn an_update_that_does_not_parse_or_match_changes_nothing() {
    let ca = ca("CA");
    let (cert, key) = server_cert(&ca);
    let reloadable = ReloadableCredentials::new(ServerCredentials::new(cert.clone(), key)).expect("credentials");
    let (server, port) = start(reloadable.credentials());

    let (_, other_key) = server_cert(&ca);
    let err = reloadable.update(cert.clone(), other_key).expect_err("a key of another certificate");
    assert!(err.to_string().starts_with("the server certificate or key was refused:"), "{err}");
    let err = reloadable.update("not a PEM", "neither").expect_err("garbage");
    assert_eq!(err.to_string(), "the server certificate PEM holds no CERTIFICATE block");
    let err = reloadable.update_client_ca(ca.pem.clone()).expect_err("no client auth to rotate");
    assert!(err.to_string().starts_with("these credentials do not verify client certificates"), "{err}");
    // Still serving the certificate it started with.
    assert_eq!(call(&client(port, &ca, None)).await.expect("the first certificate"), "Hello x");
    server.stop(None).await;
}

#[tokio::test]
async fn an_expired_server_certificate_fails_with_its_expiry_date() {
    let ca = ca("CA");
    let (cert, key) = leaf(&ca, "server.test", |params| {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 2);
    });
    let (server, port) = start(ServerCredentials::new(cert, key));
    let message = unavailable(&client(port, &ca, None)).await;
    let (expired, checked) = message.split_once(" (checked at ").expect("the time of the check");
    assert_eq!(
        expired,
        format!(
            "TLS handshake with 127.0.0.1:{port} failed: the server's certificate for server.test expired at 2020-01-02 00:00:00 UTC"
        )
    );
    assert!(checked.ends_with(" UTC): the server must be given a renewed certificate"), "{message}");
    server.stop(None).await;
}

#[tokio::test]
async fn a_server_certificate_for_another_name_fails_naming_both() {
    let ca = ca("CA");
    let (cert, key) = leaf(&ca, "other.test", |_| {});
    let (server, port) = start(ServerCredentials::new(cert, key));
    assert_eq!(
        unavailable(&client(port, &ca, None)).await,
        format!(
            "TLS handshake with 127.0.0.1:{port} failed: the server's certificate is not valid for name server.test \
             (it is for DnsName(\"other.test\")): connect by one of its names, or check it against another with \
             ChannelCredentials::server_name_override"
        )
    );
    server.stop(None).await;
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_fails_saying_so() {
    let (server_ca, other_ca) = (ca("server CA"), ca("other CA"));
    let (cert, key) = server_cert(&server_ca);
    let (server, port) = start(ServerCredentials::new(cert, key));
    assert_eq!(
        unavailable(&client(port, &other_ca, None)).await,
        format!(
            "TLS handshake with 127.0.0.1:{port} failed: the server's certificate for server.test was issued by a CA \
             this channel does not trust (unknown issuer): give the channel that CA with ChannelCredentials::with_root_ca"
        )
    );
    server.stop(None).await;
}

#[tokio::test]
async fn an_expired_client_certificate_is_rejected_by_the_server() {
    let (server_ca, client_ca) = (ca("server CA"), ca("client CA"));
    let (cert, key) = server_cert(&server_ca);
    let (server, port) = start(ServerCredentials::new(cert, key).require_client_auth(client_ca.pem.clone()));
    let expired = leaf(&client_ca, "client.test", |params| {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 2);
    });
    assert_eq!(
        unavailable(&client(port, &server_ca, Some(&expired))).await,
        format!(
            "connection to 127.0.0.1:{port} failed: the server rejected this channel's client certificate: it has \
             expired or is not valid yet (TLS alert CertificateExpired); check the certificate given to \
             ChannelCredentials::client_identity against the server's client CA"
        )
    );
    server.stop(None).await;
}
