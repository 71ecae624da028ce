//! Ending a call early: its deadline, or a cancel signal from the caller.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::{Result, RpcError};

/// A future that cancels a call when it resolves.
pub(crate) type CancelSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

pin_project_lite::pin_project! {
    /// Runs `future` until `deadline` or the cancel signal, failing with DEADLINE_EXCEEDED or
    /// CANCELLED; the caller then drops the future, which resets the HTTP/2 stream.
    ///
    /// A struct rather than an `async fn` with `select!`: that kept the call's future twice
    /// (as the argument and as the selected branch), kilobytes copied on every call.
    pub(crate) struct Until<F> {
        #[pin]
        future: F,
        deadline: Option<Instant>,
        // Made on the first poll: a timer needs the runtime, and the call may be built outside.
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        cancel: Option<CancelSignal>,
    }
}

impl<F> Until<F> {
    pub(crate) fn new(deadline: Option<Instant>, cancel: Option<CancelSignal>, future: F) -> Self {
        Until { future, deadline, sleep: None, cancel }
    }
}

impl<F, T> Future for Until<F>
where
    F: Future<Output = Result<T>>,
{
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut this = self.project();
        if let Some(signal) = this.cancel.as_mut()
            && signal.as_mut().poll(cx).is_ready()
        {
            *this.cancel = None;
            return Poll::Ready(Err(cancelled_error()));
        }
        if let Some(deadline) = *this.deadline {
            if this.sleep.is_none() {
                this.sleep.set(Some(tokio::time::sleep_until(deadline.into())));
            }
            if let Some(sleep) = this.sleep.as_mut().as_pin_mut()
                && sleep.poll(cx).is_ready()
            {
                return Poll::Ready(Err(RpcError::deadline_exceeded("deadline exceeded before the call finished")));
            }
        }
        this.future.poll(cx)
    }
}

/// The error of a call its caller cancelled.
pub(crate) fn cancelled_error() -> RpcError {
    RpcError::cancelled("the call was cancelled by the client")
}
