//! `Channel`: the handle every stub holds, built from a `ChannelBuilder`. Calls go through
//! `exchange.rs`, which takes its connection from the channel's balancer (`lb/mod.rs`:
//! resolver, load-balancing policy, subchannels).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::builder::ChannelBuilder;
use crate::client::connection::ClientConnection;
use crate::client::connectivity::ConnectivityState;
use crate::client::interceptor::{Chain, DynClientInterceptor};
use crate::client::keepalive::KeepaliveBackoff;
use crate::client::lb::Balancer;
use crate::client::path::MethodPath;
use crate::client::resolver::channel_resolver::ChannelResolver;
use crate::client::retry::configured::Configured;
use crate::client::service_config::{MethodConfig, ServiceConfig};
use crate::client::subchannel::Connector;
use crate::client::target::Target;
use crate::error::{Error, ErrorKind};
use crate::options::CallOptions;
use crate::{Result, RpcError};

/// The `user-agent` every request carries, after the application's own product if it set one.
const USER_AGENT: &str = concat!("grpc-rust-rpc/", env!("CARGO_PKG_VERSION"));

/// A virtual connection to a gRPC server, shared by every stub made from it.
///
/// A channel connects lazily on its first call (or on [`Channel::ready`]). It resolves its
/// target (DNS, an address list, or a [`Resolver`](crate::Resolver) of your own), connects
/// as its [`LoadBalancing`](crate::LoadBalancing) policy says (one HTTP/2 connection with
/// `pick_first`, the default; one per address with `round_robin`), and reconnects with gRPC's
/// backoff after a connection is lost, for example when a server restarts. Its
/// [`ConnectivityState`] can be read and watched. Clones are cheap and share the connections:
/// clone it into as many tasks and stubs as you like.
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
    /// The `:authority` of requests: the target as `host:port`.
    authority: String,
    balancer: Arc<Balancer>,
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
            Some(dialer) => Target::memory(dialer.clone()),
        };
        if self.in_process.is_none() {
            #[cfg(feature = "tls")]
            if self.target.starts_with("https://") && self.credentials.is_none() {
                self.credentials = Some(crate::ChannelCredentials::system_roots());
            }
            #[cfg(not(feature = "tls"))]
            if self.target.starts_with("https://") {
                return Err(Error::new(
                    ErrorKind::InvalidSetting,
                    format!(
                        "channel target {:?} asks for TLS (https://), but rust-rpc was built without its `tls` \
                         feature",
                        self.target
                    ),
                ));
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
        // Check the credentials now, so a bad certificate fails here and not on every call.
        #[cfg(feature = "tls")]
        if let Some(creds) = &self.credentials {
            creds.connector(target.tls_host())?;
        }
        let configured = match &self.service_config {
            None => None,
            Some(json) => Some(Box::new(Configured::new(ServiceConfig::parse(json)?))),
        };
        // The service config's policy, when it names one this crate has, takes precedence over
        // the channel's, as in gRPC (a config naming only unknown policies leaves it alone).
        if let Some(name) = configured.as_ref().and_then(|c| c.config.lb_policy()) {
            self.set_load_balancing_name(name);
        }
        let resolver = match &self.resolver {
            Some(custom) => ChannelResolver::custom(custom.0.clone()),
            None => ChannelResolver::for_target(&target, &self.target)?,
        };
        let connector = Connector {
            tls: self.credentials.clone(),
            tls_host: target.tls_host().to_owned(),
            authority: target.authority().to_owned(),
            connect_timeout: self.connect_timeout,
            http2: self.http2.clone(),
            backoff: self.backoff,
            keepalive_backoff: KeepaliveBackoff::default(),
        };
        let balancer = Balancer::new(self.load_balancing, resolver, connector, self.timing, self.target.clone());
        let authority = target.authority().to_owned();
        let secure = self.credentials.is_some();
        let mut interceptors = self.interceptors.clone();
        if let Some(credentials) = &self.call_credentials {
            interceptors.push(credentials.interceptor(secure, self.allow_insecure_call_credentials));
        }
        let interceptors = interceptors.chain(&Target::canonical(&self.target));
        Ok(Channel {
            inner: Arc::new(Inner {
                origin,
                settings: self,
                user_agent,
                authority,
                balancer,
                interceptors,
                configured,
            }),
        })
    }
}

/// A channel without TLS to `target`, in any of gRPC's forms (grpc/grpc `doc/naming.md`):
/// `host:port` and `dns:///host:port` (the system's resolver), `dns://8.8.8.8/host:port`
/// (that DNS server; cargo feature `dns`), `ipv4:10.0.0.1:50051,10.0.0.2:50051`,
/// `ipv6:[::1]:50051`, `[::1]:port`, `unix:/path`, `unix:///path`, `http://host:port`. It connects on first use. An `https://host:port`
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
#[cfg(feature = "tls")]
pub fn secure_channel(target: &str, credentials: crate::ChannelCredentials) -> Result<Channel, Error> {
    ChannelBuilder::new(target).credentials(credentials).build()
}

impl Channel {
    /// The target this channel was made for, as `host:port` (`localhost` for Unix sockets).
    pub fn authority(&self) -> &str {
        &self.inner.authority
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

    /// A connection for one attempt of a call: a ready one at once if there is one (one short
    /// lock), else after the channel connects. Fails with UNAVAILABLE when the channel is
    /// closed, or in TRANSIENT_FAILURE without `wait_for_ready`.
    #[inline]
    pub(crate) async fn pick(&self, wait_for_ready: bool) -> Result<ClientConnection, RpcError> {
        if let Some(connection) = self.inner.balancer.pick_ready() {
            return Ok(connection);
        }
        // Boxed: waiting keeps state that every call's future would otherwise carry.
        Box::pin(self.inner.balancer.pick(wait_for_ready)).await
    }

    /// Reports that `connection` refused a new stream (it is going away), so the channel stops
    /// picking it and connects again.
    pub(crate) fn forget(&self, connection: &ClientConnection) {
        self.inner.balancer.forget(connection);
    }

    /// The channel's connectivity state; with `try_to_connect`, an idle channel starts
    /// connecting (Python's `channel.subscribe(..., try_to_connect=True)`, grpc-go's
    /// `Connect`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use rust_rpc::ConnectivityState;
    /// let channel = rust_rpc::insecure_channel("localhost:50051")?;
    /// assert_eq!(channel.state(true), ConnectivityState::Connecting);
    /// # Ok(()) }
    /// ```
    pub fn state(&self, try_to_connect: bool) -> ConnectivityState {
        if try_to_connect {
            // Outside a runtime with the blocking one unavailable: the state stays IDLE.
            let _ = self.inner.balancer.exit_idle();
        }
        self.inner.balancer.state()
    }

    /// Waits until the state is no longer `from`, up to `timeout`: true if it changed, false if
    /// the time ran out (grpc-go's `WaitForStateChange`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use rust_rpc::ConnectivityState;
    /// use std::time::Duration;
    /// let channel = rust_rpc::insecure_channel("localhost:50051")?;
    /// let state = channel.state(true);
    /// if channel.wait_for_state_change(state, Duration::from_secs(1)).await {
    ///     println!("now {}", channel.state(false));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_state_change(&self, from: ConnectivityState, timeout: Duration) -> bool {
        let mut states = self.inner.balancer.subscribe();
        let changed = states.wait_for(|state| *state != from);
        matches!(tokio::time::timeout(timeout, changed).await, Ok(Ok(_)))
    }

    /// Every change of the channel's state, as a [`tokio::sync::watch`] receiver (Python's
    /// `channel.subscribe`): `borrow()` gives the state now, `changed().await` waits for the
    /// next. Changes closer together than the receiver reads them are seen as the last.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let channel = rust_rpc::insecure_channel("localhost:50051")?;
    /// let mut states = channel.subscribe();
    /// channel.state(true);
    /// while states.changed().await.is_ok() {
    ///     println!("channel is {}", *states.borrow_and_update());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<ConnectivityState> {
        self.inner.balancer.subscribe()
    }

    /// Connects now if not connected, waiting up to `timeout` (through reconnect backoff) for the
    /// channel to be ready. Python's `grpc.channel_ready_future(channel).result(timeout)`.
    /// Fails with DEADLINE_EXCEEDED (naming the last connection error) when `timeout` passes,
    /// and with UNAVAILABLE when the channel was closed.
    pub async fn ready(&self, timeout: Duration) -> Result<(), RpcError> {
        let connecting = self.inner.balancer.pick(true);
        match tokio::time::timeout(timeout, connecting).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                Err(RpcError::unavailable(format!("channel to {} not ready: {}", self.authority(), error.details())))
            }
            Err(_) => Err(RpcError::deadline_exceeded(format!(
                "channel to {} not ready within {timeout:?}: {}",
                self.authority(),
                self.inner.balancer.failure()
            ))),
        }
    }

    /// Whether the channel has a live connection right now.
    pub fn is_connected(&self) -> bool {
        self.inner.balancer.has_live_connection()
    }

    /// Closes every connection and moves to [`ConnectivityState::Shutdown`]. Calls in flight
    /// fail, and later calls fail with UNAVAILABLE; clones share the closed state.
    pub fn close(&self) {
        self.inner.balancer.shutdown(true);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: stop the balancer's tasks; calls still running finish.
        self.balancer.shutdown(false);
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.settings.target)
            .field("state", &self.inner.balancer.state())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the `tls` feature an `https://` target cannot be honoured: an error that says so,
    /// when the channel is made, rather than a plaintext connection.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_tls_an_https_target_is_refused_and_says_why() {
        let err = ChannelBuilder::new("https://example.com:443").build().expect_err("no TLS in this build");
        assert!(err.to_string().contains("`tls` feature") && err.to_string().contains("https://"), "{err}");
        // Plaintext targets are untouched.
        for target in ["http://example.com:80", "example.com:80"] {
            let channel = ChannelBuilder::new(target).build().expect("plaintext");
            assert_eq!(channel.origin().scheme_str(), Some("http"));
        }
    }

    /// With it, the same target is a TLS channel trusting the system's roots.
    #[cfg(feature = "tls")]
    #[test]
    fn with_tls_an_https_target_trusts_the_system_roots() {
        let channel = ChannelBuilder::new("https://example.com:443").build().expect("TLS channel");
        assert_eq!(channel.authority(), "example.com:443");
        assert_eq!(channel.origin().scheme_str(), Some("https"));
        assert!(channel.settings().credentials.is_some());
    }
}
