//! The request body of a streaming or compressed call: the request messages that are ready,
//! encoded together (see `batch.rs`).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Frame;

use crate::Compression;
use crate::batch::Batch;
use crate::client::SEND_LIMIT;

pin_project_lite::pin_project! {
    /// Request messages as DATA chunks. It knows it has ended as soon as its last chunk is
    /// taken (the batch is gathered until the stream is `Pending` or over), so the last message
    /// goes out with END_STREAM.
    pub(crate) struct MessageBody<S: Stream> {
        #[pin]
        requests: S,
        batch: Batch<S::Item>,
        ended: bool,
    }
}

impl<S> MessageBody<S>
where
    S: Stream,
    S::Item: prost::Message,
{
    /// Sends the messages of `requests`, each of at most `limit` bytes, compressed with
    /// `compression` if set.
    pub(crate) fn new(requests: S, limit: usize, compression: Option<Compression>) -> Self {
        MessageBody { requests, batch: Batch::new(limit, compression), ended: false }
    }
}

impl<S> http_body::Body for MessageBody<S>
where
    S: Stream,
    S::Item: prost::Message,
{
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let mut this = self.project();
        while !*this.ended && !this.batch.is_full() {
            match this.requests.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(message)) => {
                    if let Err(err) = this.batch.push(message) {
                        // The call fails with this; the stream is reset, so what was gathered
                        // would never be read.
                        *this.ended = true;
                        this.batch.clear();
                        let err = err.into_rpc_error("request", SEND_LIMIT);
                        return Poll::Ready(Some(Err(err.into_tonic())));
                    }
                }
                Poll::Ready(None) => *this.ended = true,
            }
        }
        match this.batch.take() {
            Ok(Some(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Ok(None) if *this.ended => Poll::Ready(None),
            Ok(None) => Poll::Pending,
            Err(err) => {
                *this.ended = true;
                Poll::Ready(Some(Err(err.into_rpc_error("request", SEND_LIMIT).into_tonic())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.batch.is_empty()
    }
}
