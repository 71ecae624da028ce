//! The request body as hyper sees it: tonic's message encoder, looking one frame ahead so the
//! last message goes out with END_STREAM.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tonic::body::Body;

type Item = Result<Frame<Bytes>, tonic::Status>;

/// A request body that knows it has ended as soon as its last frame is taken.
///
/// Why: tonic's encoder only learns that the request stream is over when polled once more, so
/// after the one message of a unary call hyper saw a body that had not ended, sent the message
/// without END_STREAM, went `Pending` waiting for send capacity, spawned a task to finish the
/// body, and that task later sent an empty DATA frame with END_STREAM: one more task, frame and
/// `writev` per call, and the server could only answer after that second frame. Polling the
/// encoder once more right after each data frame (it is synchronous when the stream is ready)
/// lets hyper send the last message with END_STREAM and finish the body in place.
pub(crate) struct RequestBody {
    inner: Body,
    /// A frame (or error) the look-ahead took from `inner`, yielded next.
    next: Option<Item>,
    /// `inner` has returned `None`.
    ended: bool,
}

impl RequestBody {
    pub(crate) fn new(inner: Body) -> Self {
        RequestBody { inner, next: None, ended: false }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        let this = &mut *self;
        let item = match this.next.take() {
            Some(item) => item,
            None if this.ended => return Poll::Ready(None),
            None => match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(item)) => item,
            },
        };
        if item.as_ref().is_ok_and(Frame::is_data) {
            // A `Pending` here leaves `inner` registered with this task, which is fine: hyper
            // polls the body again anyway before it would need the next frame.
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => {}
                Poll::Ready(None) => this.ended = true,
                Poll::Ready(Some(next)) => this.next = Some(next),
            }
        }
        Poll::Ready(Some(item))
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none() && (self.ended || self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        match &self.next {
            // hyper reads the hint before the first frame, when nothing has been taken ahead.
            None => self.inner.size_hint(),
            Some(_) => SizeHint::default(),
        }
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody").field("ended", &self.ended).finish_non_exhaustive()
    }
}
