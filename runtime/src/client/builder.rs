//! `ChannelBuilder`: a channel's settings. `channel.rs` builds the channel from them.

use std::sync::Arc;
use std::time::Duration;

use crate::client::backoff::BackoffConfig;
use crate::client::call_credentials::{CallCredentials, SharedCredentials};
use crate::client::interceptor::{ClientInterceptor, Interceptors};
use crate::client::lb::{LoadBalancing, Timing};
use crate::client::resolver::resolve::Resolver;
use crate::options::CallOptions;
use crate::transport::http2::Http2Settings;
use crate::transport::memory::Dialer;
use crate::transport::tls::ClientTls;
use crate::wire::limits::DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;

/// How long one connection attempt may take by default: gRPC's minimum connect timeout.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a channel without calls keeps its connections: gRPC's default idle timeout.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How often a DNS name is looked up again while the channel is connected.
const DEFAULT_RESOLUTION_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The shortest time between two lookups: gRPC's DNS resolver's minimum.
const DEFAULT_MIN_RESOLUTION_INTERVAL: Duration = Duration::from_secs(30);

/// A user's resolver, in the builder.
#[derive(Clone)]
pub(crate) struct CustomResolver(pub(crate) Arc<dyn Resolver>);

impl std::fmt::Debug for CustomResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

/// Settings for a [`Channel`](crate::Channel), for when [`insecure_channel`](crate::insecure_channel)
/// and [`secure_channel`](crate::secure_channel) defaults do not fit.
///
/// ```
/// let channel = rust_rpc::ChannelBuilder::new("localhost:50051")
///     .max_receive_message_length(16 * 1024 * 1024)
///     .connect_timeout(std::time::Duration::from_secs(3))
///     .build()?;
/// # Ok::<(), rust_rpc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ChannelBuilder {
    pub(crate) target: String,
    pub(crate) credentials: Option<ClientTls>,
    pub(crate) max_receive_message_length: usize,
    pub(crate) max_send_message_length: Option<usize>,
    pub(crate) default_options: CallOptions,
    pub(crate) connect_timeout: Duration,
    pub(crate) http2: Http2Settings,
    pub(crate) user_agent: Option<String>,
    pub(crate) interceptors: Interceptors,
    pub(crate) call_credentials: Option<SharedCredentials>,
    pub(crate) allow_insecure_call_credentials: bool,
    /// The in-process server the channel connects to, instead of `target`.
    pub(crate) in_process: Option<Dialer>,
    /// The service config's JSON, read by `build`.
    pub(crate) service_config: Option<String>,
    pub(crate) load_balancing: LoadBalancing,
    pub(crate) resolver: Option<CustomResolver>,
    pub(crate) backoff: BackoffConfig,
    pub(crate) timing: Timing,
}

impl ChannelBuilder {
    /// Settings for `target` with the defaults: plaintext, 4 MiB receive limit, no send limit.
    pub fn new(target: impl Into<String>) -> Self {
        ChannelBuilder {
            target: target.into(),
            credentials: None,
            max_receive_message_length: DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
            max_send_message_length: None,
            default_options: CallOptions::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            http2: Http2Settings::default(),
            user_agent: None,
            interceptors: Interceptors::default(),
            call_credentials: None,
            allow_insecure_call_credentials: false,
            in_process: None,
            service_config: None,
            load_balancing: LoadBalancing::default(),
            resolver: None,
            backoff: BackoffConfig::default(),
            timing: Timing {
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                resolution_interval: DEFAULT_RESOLUTION_INTERVAL,
                min_resolution_interval: DEFAULT_MIN_RESOLUTION_INTERVAL,
            },
        }
    }

    /// Uses TLS with these credentials.
    #[cfg(feature = "tls")]
    pub fn credentials(mut self, credentials: crate::ChannelCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Refuses received messages larger than `bytes` with RESOURCE_EXHAUSTED (default 4 MiB). A
    /// compressed message is measured both as sent and as it decompresses.
    pub fn max_receive_message_length(mut self, bytes: usize) -> Self {
        self.max_receive_message_length = bytes;
        self
    }

    /// Refuses to send messages larger than `bytes`, before any compression, with
    /// RESOURCE_EXHAUSTED (default: no limit).
    pub fn max_send_message_length(mut self, bytes: usize) -> Self {
        self.max_send_message_length = Some(bytes);
        self
    }

    /// Options applied to every call on the channel, under each call's own.
    pub fn default_call_options(mut self, options: CallOptions) -> Self {
        self.default_options = options;
        self
    }

    /// How the channel spreads calls over its target's addresses (default
    /// [`LoadBalancing::PickFirst`], as in gRPC).
    ///
    /// ```
    /// let channel = rust_rpc::ChannelBuilder::new("dns:///my-service.internal:50051")
    ///     .load_balancing(rust_rpc::LoadBalancing::RoundRobin)
    ///     .build()?;
    /// # let _ = channel;
    /// # Ok::<(), rust_rpc::Error>(())
    /// ```
    pub fn load_balancing(mut self, policy: LoadBalancing) -> Self {
        self.load_balancing = policy;
        self
    }

    /// Sets the load-balancing policy by its gRPC name (`"pick_first"`, `"round_robin"`), as
    /// service config's `loadBalancingConfig` names it; false (and no change) for another name.
    pub(crate) fn set_load_balancing_name(&mut self, name: &str) -> bool {
        match LoadBalancing::from_name(name) {
            Some(policy) => {
                self.load_balancing = policy;
                true
            }
            None => false,
        }
    }

    /// Finds the target's addresses with `resolver` instead of the built-in DNS and address
    /// lists (see [`Resolver`], which has an example). The target then only names the
    /// requests' `:authority` and the TLS server name, so it is still a `host:port`.
    pub fn resolver(mut self, resolver: impl Resolver) -> Self {
        self.resolver = Some(CustomResolver(Arc::new(resolver)));
        self
    }

    /// How often the resolver is asked again while the channel is connected (default 5 min),
    /// and the shortest time between two lookups (default 30 s, gRPC's), which also bounds the
    /// lookups made when a connection is lost.
    ///
    /// ```
    /// use std::time::Duration;
    /// let channel = rust_rpc::ChannelBuilder::new("dns:///my-service.internal:50051")
    ///     .resolution_interval(Duration::from_secs(60), Duration::from_secs(10))
    ///     .build()?;
    /// # let _ = channel;
    /// # Ok::<(), rust_rpc::Error>(())
    /// ```
    pub fn resolution_interval(mut self, every: Duration, at_least: Duration) -> Self {
        self.timing.resolution_interval = every;
        self.timing.min_resolution_interval = at_least;
        self
    }

    /// How long the channel stays connected without calls before it closes its connections
    /// and goes back to [`ConnectivityState::Idle`](crate::ConnectivityState::Idle) (default
    /// 30 min, gRPC's). The next call connects again. The channel checks once per timeout, so
    /// it goes idle between one and two timeouts after its last call ended.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.timing.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// gRPC's connection backoff (grpc/grpc `doc/connection-backoff.md`): after a failed
    /// attempt an address is tried again after `initial` (default 1 s), each later delay
    /// `multiplier` (1.6) times the last up to `max` (120 s), each moved at random by up to
    /// `jitter` (0.2) of itself either way. The minimum connect timeout is
    /// [`connect_timeout`](Self::connect_timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// let channel = rust_rpc::ChannelBuilder::new("localhost:50051")
    ///     .reconnect_backoff(Duration::from_millis(100), 1.6, 0.2, Duration::from_secs(5))
    ///     .build()?;
    /// # let _ = channel;
    /// # Ok::<(), rust_rpc::Error>(())
    /// ```
    pub fn reconnect_backoff(mut self, initial: Duration, multiplier: f64, jitter: f64, max: Duration) -> Self {
        let multiplier = if multiplier.is_finite() { multiplier.max(1.0) } else { 1.6 };
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.2 };
        self.backoff = BackoffConfig { initial, multiplier, jitter, max: max.max(initial) };
        self
    }

    /// How long one connection attempt may take at least (default 20 s, gRPC's minimum
    /// connect timeout); after failures, an attempt may take as long as the backoff delay
    /// before it, if that is longer.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sends HTTP/2 PINGs at this interval and drops the connection when one is not answered
    /// within `timeout` (default: no keepalive).
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.http2.keepalive_interval = Some(interval);
        self.http2.keepalive_timeout = timeout;
        self
    }

    /// The HTTP/2 flow-control windows: per stream and per connection, in bytes.
    pub fn http2_windows(mut self, stream: u32, connection: u32) -> Self {
        self.http2.stream_window = stream;
        self.http2.connection_window = connection;
        self
    }

    /// Runs `interceptor` around every call on the channel, after the ones added before it
    /// (see [`ClientInterceptor`]).
    pub fn interceptor(mut self, interceptor: impl ClientInterceptor) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Sends `credentials`' metadata (a token) with every call, after the interceptors have run
    /// (Python's `composite_channel_credentials` with call credentials). See [`CallCredentials`]:
    /// over TLS only, unless [`allow_insecure_call_credentials`](Self::allow_insecure_call_credentials).
    pub fn call_credentials(mut self, credentials: impl CallCredentials) -> Self {
        self.call_credentials = Some(SharedCredentials::new(credentials));
        self
    }

    /// Sends call credentials on this channel even without TLS: for a local connection (a Unix
    /// socket, a sidecar on loopback) where nothing else can read them. Off by default, so a
    /// token is never sent in the clear by mistake.
    pub fn allow_insecure_call_credentials(mut self, allow: bool) -> Self {
        self.allow_insecure_call_credentials = allow;
        self
    }

    /// Puts `product` (e.g. `"my-app/1.2"`) in front of the `user-agent` the channel sends, as
    /// grpc-go's `WithUserAgent` and Python's `grpc.primary_user_agent` option do. Without it the
    /// header is `grpc-rust-rpc/` and this crate's version. Metadata cannot set this header.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Uses `json`, a gRPC service config (grpc/grpc `doc/service_config.md`), for the calls
    /// of this channel: per method (`{service, method}`, then `{service}`, then the `{}`
    /// default) a `timeout` (the call's deadline unless it has an earlier one),
    /// `waitForReady` (unless the call sets it), `maxRequestMessageBytes` and
    /// `maxResponseMessageBytes` (the smaller of these and the channel's limits apply), and a
    /// `retryPolicy` or `hedgingPolicy` (gRFC A6); for the channel, `retryThrottling` and
    /// `loadBalancingConfig`. Durations are written as `"0.1s"`, status codes by name
    /// (`"UNAVAILABLE"`) or number. An invalid config fails [`build`](Self::build) with an
    /// error naming the field and why; `maxAttempts` above 5 counts as 5.
    ///
    /// A retried or hedged request is kept for replay until the call commits (its response
    /// headers arrive): up to 256 KiB per call and 16 MiB per channel, past which the call
    /// goes on without further attempts.
    ///
    /// ```
    /// let channel = rust_rpc::ChannelBuilder::new("localhost:50051")
    ///     .service_config(r#"{
    ///         "methodConfig": [{
    ///             "name": [{"service": "helloworld.Greeter"}],
    ///             "timeout": "2s",
    ///             "retryPolicy": {
    ///                 "maxAttempts": 4,
    ///                 "initialBackoff": "0.1s",
    ///                 "maxBackoff": "1s",
    ///                 "backoffMultiplier": 2,
    ///                 "retryableStatusCodes": ["UNAVAILABLE"]
    ///             }
    ///         }],
    ///         "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
    ///     }"#)
    ///     .build()?;
    ///
    /// let invalid = rust_rpc::ChannelBuilder::new("localhost:50051")
    ///     .service_config(r#"{"methodConfig": [{"retryPolicy": {"maxAttempts": 1}}]}"#)
    ///     .build();
    /// assert!(invalid.unwrap_err().to_string().contains("methodConfig[0].retryPolicy.maxAttempts must be at least 2"));
    /// # Ok::<(), rust_rpc::Error>(())
    /// ```
    pub fn service_config(mut self, json: impl Into<String>) -> Self {
        self.service_config = Some(json.into());
        self
    }
}
