//! Reading a response: its initial metadata, then its messages (see `deframe.rs`), then its
//! status.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::client::response_body::ResponseBody;
use crate::observe::Tally;
use crate::wire::deframe::MessageStream;
use crate::wire::headers::{GRPC_ENCODING, GRPC_STATUS};
use crate::wire::limits::Limit;
use crate::wire::status;
use crate::{Compression, Metadata, Result, RpcError};

/// The decoder of a response's messages.
pub(crate) struct Decoder<M> {
    messages: MessageStream<ResponseBody, M>,
    /// A trailers-only answer with an OK status: its body is empty, and it has no trailers
    /// (what metadata it had came as the initial metadata).
    trailers_only: bool,
}

/// Reads the head of `response`: its initial metadata and the decoder of its body, or the
/// error of a trailers-only answer. A non-200 answer without `grpc-status` never gets here
/// (`Channel::send` in `exchange.rs` maps it). The messages are counted in `tally` if the call
/// has one.
pub(crate) fn open<M>(
    response: http::Response<ResponseBody>,
    limit: usize,
    tally: Option<Arc<Tally>>,
) -> Result<(Metadata, Decoder<M>)>
where
    M: prost::Message + Default + Send + 'static,
{
    let (parts, body) = response.into_parts();
    // Trailers-only: the status is in the headers and the body is empty.
    let trailers_only = parts.headers.contains_key(&GRPC_STATUS);
    if trailers_only {
        status::check(&parts.headers)?;
    }
    let compression = Compression::from_header(parts.headers.get(&GRPC_ENCODING)).map_err(|name| {
        RpcError::unimplemented(format!(
            "the response is compressed with {name:?}, which this client does not accept ({})",
            Compression::ACCEPT_ENCODING
        ))
    })?;
    let messages = MessageStream::new(body, limit, compression, Limit::CLIENT_RECEIVE, std::convert::identity, tally);
    Ok((Metadata::from_received_headers(parts.headers), Decoder { messages, trailers_only }))
}

impl<M> Decoder<M> {
    /// The next message; `None` once the messages have ended (then call [`Decoder::finish`]).
    pub(crate) fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        Pin::new(&mut self.messages).poll_next(cx)
    }

    /// The next message, as a future.
    pub(crate) async fn message(&mut self) -> Result<Option<M>> {
        std::future::poll_fn(|cx| self.poll_message(cx)).await.transpose()
    }

    /// The call's end once the messages have ended: its trailing metadata with an OK status, or
    /// the error status.
    pub(crate) fn finish(&mut self) -> Result<Metadata> {
        if self.trailers_only {
            return Ok(Metadata::new());
        }
        let trailers = self.messages.take_trailers().unwrap_or_default();
        status::check(&trailers)?;
        Ok(Metadata::from_received_headers(trailers))
    }
}
