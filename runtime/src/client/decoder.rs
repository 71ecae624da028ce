//! Reading a response: its initial metadata, then its messages with our decoder when they are
//! not compressed (see `deframe.rs`) or tonic's when they are, then its status.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tonic::codec::Codec;
use tonic_prost::ProstCodec;

use crate::client::RECEIVE_LIMIT;
use crate::client::response_body::ResponseBody;
use crate::client::status::check_status;
use crate::deframe::{MessageStream, Reader};
use crate::headers::{GRPC_ENCODING, GRPC_STATUS};
use crate::{Compression, Metadata, Result, RpcError};

const READER: Reader = Reader { what: "response", limit_name: RECEIVE_LIMIT };

/// The decoder of a response's messages.
pub(crate) enum Decoder<M> {
    Plain(MessageStream<ResponseBody, M>),
    Tonic(tonic::Streaming<M>),
}

/// Reads the head of `response`: its initial metadata and the decoder of its body, or the
/// error of a trailers-only answer. A non-200 answer without `grpc-status` never gets here
/// (`Channel::send` maps it).
pub(crate) fn open<M>(response: http::Response<ResponseBody>, limit: usize) -> Result<(Metadata, Decoder<M>)>
where
    M: prost::Message + Default + Send + 'static,
{
    let (parts, body) = response.into_parts();
    let mut codec = ProstCodec::<(), M>::default();
    if parts.headers.contains_key(&GRPC_STATUS) {
        // Trailers-only: the status is in the headers and the body is empty.
        if let Some(status) = tonic::Status::from_header_map(&parts.headers)
            && status.code() != tonic::Code::Ok
        {
            return Err(RpcError::from_tonic(status));
        }
        let empty = tonic::Streaming::new_empty(codec.decoder(), body);
        return Ok((Metadata::from_received_headers(parts.headers), Decoder::Tonic(empty)));
    }
    let decoder = match parts.headers.get(&GRPC_ENCODING).map(|v| v.to_str().unwrap_or("?")) {
        None | Some("identity") => Decoder::Plain(MessageStream::new(body, limit, READER, RpcError::from_tonic)),
        Some(name) => {
            let Some(compression) = Compression::from_name(name) else {
                return Err(RpcError::unimplemented(format!(
                    "the response is compressed with {name:?}, which this client does not accept ({})",
                    Compression::ACCEPT_ENCODING
                )));
            };
            let encoding = Some(compression.to_tonic());
            Decoder::Tonic(tonic::Streaming::new_response(codec.decoder(), body, parts.status, encoding, Some(limit)))
        }
    };
    Ok((Metadata::from_received_headers(parts.headers), decoder))
}

impl<M> Decoder<M> {
    /// The next message; `None` once the messages have ended (then call [`Decoder::finish`]).
    pub(crate) fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<M>>> {
        match self {
            Decoder::Plain(messages) => Pin::new(messages).poll_next(cx),
            Decoder::Tonic(streaming) => {
                Pin::new(streaming).poll_next(cx).map(|item| item.map(|r| r.map_err(RpcError::from_tonic)))
            }
        }
    }

    /// The next message, as a future.
    pub(crate) async fn message(&mut self) -> Result<Option<M>> {
        std::future::poll_fn(|cx| self.poll_message(cx)).await.transpose()
    }

    /// The call's end once the messages have ended: its trailing metadata with an OK status, or
    /// the error status.
    pub(crate) fn finish(&mut self) -> Result<Metadata> {
        match self {
            Decoder::Plain(messages) => {
                let trailers = messages.take_trailers().unwrap_or_default();
                check_status(&trailers)?;
                Ok(Metadata::from_received_headers(trailers))
            }
            // The body is done, so the trailers are already buffered and this resolves at once.
            Decoder::Tonic(streaming) => match futures_util::FutureExt::now_or_never(streaming.trailers()) {
                Some(Err(status)) => Err(RpcError::from_tonic(status)),
                Some(Ok(Some(trailers))) => Ok(Metadata::from_received_headers(trailers.into_headers())),
                Some(Ok(None)) | None => Ok(Metadata::new()),
            },
        }
    }
}
