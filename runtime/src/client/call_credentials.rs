//! Call credentials: metadata (a token) fetched for each call and sent with it, as Python's
//! `grpc.access_token_call_credentials` and `grpc.metadata_call_credentials`, and grpc-go's
//! `PerRPCCredentials`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::client::interceptor::{ClientCall, ClientInterceptor};
use crate::{Code, Metadata, Result, RpcError};

/// Metadata to send with every call, fetched (and refreshed as needed) by an async provider.
///
/// Set on a channel ([`ChannelBuilder::call_credentials`](crate::ChannelBuilder::call_credentials))
/// or on one call ([`Call::call_credentials`](crate::Call::call_credentials)). The metadata is
/// sent only over TLS: on a channel without TLS the call fails with UNAUTHENTICATED and the
/// provider is not asked, unless the channel allows it
/// ([`ChannelBuilder::allow_insecure_call_credentials`](crate::ChannelBuilder::allow_insecure_call_credentials),
/// for local connections). The provider runs under the call's deadline. When it fails, the call
/// fails with UNAVAILABLE, or with UNAUTHENTICATED when that is the provider's own code
/// (gRPC's rule for credentials plugins: other codes are not passed on).
///
/// ```
/// use rust_rpc::{CallCredentials, Metadata, Result};
///
/// /// A token from the environment, read for every call.
/// struct EnvToken;
///
/// impl CallCredentials for EnvToken {
///     async fn metadata(&self, method: &str) -> Result<Metadata> {
///         let token = std::env::var("API_TOKEN").unwrap_or_default();
///         let mut metadata = Metadata::new();
///         metadata.insert("authorization", &format!("Bearer {token}"))?;
///         Ok(metadata)
///     }
/// }
/// ```
pub trait CallCredentials: Send + Sync + 'static {
    /// The metadata for a call to `method` (`/package.Service/Method`).
    fn metadata(&self, method: &str) -> impl Future<Output = Result<Metadata>> + Send;
}

/// A fixed bearer token: `authorization: Bearer <token>` on every call (Python's
/// `grpc.access_token_call_credentials`).
#[derive(Clone)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Credentials that send `token` as a bearer token.
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(Arc::from(token.into()))
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token itself: debug output ends up in logs.
        f.write_str("AccessToken(..)")
    }
}

impl CallCredentials for AccessToken {
    async fn metadata(&self, _method: &str) -> Result<Metadata> {
        let mut metadata = Metadata::new();
        metadata.insert("authorization", &format!("Bearer {}", self.0))?;
        Ok(metadata)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`CallCredentials`] with its future boxed.
trait DynCallCredentials: Send + Sync + 'static {
    fn metadata<'a>(&'a self, method: &'a str) -> BoxFuture<'a, Result<Metadata>>;
}

impl<T: CallCredentials> DynCallCredentials for T {
    fn metadata<'a>(&'a self, method: &'a str) -> BoxFuture<'a, Result<Metadata>> {
        Box::pin(CallCredentials::metadata(self, method))
    }
}

/// Call credentials as a channel or a call holds them.
#[derive(Clone)]
pub(crate) struct SharedCredentials(Arc<dyn DynCallCredentials>);

impl SharedCredentials {
    pub(crate) fn new(credentials: impl CallCredentials) -> Self {
        SharedCredentials(Arc::new(credentials))
    }

    /// The interceptor that adds these credentials' metadata to calls on a channel with TLS
    /// (`secure`) or that allows them without.
    pub(crate) fn interceptor(&self, secure: bool, allow_insecure: bool) -> Attach {
        Attach { credentials: self.clone(), permitted: secure || allow_insecure }
    }
}

impl fmt::Debug for SharedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallCredentials(..)")
    }
}

/// Adds call credentials' metadata to each call, as the last interceptor of its chain.
pub(crate) struct Attach {
    credentials: SharedCredentials,
    /// The channel has TLS, or allows credentials without it.
    permitted: bool,
}

impl ClientInterceptor for Attach {
    async fn intercept(&self, call: &mut ClientCall<'_>) -> Result<()> {
        if !self.permitted {
            return Err(RpcError::unauthenticated(
                "call credentials are sent only over TLS: use a secure channel, or \
                 ChannelBuilder::allow_insecure_call_credentials for a local connection",
            ));
        }
        let metadata = self.credentials.0.metadata(call.method()).await.map_err(|err| {
            let code = if err.code() == Code::Unauthenticated { Code::Unauthenticated } else { Code::Unavailable };
            RpcError::new(code, format!("getting call credentials failed: {}", err.details()))
        })?;
        call.metadata_mut().extend(metadata);
        Ok(())
    }
}
