//! `ChannelBuilder`: a channel's settings. `channel.rs` builds the channel from them.

use std::time::Duration;

use crate::client::call_credentials::{CallCredentials, SharedCredentials};
use crate::client::interceptor::{ClientInterceptor, Interceptors};
use crate::credentials::ChannelCredentials;
use crate::options::CallOptions;
use crate::transport::http2::Http2Settings;
use crate::transport::memory::Dialer;
use crate::wire::limits::DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH;

/// How long one connection attempt may take by default: gRPC's minimum connect timeout.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

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
    pub(crate) credentials: Option<ChannelCredentials>,
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
        }
    }

    /// Uses TLS with these credentials.
    pub fn credentials(mut self, credentials: ChannelCredentials) -> Self {
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

    /// How long one connection attempt may take (default 20 s).
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
