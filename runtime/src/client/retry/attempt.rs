//! One attempt of a call that may make several: its request headers (made again for each
//! attempt, with `grpc-previous-rpc-attempts` and the time left), and what its answer means
//! for the call: committed, or failed with a status the policy may retry.

use std::time::Instant;

use crate::client::exchange::UNPROCESSED;
use crate::client::response_body::ResponseBody;
use crate::client::retry::delay::{Pushback, pushback};
use crate::client::retry::throttle::Throttle;
use crate::wire::headers::{GRPC_PREVIOUS_RPC_ATTEMPTS, GRPC_STATUS, GRPC_TIMEOUT};
use crate::wire::{status, timeout};
use crate::{Code, Result, RpcError};

/// The request headers every attempt starts from.
pub(crate) struct Template {
    uri: http::Uri,
    headers: http::HeaderMap,
    deadline: Option<Instant>,
}

impl Template {
    pub(crate) fn new(head: http::request::Parts, deadline: Option<Instant>) -> Template {
        Template { uri: head.uri, headers: head.headers, deadline }
    }

    /// The headers of the attempt after `previous` others.
    pub(crate) fn head(&self, previous: u32) -> Result<http::request::Parts> {
        let (mut head, ()) = http::Request::post(self.uri.clone())
            .version(http::Version::HTTP_2)
            .body(())
            .map_err(|err| RpcError::internal(format!("cannot build the request: {err}")))?
            .into_parts();
        head.headers = self.headers.clone();
        if previous > 0 {
            head.headers.insert(&GRPC_PREVIOUS_RPC_ATTEMPTS, previous.into());
        }
        if let Some(deadline) = self.deadline {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if let Ok(value) = timeout::format_grpc_timeout(remaining).parse() {
                head.headers.insert(&GRPC_TIMEOUT, value);
            }
        }
        Ok(head)
    }
}

/// What an attempt's answer means for its call.
pub(crate) enum Outcome {
    /// Response headers came (or a trailers-only OK): this attempt is the call's answer.
    Committed(http::Response<ResponseBody>),
    /// The attempt failed before committing the call.
    Failed(Failure),
}

impl Failure {
    /// Tells the `throttle` of this failure when gRFC A6 counts it: a status the policy would
    /// try again after (`again`: retryable, or non-fatal for hedging), or a pushback saying not
    /// to.
    pub(crate) fn count(&self, again: bool, throttle: Option<&Throttle>) {
        if let Some(throttle) = throttle
            && (again || self.pushback == Some(Pushback::Stop))
        {
            throttle.failure();
        }
    }
}

/// A failed attempt.
pub(crate) struct Failure {
    pub(crate) code: Code,
    pub(crate) pushback: Option<Pushback>,
    /// The server refused the stream before processing it (REFUSED_STREAM, or above a
    /// GOAWAY's last stream): gRPC retries it once, transparently.
    pub(crate) unprocessed: bool,
    /// What the call gives if it is not retried: the trailers-only answer (read as any other
    /// answer is, so its metadata reaches the caller), or the error.
    pub(crate) result: Result<http::Response<ResponseBody>>,
}

impl Outcome {
    /// What `result` means for the call, with the channel's `throttle` told of a commit (a
    /// success, gRFC A6); a failure is told by [`Failure::count`] once the policy has judged
    /// its status.
    pub(crate) fn settle(result: Result<http::Response<ResponseBody>>, throttle: Option<&Throttle>) -> Outcome {
        let outcome = Outcome::of(result);
        if let (Outcome::Committed(_), Some(throttle)) = (&outcome, throttle) {
            throttle.success();
        }
        outcome
    }

    fn of(result: Result<http::Response<ResponseBody>>) -> Outcome {
        match result {
            Ok(response) if response.headers().contains_key(&GRPC_STATUS) => {
                let Err(err) = status::check(response.headers()) else {
                    return Outcome::Committed(response);
                };
                let pushback = pushback(response.headers());
                Outcome::Failed(Failure { code: err.code(), pushback, unprocessed: false, result: Ok(response) })
            }
            Ok(response) => Outcome::Committed(response),
            Err(err) => Outcome::Failed(Failure {
                code: err.code(),
                pushback: None,
                unprocessed: err.details().starts_with(UNPROCESSED),
                result: Err(err),
            }),
        }
    }
}
