//! `ReloadableCredentials`: a server's certificate, key and client CA replaced while it serves
//! (certificate rotation). Each TLS handshake reads the ones current at that moment; connections
//! already up keep what they were made with.

use std::sync::{Arc, PoisonError, RwLock};

use tokio_rustls::rustls::{
    self, DigitallySignedStruct, DistinguishedName, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    pki_types::{CertificateDer, UnixTime},
    server::{
        ClientHello, ResolvesServerCert,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
    sign::CertifiedKey,
};

use crate::credentials::{LiveTls, ServerCredentials, certified_key, client_verifier};
use crate::error::{Error, ErrorKind};

/// A server's TLS certificate and key, and for mutual TLS the CAs its clients' certificates must
/// chain to, that can be replaced while the server runs: new connections get the new ones,
/// connections already open carry on with the ones they were made with.
///
/// What grpc-go does with `tls.Config.GetCertificate` or its certificate providers, and Python
/// with `grpc.dynamic_ssl_server_credentials`: here a handle with `update` methods, to call from
/// whatever notices a renewal (a file watcher, a timer, an admin RPC).
///
/// ```no_run
/// use rust_rpc::{ReloadableCredentials, Server, ServerCredentials};
///
/// let credentials = ServerCredentials::new(std::fs::read("server.pem")?, std::fs::read("server.key")?)
///     .require_client_auth(std::fs::read("clients-ca.pem")?);
/// let reloadable = ReloadableCredentials::new(credentials)?;
/// let server = Server::new();
/// server.add_secure_port("[::]:50051", reloadable.credentials())?;
/// server.start()?;
///
/// // Later, once the files were renewed: new connections present the new certificate and
/// // accept clients of the new CA list; a bad PEM or a key that does not match changes nothing.
/// reloadable.update(std::fs::read("server.pem")?, std::fs::read("server.key")?)?;
/// reloadable.update_client_ca(std::fs::read("clients-ca.pem")?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// With client authentication, the server sends clients no list of acceptable CAs (TLS lets it
/// leave that out): clients present the certificate they were given, as gRPC clients do.
#[derive(Clone, Debug)]
pub struct ReloadableCredentials {
    credentials: ServerCredentials,
    certificate: Arc<LiveCertificate>,
    client_ca: Option<(Arc<LiveClientVerifier>, bool)>,
}

impl ReloadableCredentials {
    /// Starts from `credentials`' certificate, key and client CA (their PEMs are checked now),
    /// keeping its client authentication mode (required or optional) for good.
    pub fn new(credentials: ServerCredentials) -> Result<Self, Error> {
        let (chain, key, client_ca, optional) = credentials.parts();
        let certificate = Arc::new(LiveCertificate(RwLock::new(Arc::new(certified_key(chain, key)?))));
        let client_ca = match client_ca {
            Some(pem) => Some((Arc::new(LiveClientVerifier(RwLock::new(client_verifier(pem, optional)?))), optional)),
            None => None,
        };
        let mut credentials = credentials;
        credentials.live = Some(LiveTls {
            certificate: certificate.clone(),
            client_verifier: client_ca.as_ref().map(|(verifier, _)| verifier.clone() as Arc<dyn ClientCertVerifier>),
        });
        Ok(ReloadableCredentials { credentials, certificate, client_ca })
    }

    /// The credentials to give [`Server::add_secure_port`](crate::Server::add_secure_port); every
    /// port given them follows this handle's updates.
    pub fn credentials(&self) -> ServerCredentials {
        self.credentials.clone()
    }

    /// Presents `cert_chain_pem` (leaf first) with its private key `key_pem` from the next
    /// handshake on. Fails, changing nothing, when either does not parse or the key is not the
    /// certificate's.
    pub fn update(&self, cert_chain_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<(), Error> {
        let key = certified_key(cert_chain_pem.as_ref(), key_pem.as_ref())?;
        *self.certificate.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }

    /// Checks client certificates against the CAs in `client_ca_pem` from the next handshake on.
    /// Fails, changing nothing, when the PEM does not parse, or when these credentials were made
    /// without client authentication (a server's mode is fixed when it starts).
    pub fn update_client_ca(&self, client_ca_pem: impl AsRef<[u8]>) -> Result<(), Error> {
        let Some((live, optional)) = &self.client_ca else {
            return Err(Error::new(
                ErrorKind::Tls,
                "these credentials do not verify client certificates: make them with \
                 ServerCredentials::require_client_auth or optional_client_auth to rotate a client CA",
            ));
        };
        let verifier = client_verifier(client_ca_pem.as_ref(), *optional)?;
        *live.0.write().unwrap_or_else(PoisonError::into_inner) = verifier;
        Ok(())
    }
}

/// The certificate of the next handshake.
#[derive(Debug)]
struct LiveCertificate(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for LiveCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

/// The client certificate check of the next handshake: the current verifier, asked each time.
#[derive(Debug)]
struct LiveClientVerifier(RwLock<Arc<dyn ClientCertVerifier>>);

impl LiveClientVerifier {
    fn current(&self) -> Arc<dyn ClientCertVerifier> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl ClientCertVerifier for LiveClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.current().offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.current().client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // The hints would borrow from a verifier an update may drop; TLS allows an empty list.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current().verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current().supported_verify_schemes()
    }
}
