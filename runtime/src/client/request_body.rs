//! The request body of a streaming or compressed call: the request messages that are ready,
//! encoded together (see `wire/batch.rs`).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Frame;

use crate::client::message_compression::MessageCompression;
use crate::observe::Tally;
use crate::wire::batch::{Batch, Fill};
use crate::wire::limits::Limit;
use crate::{Compression, RpcError};

pin_project_lite::pin_project! {
    /// Request messages as DATA chunks. It knows it has ended as soon as its last chunk is
    /// taken (the batch is gathered until the stream is `Pending` or over), so the last message
    /// goes out with END_STREAM.
    pub(crate) struct RequestBody<S: Stream> {
        #[pin]
        requests: S,
        batch: Batch<S::Item>,
        // Asked after each message whether it goes uncompressed, on a compressed call.
        switch: Option<MessageCompression>,
        ended: bool,
    }
}

impl<S> RequestBody<S>
where
    S: Stream,
    S::Item: prost::Message,
{
    /// Sends the messages of `requests`, each of at most `limit` bytes, compressed with
    /// `compression` if set, except those `switch` marks; counted in `tally` if the call has one.
    pub(crate) fn new(
        requests: S,
        limit: usize,
        compression: Option<Compression>,
        switch: Option<MessageCompression>,
        tally: Option<Arc<Tally>>,
    ) -> Self {
        let switch = switch.filter(|_| compression.is_some());
        RequestBody { requests, batch: Batch::new(limit, compression, tally), switch, ended: false }
    }
}

impl<S> http_body::Body for RequestBody<S>
where
    S: Stream,
    S::Item: prost::Message,
{
    type Data = Bytes;
    type Error = RpcError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, RpcError>>> {
        let mut this = self.project();
        if !*this.ended {
            let requests = &mut this.requests;
            // A closure of its own for each loop, so the plain one stays inlined (see
            // `server/stream_body.rs`).
            let filled = match this.switch {
                None => {
                    this.batch.fill(cx, |cx| requests.as_mut().poll_next(cx).map(|next| next.map(Ok::<_, Infallible>)))
                }
                Some(switch) => this.batch.fill_marking(
                    cx,
                    |cx| requests.as_mut().poll_next(cx).map(|next| next.map(Ok::<_, Infallible>)),
                    || switch.take_next_uncompressed(),
                ),
            };
            match filled {
                Fill::Open => {}
                Fill::Ended => *this.ended = true,
                Fill::Failed(never) => match never {},
                Fill::Refused(err) => {
                    // The call fails with this; the stream is reset, so what was gathered
                    // would never be read.
                    *this.ended = true;
                    this.batch.clear();
                    return Poll::Ready(Some(Err(err.into_rpc_error(Limit::CLIENT_SEND))));
                }
            }
        }
        match this.batch.take() {
            Ok(Some(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Ok(None) if *this.ended => Poll::Ready(None),
            Ok(None) => Poll::Pending,
            Err(err) => {
                *this.ended = true;
                Poll::Ready(Some(Err(err.into_rpc_error(Limit::CLIENT_SEND))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.batch.is_empty()
    }
}
