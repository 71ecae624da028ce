//! The response body of a streaming call, or of a compressed unary one: the messages that are
//! ready, encoded together (see `batch.rs`), then the trailers with the final status.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Frame;

use crate::batch::Batch;
use crate::server::SEND_LIMIT;
use crate::server::dispatch::{ResponseBody, put_status};
use crate::server::unary_body::ok_trailers;
use crate::{Compression, Metadata};

pin_project_lite::pin_project! {
    /// Response messages as DATA chunks, then the trailers.
    pub(crate) struct StreamBody<M> {
        #[pin]
        source: ResponseBody<M>,
        batch: Batch<M>,
        // Set when `source` ends, until sent.
        trailers: Option<http::HeaderMap>,
        // `source` has ended.
        ended: bool,
    }
}

impl<M: prost::Message> StreamBody<M> {
    /// Sends the messages of `source`, each of at most `limit` bytes, compressed with
    /// `compression` if set.
    pub(crate) fn new(source: ResponseBody<M>, limit: usize, compression: Option<Compression>) -> Self {
        StreamBody { source, batch: Batch::new(limit, compression), trailers: None, ended: false }
    }
}

/// The trailers of a call that ends with `status`; `None` is OK with no metadata.
fn trailers(status: Option<tonic::Status>) -> http::HeaderMap {
    match status {
        Some(status) => {
            let mut trailers = http::HeaderMap::new();
            put_status(&mut trailers, &status);
            trailers
        }
        None => ok_trailers(Metadata::new()),
    }
}

impl<M: prost::Message> http_body::Body for StreamBody<M> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let mut this = self.project();
        while !*this.ended && !this.batch.is_full() {
            let status = match this.source.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(Ok(message))) => match this.batch.push(message) {
                    Ok(()) => continue,
                    Err(err) => this.source.as_mut().fail(err.into_rpc_error("response", SEND_LIMIT)),
                },
                Poll::Ready(Some(Err(status))) => Some(status),
                Poll::Ready(None) => None,
            };
            *this.ended = true;
            *this.trailers = Some(trailers(status));
        }
        // The messages before a final status go first.
        match this.batch.take() {
            Ok(Some(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
            Ok(None) => {}
            Err(err) => {
                // Compression failed (not expected in memory). The status replaces any already
                // set: the messages it would have followed are lost.
                let err = err.into_rpc_error("response", SEND_LIMIT);
                let status = this.source.as_mut().fail(err.clone()).unwrap_or_else(|| err.into_tonic());
                *this.ended = true;
                *this.trailers = Some(trailers(Some(status)));
            }
        }
        if let Some(trailers) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if *this.ended { Poll::Ready(None) } else { Poll::Pending }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.batch.is_empty() && self.trailers.is_none()
    }
}
