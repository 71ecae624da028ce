//! A call under a `retryPolicy` (gRFC A6): one attempt at a time, again after a failure with a
//! retryable status until `maxAttempts`, waiting the jittered exponential backoff or the
//! server's pushback in between, while the channel's throttle allows.

use crate::client::response_body::ResponseBody;
use crate::client::retry::attempt::{Outcome, Template};
use crate::client::retry::buffer::Replayable;
use crate::client::retry::delay::{Pushback, backoff};
use crate::client::retry::throttle::Throttle;
use crate::client::service_config::RetryPolicy;
use crate::{Channel, Result};

/// Sends `request` until an attempt commits the call or the policy says stop; gives the last
/// attempt's answer.
pub(crate) async fn send(
    channel: &Channel,
    template: Template,
    request: Replayable,
    wait: bool,
    policy: &RetryPolicy,
    throttle: Option<&Throttle>,
) -> Result<http::Response<ResponseBody>> {
    // Attempts the policy counts (transparent retries are not), and the retries since the
    // backoff last started over.
    let mut attempts = 0u32;
    let mut backoff_retries = 0u32;
    let mut transparent_retried = false;
    loop {
        let head = template.head(attempts)?;
        let result = channel.send(head, request.outgoing(attempts), wait).await;
        let failure = match Outcome::settle(result, throttle) {
            Outcome::Committed(response) => return Ok(response),
            Outcome::Failed(failure) => failure,
        };
        if request.committed() {
            return failure.result;
        }
        // Never seen by the server's application: once more at once, not counted.
        if failure.unprocessed && !transparent_retried {
            transparent_retried = true;
            continue;
        }
        attempts += 1;
        let retryable = policy.retryable.contains(failure.code);
        failure.count(retryable, throttle);
        if !retryable || attempts >= policy.max_attempts || throttle.is_some_and(|t| !t.allows()) {
            return failure.result;
        }
        let delay = match failure.pushback {
            Some(Pushback::Stop) => return failure.result,
            Some(Pushback::After(delay)) => {
                // The retry after a pushback starts the backoff over.
                backoff_retries = 0;
                delay
            }
            None => {
                backoff_retries += 1;
                backoff(policy, backoff_retries)
            }
        };
        drop(failure);
        // The call's deadline (`Until`, around the whole call) ends this wait too.
        tokio::time::sleep(delay).await;
    }
}
