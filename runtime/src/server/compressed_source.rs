//! The messages of a compressed streaming response on their way to tonic's encoder, which
//! compresses and frames them.
//!
//! The send limit is checked here, on each message's encoded size before compression, as for
//! an uncompressed stream (`batch.rs`) and as gRPC C-core (and so Python) checks it. tonic's
//! encoder checks the compressed size, so whether a message could be sent depended on how well
//! it compressed, and it failed the call with OUT_OF_RANGE, where gRPC says
//! RESOURCE_EXHAUSTED, without the handler's trailing metadata.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::frame::FrameError;
use crate::server::SEND_LIMIT;
use crate::server::dispatch::ResponseBody;

pin_project_lite::pin_project! {
    /// `source`, ended RESOURCE_EXHAUSTED at the first message over `limit` bytes.
    pub(crate) struct CompressedSource<M> {
        #[pin]
        source: ResponseBody<M>,
        limit: usize,
    }
}

impl<M> CompressedSource<M> {
    pub(crate) fn new(source: ResponseBody<M>, limit: usize) -> Self {
        CompressedSource { source, limit }
    }
}

impl<M: prost::Message> Stream for CompressedSource<M> {
    type Item = Result<M, tonic::Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        match this.source.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(message))) if message.encoded_len() > *this.limit => {
                let err = FrameError::TooLarge { len: message.encoded_len(), limit: *this.limit };
                Poll::Ready(this.source.fail(err.into_rpc_error("response", SEND_LIMIT)).map(Err))
            }
            other => other,
        }
    }
}
