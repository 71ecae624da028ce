//! `Channel`: the handle every stub holds, built from a `ChannelBuilder`. Calls go through
//! `exchange.rs`, which gets its connection from the channel's subchannel.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::builder::ChannelBuilder;
use crate::client::connect::ConnectFailure;
use crate::client::interceptor::{Chain, DynClientInterceptor};
use crate::client::path::MethodPath;
use crate::client::retry::configured::Configured;
use crate::client::service_config::{MethodConfig, ServiceConfig};
use crate::client::subchannel::Subchannel;
use crate::client::target::Target;
use crate::credentials::ChannelCredentials;
use crate::error::{Error, ErrorKind};
use crate::options::CallOptions;
use crate::{Result, RpcError};

/// The `user-agent` every request carries, after the application's own product if it set one.
const USER_AGENT: &str = concat!("grpc-rust-rpc/", env!("CARGO_PKG_VERSION"));

/// A virtual connection to a gRPC server, shared by every stub made from it.
///
/// A channel connects lazily on its first call (or on [`Channel::ready`]), keeps one HTTP/2
/// connection, and reconnects after the connection is lost, for example when the server
/// restarts. Clones are cheap and share the connection: clone it into as many tasks and stubs as
/// you like.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let channel = rust_rpc::insecure_channel("localhost:50051")?;
/// channel.ready(std::time::Duration::from_secs(5)).await?; // optional: connect now
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    /// `scheme://authority/`, the base of every request's URI.
    origin: http::Uri,
    settings: ChannelBuilder,
    /// The `user-agent` header of every request.
    user_agent: http::HeaderValue,
    subchannel: Subchannel,
    /// The interceptors every call runs; `None` for most channels, whose calls skip them.
    interceptors: Option<Chain>,
    /// The service config, with the retry state it needs; `None` for most channels.
    configured: Option<Box<Configured>>,
}

impl ChannelBuilder {
    /// Makes the channel. It does not connect yet: the first call (or [`Channel::ready`]) does.
    ///
    /// A target's scheme decides TLS where it names one: `https://host:port` uses TLS, trusting
    /// the system's root certificates unless [`credentials`](Self::credentials) were given;
    /// `http://host:port` is plaintext, and refuses credentials.
    pub fn build(mut self) -> Result<Channel, Error> {
        let target = match &self.in_process {
            None => Target::parse(&self.target)?,
            Some(_) if self.credentials.is_some() => {
                return Err(Error::new(
                    ErrorKind::InvalidSetting,
                    "an in-process channel takes no TLS credentials: its bytes never leave the process",
                ));
            }
            Some(dialer) => Target::Memory(dialer.clone()),
        };
        if self.in_process.is_none() {
            if self.target.starts_with("https://") && self.credentials.is_none() {
                self.credentials = Some(ChannelCredentials::system_roots());
            }
            if self.target.starts_with("http://") && self.credentials.is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidSetting,
                    format!(
                        "channel target {:?} asks for plaintext (http://) but TLS credentials were given: \
                         use an https:// target, or no credentials",
                        self.target
                    ),
                ));
            }
        }
        let scheme = if self.credentials.is_some() { "https" } else { "http" };
        let origin =
            http::Uri::builder().scheme(scheme).authority(target.authority()).path_and_query("/").build().map_err(
                |e| Error::new(ErrorKind::InvalidTarget, format!("invalid channel target {:?}: {e}", self.target)),
            )?;
        let user_agent = match &self.user_agent {
            None => http::HeaderValue::from_static(USER_AGENT),
            Some(product) => format!("{product} {USER_AGENT}").parse().map_err(|_| {
                Error::new(ErrorKind::InvalidSetting, format!("user agent {product:?} is not a valid header value"))
            })?,
        };
        if let (Some(creds), Target::Tcp { host, .. }) = (&self.credentials, &target) {
            // Check the credentials now, so a bad certificate fails here and not on every call.
            creds.connector(host)?;
        }
        let configured = match &self.service_config {
            None => None,
            Some(json) => Some(Box::new(Configured::new(ServiceConfig::parse(json)?))),
        };
        let subchannel = Subchannel::new(target, self.credentials.clone(), self.connect_timeout, self.http2.clone());
        let secure = self.credentials.is_some();
        let mut interceptors = self.interceptors.clone();
        if let Some(credentials) = &self.call_credentials {
            interceptors.push(credentials.interceptor(secure, self.allow_insecure_call_credentials));
        }
        let interceptors = interceptors.chain(&Target::canonical(&self.target));
        Ok(Channel {
            inner: Arc::new(Inner { origin, settings: self, user_agent, subchannel, interceptors, configured }),
        })
    }
}

/// A channel without TLS to `target` (`host:port`, `dns:///host:port`, `[::1]:port`,
/// `unix:/path`, `http://host:port`, ...). It connects on first use. An `https://host:port`
/// target is the exception: its scheme asks for TLS, so the channel uses TLS with the system's
/// root certificates.
///
/// ```
/// let channel = rust_rpc::insecure_channel("localhost:50051")?;
/// # Ok::<(), rust_rpc::Error>(())
/// ```
pub fn insecure_channel(target: &str) -> Result<Channel, Error> {
    ChannelBuilder::new(target).build()
}

/// A TLS channel to `target`, verifying the server with `credentials`. An `http://` target
/// is refused: its scheme asks for plaintext.
///
/// ```no_run
/// let ca = std::fs::read("ca.pem")?;
/// let creds = rust_rpc::ChannelCredentials::with_root_ca(ca);
/// let channel = rust_rpc::secure_channel("example.com:443", creds)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn secure_channel(target: &str, credentials: ChannelCredentials) -> Result<Channel, Error> {
    ChannelBuilder::new(target).credentials(credentials).build()
}

impl Channel {
    /// The target this channel was made for, as `host:port` (`localhost` for Unix sockets).
    pub fn authority(&self) -> &str {
        self.inner.subchannel.authority()
    }

    pub(crate) fn origin(&self) -> &http::Uri {
        &self.inner.origin
    }

    pub(crate) fn settings(&self) -> &ChannelBuilder {
        &self.inner.settings
    }

    pub(crate) fn user_agent(&self) -> &http::HeaderValue {
        &self.inner.user_agent
    }

    /// The interceptors a call with `options` runs: the channel's, then the call's own call
    /// credentials, if it has any. `None` for most calls, which then skip them.
    pub(crate) fn interceptors(&self, options: &CallOptions) -> Option<Chain> {
        let Some(credentials) = &options.call_credentials else {
            return self.inner.interceptors.clone();
        };
        let settings = &self.inner.settings;
        let attach = credentials.interceptor(settings.credentials.is_some(), settings.allow_insecure_call_credentials);
        let attach = Arc::new(attach) as Arc<dyn DynClientInterceptor>;
        Some(match &self.inner.interceptors {
            Some(chain) => Chain::new(chain.iter().cloned().chain([attach]), chain.target().clone()),
            None => Chain::new([attach], Target::canonical(&settings.target).into()),
        })
    }

    /// The service config's entry for the method at `path`, on a channel that has one.
    /// Inlined into the (generic) call paths: without a config it is one load and one branch.
    #[inline]
    pub(crate) fn method_config(&self, path: &MethodPath) -> Option<&Arc<MethodConfig>> {
        self.inner.configured.as_ref()?.config.method(path.as_str())
    }

    /// The service config and its retry state, on a channel that has one.
    pub(crate) fn configured(&self) -> Option<&Configured> {
        self.inner.configured.as_deref()
    }

    pub(crate) fn subchannel(&self) -> &Subchannel {
        &self.inner.subchannel
    }

    /// Connects now if not connected, waiting up to `timeout` (through reconnect backoff) for the
    /// channel to be ready. Python's `grpc.channel_ready_future(channel).result(timeout)`.
    /// Fails with DEADLINE_EXCEEDED (naming the last connection error) when `timeout` passes,
    /// and with UNAVAILABLE when the channel was closed.
    pub async fn ready(&self, timeout: Duration) -> Result<(), RpcError> {
        let connecting = self.inner.subchannel.connection(true);
        match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(ConnectFailure(failure))) => {
                Err(RpcError::unavailable(format!("channel to {} not ready: {failure}", self.authority())))
            }
            Err(_) => {
                let last = self.inner.subchannel.last_failure().map(|error| format!(": {error}"));
                Err(RpcError::deadline_exceeded(format!(
                    "channel to {} not ready within {timeout:?}{}",
                    self.authority(),
                    last.unwrap_or_default()
                )))
            }
        }
    }

    /// Whether the channel has a live connection right now.
    pub fn is_connected(&self) -> bool {
        self.inner.subchannel.is_connected()
    }

    /// Closes the connection. Calls in flight fail, and later calls fail with UNAVAILABLE;
    /// clones share the closed state.
    pub fn close(&self) {
        self.inner.subchannel.close();
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.settings.target)
            .field("connected", &self.is_connected())
            .finish()
    }
}
