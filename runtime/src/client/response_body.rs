//! The response body of a call: h2's receive stream as an `http_body::Body` for the decoders.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;

use crate::RpcError;
use crate::transport::coalesce::OpenCall;
use crate::wire::status;

/// A response body: the DATA frames of an h2 stream, then its trailers.
pub(crate) struct ResponseBody {
    stream: h2::RecvStream,
    /// All DATA has been taken; trailers (if any) come next.
    data_done: bool,
    /// Held while a task still sends the request body; dropping it tells that task the call is
    /// no longer wanted (see `SendBody::spawn`).
    _request_sender: Option<tokio::sync::oneshot::Sender<()>>,
    /// Counts the call as open on its connection until the body is dropped.
    _open: OpenCall,
}

impl ResponseBody {
    pub(crate) fn new(
        stream: h2::RecvStream,
        request_sender: Option<tokio::sync::oneshot::Sender<()>>,
        open: OpenCall,
    ) -> Self {
        ResponseBody { stream, data_done: false, _request_sender: request_sender, _open: open }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = RpcError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, RpcError>>> {
        let this = &mut *self;
        if !this.data_done {
            match this.stream.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(data))) => {
                    // Received bytes count against the stream and connection windows until
                    // released; the decoders buffer what they take, so release at once, as hyper did.
                    // Without it the windows fill and the server stalls.
                    let _ = this.stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(status::from_h2(&err, None)))),
                Poll::Ready(None) => this.data_done = true,
            }
        }
        match this.stream.poll_trailers(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(trailers))) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(err)) => Poll::Ready(Some(Err(status::from_h2(&err, None)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").field("data_done", &self.data_done).finish_non_exhaustive()
    }
}
