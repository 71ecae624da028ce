//! Who is on the other end of a connection: its address, and on TLS its identity
//! ([`AuthContext`]: the client's certificate chain, whether it was verified, the names in it).
//! Made once per connection, after the handshake, and shared by every call on it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

#[cfg(feature = "tls")]
use tokio_rustls::rustls::{ProtocolVersion, ServerConnection};

use crate::transport::x509;

/// What every call on a connection knows of its peer: one `Arc` count per call on TLS,
/// nothing more than the address on plaintext.
#[derive(Clone, Debug, Default)]
pub(crate) struct Peer {
    /// The client's address (TCP; none on Unix sockets).
    pub(crate) addr: Option<SocketAddr>,
    /// The connection's TLS identity; `None` on plaintext.
    pub(crate) auth: Option<Arc<AuthContext>>,
}

/// The TLS identity of a call's client, for authorization: its certificate chain, whether the
/// server verified it, and the names in its certificate (Python's
/// `ServicerContext.auth_context()`, grpc-go's `peer.AuthInfo`).
///
/// [`ServicerContext::auth_context`](crate::ServicerContext::auth_context) gives it on TLS
/// ports, `None` on plaintext ones. It is read once per connection, after the handshake, and
/// shared by every call on that connection.
///
/// With [`ServerCredentials::require_client_auth`](crate::ServerCredentials::require_client_auth)
/// every client presents a chain the server verified against the client CA; with
/// [`optional_client_auth`](crate::ServerCredentials::optional_client_auth) a client may
/// present none, and then [`verified`](Self::verified) is false and the chain and names are
/// empty. A chain that does not verify fails the handshake, so there are no calls with one.
///
/// ```
/// use rust_rpc::{ChannelCredentials, RpcError, Server, ServerCredentials, ServiceDefinition, ServicerContext};
///
/// /// Lets through only the workload `spiffe://example.org/ns/default/sa/client`.
/// fn authorize(context: &ServicerContext) -> Result<String, RpcError> {
///     let Some(auth) = context.auth_context().filter(|auth| auth.verified()) else {
///         return Err(RpcError::unauthenticated("a verified client certificate is required"));
///     };
///     match auth.uri_names().iter().find(|id| *id == "spiffe://example.org/ns/default/sa/client") {
///         Some(id) => Ok(id.clone()),
///         None => Err(RpcError::permission_denied(format!("{:?} may not call this", auth.uri_names()))),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let ca_key = rcgen::KeyPair::generate()?;
/// # let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
/// # ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
/// # let ca_pem = ca.self_signed(&ca_key)?.pem();
/// # let issuer = rcgen::Issuer::new(ca, ca_key);
/// # let (server_key, client_key) = (rcgen::KeyPair::generate()?, rcgen::KeyPair::generate()?);
/// # let server_cert = rcgen::CertificateParams::new(vec!["server.test".to_owned()])?.signed_by(&server_key, &issuer)?;
/// # let mut client = rcgen::CertificateParams::new(vec!["client.test".to_owned()])?;
/// # client.subject_alt_names.push(rcgen::SanType::URI("spiffe://example.org/ns/default/sa/client".try_into()?));
/// # let client_cert = client.signed_by(&client_key, &issuer)?;
/// # let (server_cert, server_key) = (server_cert.pem(), server_key.serialize_pem());
/// # let (client_cert, client_key) = (client_cert.pem(), client_key.serialize_pem());
/// let server = Server::new();
/// server.add_service(
///     ServiceDefinition::builder("demo.Identity", ())
///         .unary("Whoami", |_, _: (), context: ServicerContext| async move { authorize(&context) })
///         .build(),
/// )?;
/// let credentials = ServerCredentials::new(server_cert, server_key).require_client_auth(ca_pem.clone());
/// let port = server.add_secure_port("127.0.0.1:0", credentials)?;
/// server.start()?;
///
/// let credentials = ChannelCredentials::with_root_ca(ca_pem)
///     .client_identity(client_cert, client_key)
///     .server_name_override("server.test");
/// let channel = rust_rpc::secure_channel(&format!("127.0.0.1:{port}"), credentials)?;
/// let id: String = channel.unary("/demo.Identity/Whoami", ()).await?;
/// assert_eq!(id, "spiffe://example.org/ns/default/sa/client");
/// server.stop(None).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    chain: Vec<Vec<u8>>,
    names: x509::Names,
    tls_version: Option<&'static str>,
    alpn_protocol: Option<Vec<u8>>,
}

impl AuthContext {
    /// The identity of the client on `connection`, after its handshake. The chain rustls gives
    /// a server is one its client verifier accepted: the server's verifier is always
    /// `WebPkiClientVerifier` (`credentials.rs`) or none, which asks for no certificate.
    #[cfg(feature = "tls")]
    pub(crate) fn new(connection: &ServerConnection) -> AuthContext {
        let chain: Vec<Vec<u8>> =
            connection.peer_certificates().unwrap_or_default().iter().map(|cert| cert.to_vec()).collect();
        let names = chain.first().map(|leaf| x509::names(leaf)).unwrap_or_default();
        let tls_version = match connection.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => Some("TLSv1.3"),
            Some(ProtocolVersion::TLSv1_2) => Some("TLSv1.2"),
            _ => None,
        };
        AuthContext { chain, names, tls_version, alpn_protocol: connection.alpn_protocol().map(<[u8]>::to_vec) }
    }

    /// `"ssl"`, the value of Python's `transport_security_type` auth property (the only
    /// transport security this crate has is TLS).
    pub fn transport_security_type(&self) -> &'static str {
        "ssl"
    }

    /// Whether the client presented a certificate chain and the server verified it against
    /// its client CA. False when the client presented none (with optional client auth, or on
    /// a port that asks for none).
    pub fn verified(&self) -> bool {
        !self.chain.is_empty()
    }

    /// The client's certificate chain as it sent it, each certificate DER-encoded, its own
    /// (leaf) certificate first; empty when it presented none. Parse them with an X.509 crate
    /// for what the accessors here do not give.
    pub fn certificate_chain(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.chain.iter().map(Vec::as_slice)
    }

    /// The client's own certificate, DER-encoded; `None` when it presented none.
    pub fn leaf_certificate(&self) -> Option<&[u8]> {
        self.chain.first().map(Vec::as_slice)
    }

    /// The DNS names among the leaf certificate's subject alternative names, as written
    /// (wildcards included), in the certificate's order.
    pub fn dns_names(&self) -> &[String] {
        &self.names.dns
    }

    /// The URIs among the leaf certificate's subject alternative names: a SPIFFE ID such as
    /// `spiffe://example.org/ns/default/sa/client` is one.
    pub fn uri_names(&self) -> &[String] {
        &self.names.uris
    }

    /// The IP addresses among the leaf certificate's subject alternative names.
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.names.ips
    }

    /// The email addresses (`rfc822Name`) among the leaf certificate's subject alternative
    /// names.
    pub fn email_addresses(&self) -> &[String] {
        &self.names.emails
    }

    /// The leaf certificate's subject common name (Python's `x509_common_name`), the first if
    /// it has several; `None` without one.
    pub fn common_name(&self) -> Option<&str> {
        self.names.common_name.as_deref()
    }

    /// The TLS version the connection negotiated: `"TLSv1.3"` or `"TLSv1.2"`.
    pub fn tls_version(&self) -> Option<&'static str> {
        self.tls_version
    }

    /// The ALPN protocol the connection negotiated (`b"h2"` when the client offered ALPN).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.alpn_protocol.as_deref()
    }
}
