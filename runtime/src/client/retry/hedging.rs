//! A call under a `hedgingPolicy` (gRFC A6): attempts started `hedgingDelay` apart without
//! waiting for the earlier ones; the first to commit is the answer and the others are
//! cancelled (dropped, so their streams are reset). A non-fatal status starts the next attempt
//! at once; a fatal one ends the call; pushback delays or stops the next attempt.

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

use crate::client::response_body::ResponseBody;
use crate::client::retry::attempt::{Failure, Outcome, Template};
use crate::client::retry::buffer::Replayable;
use crate::client::retry::delay::Pushback;
use crate::client::retry::throttle::Throttle;
use crate::client::service_config::HedgingPolicy;
use crate::{Channel, Result, RpcError};

type Attempt = Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody>>> + Send>>;

/// Sends `request` as hedged attempts; gives the first committed answer, or the last failure
/// once no attempt is left.
pub(crate) async fn send(
    channel: &Channel,
    template: Template,
    request: Replayable,
    wait: bool,
    policy: &HedgingPolicy,
    throttle: Option<&Throttle>,
) -> Result<http::Response<ResponseBody>> {
    let mut running: FuturesUnordered<Attempt> = FuturesUnordered::new();
    let mut started = 0u32;
    let mut transparent_retried = false;
    // When the next attempt starts; `None` once no more will.
    let mut next = Some(Instant::now());
    let mut last: Option<Failure> = None;
    let start = |n: u32| -> Result<Attempt> {
        let head = template.head(n)?;
        let (channel, outgoing) = (channel.clone(), request.outgoing(n));
        Ok(Box::pin(async move { channel.send(head, outgoing, wait).await }))
    };
    loop {
        if started >= policy.max_attempts || request.committed() {
            next = None;
        }
        if let Some(at) = next
            && at <= Instant::now()
        {
            // The first attempt always goes; a hedge only while the throttle allows.
            if started > 0 && throttle.is_some_and(|t| !t.allows()) {
                next = None;
            } else {
                running.push(start(started)?);
                started += 1;
                next = Some(Instant::now() + policy.hedging_delay);
            }
            continue;
        }
        if running.is_empty() {
            return match last {
                Some(failure) => failure.result,
                None => Err(RpcError::unavailable("no hedged attempt could be sent")),
            };
        }
        let result = match next {
            None => running.next().await,
            Some(at) => tokio::select! {
                biased;
                result = running.next() => result,
                () = tokio::time::sleep_until(at) => continue,
            },
        };
        let Some(result) = result else { continue };
        let failure = match Outcome::settle(result, throttle) {
            // Dropping `running` cancels the other attempts.
            Outcome::Committed(response) => return Ok(response),
            Outcome::Failed(failure) => failure,
        };
        if failure.unprocessed && !transparent_retried && !request.committed() {
            // Never seen by the server's application: sent again at once, not counted.
            transparent_retried = true;
            running.push(start(started.saturating_sub(1))?);
            continue;
        }
        let non_fatal = policy.non_fatal.contains(failure.code);
        failure.count(non_fatal, throttle);
        if !non_fatal {
            // A fatal status is the call's answer; the other attempts are cancelled.
            return failure.result;
        }
        next = match (&failure.pushback, next) {
            (Some(Pushback::Stop), _) => None,
            (Some(Pushback::After(delay)), Some(_)) => Some(Instant::now() + *delay),
            // A non-fatal failure sends the next hedge at once.
            (None, Some(_)) => Some(Instant::now()),
            (_, None) => None,
        };
        last = Some(failure);
    }
}
