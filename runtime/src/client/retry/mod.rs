//! Retries and hedging (gRFC A6) for the calls a service config gives a policy.
//!
//! A call whose method has a `retryPolicy` or `hedgingPolicy` sends its request through
//! [`send`] instead of `Channel::send`: the request is kept for replay (`buffer.rs`), each
//! attempt gets its own headers (`attempt.rs`), and `retrying.rs` or `hedging.rs` decide when
//! to send another. An attempt commits the call when response headers arrive (gRPC servers
//! answer a failure before any response with Trailers-Only), so a streaming call is retried
//! until its first response, and never after. The channel keeps the throttle (`throttle.rs`)
//! and the replay budget all its calls share. Other calls never come here: on a channel without
//! a service config they pay one `Option` check.

pub(crate) mod attempt;
pub(crate) mod budget;
pub(crate) mod buffer;
pub(crate) mod configured;
pub(crate) mod delay;
pub(crate) mod hedging;
pub(crate) mod retrying;
pub(crate) mod throttle;

use std::time::Instant;

use crate::client::exchange::Outgoing;
use crate::client::response_body::ResponseBody;
use crate::client::service_config::{MethodConfig, Policy};
use crate::{Channel, Result};

use attempt::Template;
use buffer::Replayable;

/// Sends a call's request under its method's policy; `Channel::send` if it has none.
pub(crate) async fn send(
    channel: &Channel,
    head: http::request::Parts,
    body: Outgoing,
    wait: bool,
    method: &MethodConfig,
    deadline: Option<Instant>,
) -> Result<http::Response<ResponseBody>> {
    let (Some(configured), Some(policy)) = (channel.configured(), &method.policy) else {
        return channel.send(head, body, wait).await;
    };
    let request = match body {
        Outgoing::Frame(frame) => Replayable::frame(frame, &configured.budget),
        Outgoing::Body(body) => Replayable::body(body, &configured.budget),
    };
    let template = Template::new(head, deadline);
    let throttle = configured.throttle.as_ref();
    match policy {
        Policy::Retry(policy) => retrying::send(channel, template, request, wait, policy, throttle).await,
        Policy::Hedging(policy) => hedging::send(channel, template, request, wait, policy, throttle).await,
    }
}
