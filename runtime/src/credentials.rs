//! TLS credentials for channels and servers, on rustls with the ring provider.

use std::sync::{Arc, OnceLock};

use tokio_rustls::rustls::{
    self, ClientConfig, RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject},
    server::{ResolvesServerCert, WebPkiClientVerifier, danger::ClientCertVerifier},
    sign::CertifiedKey,
};

use crate::error::{Error, ErrorKind};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::Tls, format!("{what}: {err}")).with_source(err)
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(&format!("could not read the {what} PEM"), e))?;
    if certs.is_empty() {
        return Err(Error::new(ErrorKind::Tls, format!("the {what} PEM holds no CERTIFICATE block")));
    }
    Ok(certs)
}

fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| tls_error("could not read the private key PEM", e))
}

fn root_store(pem: &[u8]) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in parse_certs(pem, "root CA")? {
        roots.add(cert).map_err(|e| tls_error("a root CA certificate was refused", e))?;
    }
    Ok(roots)
}

/// How a [`Channel`](crate::Channel) made by [`secure_channel`](crate::secure_channel) proves
/// the server is who it claims, and optionally who the client is (mutual TLS).
///
/// ```no_run
/// use rust_rpc::ChannelCredentials;
///
/// // Trust the operating system's roots:
/// let public = rust_rpc::secure_channel("example.com:443", ChannelCredentials::system_roots())?;
///
/// // Trust a private CA, present a client certificate (mutual TLS), and check the server's
/// // certificate against a test name instead of the target's host:
/// let credentials = ChannelCredentials::with_root_ca(std::fs::read("ca.pem")?)
///     .client_identity(std::fs::read("client.pem")?, std::fs::read("client.key")?)
///     .server_name_override("foo.test.google.fr");
/// let private = rust_rpc::secure_channel("127.0.0.1:50051", credentials)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ChannelCredentials {
    root_ca_pem: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    server_name: Option<String>,
    /// The rustls configuration built from the fields above, made on first use and shared by
    /// the clones (every channel built from these credentials, every reconnection): a
    /// connection then neither parses the PEMs (or loads the system's roots) again, nor starts
    /// with an empty session cache, so a reconnection to the same server resumes its TLS
    /// session. The builder methods start a new one.
    config: SharedConfig,
}

/// See [`ChannelCredentials`]'s `config`; its `Debug` says only whether it is built (the config
/// holds every root certificate).
#[derive(Clone, Default)]
struct SharedConfig(Arc<OnceLock<Arc<ClientConfig>>>);

impl std::fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "SharedConfig(built)" } else { "SharedConfig(not built)" })
    }
}

impl ChannelCredentials {
    /// Trusts the operating system's root certificates.
    pub fn system_roots() -> Self {
        Self::default()
    }

    /// Trusts only the CA certificates in `pem`.
    pub fn with_root_ca(pem: impl Into<Vec<u8>>) -> Self {
        ChannelCredentials { root_ca_pem: Some(pem.into()), ..Self::default() }
    }

    /// Presents a client certificate chain and its private key (both PEM), for mutual TLS.
    pub fn client_identity(mut self, cert_chain_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.identity = Some((cert_chain_pem.into(), key_pem.into()));
        // Not the configuration of the credentials this was cloned from.
        self.config = SharedConfig::default();
        self
    }

    /// Checks the server's certificate against `name` instead of the target's host (Python's
    /// `grpc.ssl_target_name_override`); meant for tests.
    pub fn server_name_override(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The rustls connector and the name to verify for a target host.
    pub(crate) fn connector(&self, host: &str) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), Error> {
        let config = match self.config.0.get() {
            Some(config) => config.clone(),
            // Two first connections at once may both build one; the second is dropped.
            None => {
                let built = Arc::new(self.client_config()?);
                self.config.0.get_or_init(|| built).clone()
            }
        };
        let name = self.server_name.as_deref().unwrap_or(host).to_owned();
        let server_name = ServerName::try_from(name.clone())
            .map_err(|e| tls_error(&format!("{name:?} is not a valid TLS server name"), e))?;
        Ok((tokio_rustls::TlsConnector::from(config), server_name))
    }

    /// Builds the rustls client configuration from the credentials.
    fn client_config(&self) -> Result<ClientConfig, Error> {
        let roots = match &self.root_ca_pem {
            Some(pem) => root_store(pem)?,
            None => {
                let mut roots = RootCertStore::empty();
                let loaded = rustls_native_certs::load_native_certs();
                let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
                if added == 0 {
                    return Err(Error::new(
                        ErrorKind::Tls,
                        "no system root certificates were found: install ca-certificates or use ChannelCredentials::with_root_ca",
                    ));
                }
                roots
            }
        };
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("unsupported TLS versions", e))?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(parse_certs(chain, "client certificate")?, parse_key(key)?)
                .map_err(|e| tls_error("the client certificate was refused", e))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }
}

/// The certificate a server presents on a port added with
/// [`Server::add_secure_port`](crate::Server::add_secure_port), and optionally the CA its clients'
/// certificates must chain to (mutual TLS).
///
/// ```no_run
/// let credentials = rust_rpc::ServerCredentials::new(std::fs::read("server.pem")?, std::fs::read("server.key")?)
///     .require_client_auth(std::fs::read("clients-ca.pem")?);
/// let server = rust_rpc::Server::new();
/// let port = server.add_secure_port("[::]:50051", credentials)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ServerCredentials {
    cert_chain_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_ca_pem: Option<Vec<u8>>,
    client_auth_optional: bool,
    /// Set by [`ReloadableCredentials`](crate::ReloadableCredentials): where each handshake
    /// reads the certificate and client CA current at that moment, instead of the PEMs above.
    pub(crate) live: Option<LiveTls>,
}

/// The replaceable halves of a server's TLS configuration, read at every handshake.
#[derive(Clone, Debug)]
pub(crate) struct LiveTls {
    pub(crate) certificate: Arc<dyn ResolvesServerCert>,
    pub(crate) client_verifier: Option<Arc<dyn ClientCertVerifier>>,
}

/// The certificate chain and key a server presents, checked to belong together.
pub(crate) fn certified_key(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, Error> {
    let chain = parse_certs(cert_chain_pem, "server certificate")?;
    CertifiedKey::from_der(chain, parse_key(key_pem)?, &provider())
        .map_err(|e| tls_error("the server certificate or key was refused", e))
}

/// What checks client certificates against the CAs in `client_ca_pem`.
pub(crate) fn client_verifier(client_ca_pem: &[u8], optional: bool) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(root_store(client_ca_pem)?), provider());
    let verifier = if optional { verifier.allow_unauthenticated() } else { verifier };
    verifier.build().map_err(|e| tls_error("the client CA was refused", e))
}

impl ServerCredentials {
    /// Presents `cert_chain_pem` (leaf first) with its private key `key_pem`.
    pub fn new(cert_chain_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        ServerCredentials {
            cert_chain_pem: cert_chain_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem: None,
            client_auth_optional: false,
            live: None,
        }
    }

    /// Requires every client to present a certificate issued by a CA in `pem` (mutual TLS).
    pub fn require_client_auth(mut self, client_ca_pem: impl Into<Vec<u8>>) -> Self {
        self.client_ca_pem = Some(client_ca_pem.into());
        self.client_auth_optional = false;
        self
    }

    /// Verifies a client certificate against `pem` when one is presented, and accepts clients
    /// that present none.
    pub fn optional_client_auth(mut self, client_ca_pem: impl Into<Vec<u8>>) -> Self {
        self.client_ca_pem = Some(client_ca_pem.into());
        self.client_auth_optional = true;
        self
    }

    /// The certificate chain and key PEMs, the client CA PEM, and whether client certificates
    /// are optional.
    pub(crate) fn parts(&self) -> (&[u8], &[u8], Option<&[u8]>, bool) {
        (&self.cert_chain_pem, &self.key_pem, self.client_ca_pem.as_deref(), self.client_auth_optional)
    }

    /// The TLS acceptor; ALPN offers `h2`, and `http/1.1` after it when `http1` (gRPC-Web).
    pub(crate) fn acceptor(&self, http1: bool) -> Result<tokio_rustls::TlsAcceptor, Error> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("unsupported TLS versions", e))?;
        let mut config = match &self.live {
            // Reloadable: the certificate and the client CA are looked up at each handshake.
            Some(live) => match &live.client_verifier {
                Some(verifier) => builder.with_client_cert_verifier(verifier.clone()),
                None => builder.with_no_client_auth(),
            }
            .with_cert_resolver(live.certificate.clone()),
            None => {
                let builder = match &self.client_ca_pem {
                    Some(pem) => builder.with_client_cert_verifier(client_verifier(pem, self.client_auth_optional)?),
                    None => builder.with_no_client_auth(),
                };
                builder
                    .with_single_cert(
                        parse_certs(&self.cert_chain_pem, "server certificate")?,
                        parse_key(&self.key_pem)?,
                    )
                    .map_err(|e| tls_error("the server certificate or key was refused", e))?
            }
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        if http1 {
            config.alpn_protocols.push(b"http/1.1".to_vec());
        }
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().expect("a key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).expect("a CA").pem()
    }

    fn config_of(credentials: &ChannelCredentials) -> Arc<ClientConfig> {
        credentials.connector("localhost").expect("a connector");
        credentials.config.0.get().expect("built on first use").clone()
    }

    #[test]
    fn connections_share_one_client_config() {
        // Shared, so a reconnection resumes its TLS session from the config's session cache.
        let credentials = ChannelCredentials::with_root_ca(ca_pem());
        let first = config_of(&credentials);
        assert!(Arc::ptr_eq(&first, &config_of(&credentials)));
        assert!(Arc::ptr_eq(&first, &config_of(&credentials.clone())));
        // The name to check is per connection, not part of the shared config.
        let (_, name) = credentials.clone().server_name_override("other.test").connector("localhost").expect("ok");
        assert_eq!(name.to_str(), "other.test");
    }

    #[test]
    fn a_client_identity_makes_a_new_config() {
        let credentials = ChannelCredentials::with_root_ca(ca_pem());
        let plain = config_of(&credentials);
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = rcgen::CertificateParams::new(vec!["client.test".to_owned()]).expect("params");
        let cert = cert.self_signed(&key).expect("a certificate");
        let mutual = credentials.clone().client_identity(cert.pem(), key.serialize_pem());
        let with_identity = config_of(&mutual);
        assert!(!Arc::ptr_eq(&plain, &with_identity));
        assert!(with_identity.client_auth_cert_resolver.has_certs());
        assert!(!plain.client_auth_cert_resolver.has_certs());
    }
}
