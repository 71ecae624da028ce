//! What a single-response call gives back, and reading it off the response.

use crate::client::decoder::Decoder;
use crate::{Metadata, Result, RpcError};

/// What a single-response call gives with [`Call::with_call`](crate::Call::with_call): the message
/// and the metadata.
#[derive(Debug, Clone)]
pub struct Response<M> {
    message: M,
    initial_metadata: Metadata,
    trailing_metadata: Metadata,
}

impl<M> Response<M> {
    pub(crate) fn new(message: M, initial_metadata: Metadata, trailing_metadata: Metadata) -> Self {
        Response { message, initial_metadata, trailing_metadata }
    }

    /// The same response with its message made by `f`, or `f`'s error.
    pub(crate) fn try_map<N>(self, f: impl FnOnce(M) -> Result<N>) -> Result<Response<N>> {
        let Response { message, initial_metadata, trailing_metadata } = self;
        Ok(Response { message: f(message)?, initial_metadata, trailing_metadata })
    }

    /// The response message.
    pub fn message(&self) -> &M {
        &self.message
    }

    /// Takes the response message.
    pub fn into_message(self) -> M {
        self.message
    }

    /// The response headers the server sent (its initial metadata).
    pub fn initial_metadata(&self) -> &Metadata {
        &self.initial_metadata
    }

    /// The trailers the server sent with the OK status (its trailing metadata).
    pub fn trailing_metadata(&self) -> &Metadata {
        &self.trailing_metadata
    }
}

/// `err`, carrying the response headers too.
pub(crate) fn with_headers(mut err: RpcError, headers: &Metadata) -> RpcError {
    err.metadata_mut().extend(headers.clone());
    err
}

/// A single-response call that ended OK without its message.
pub(crate) fn no_response_message() -> RpcError {
    RpcError::internal("the server sent no response message")
}

/// Reads the one message of a single-response call and its end.
pub(crate) async fn single<Resp>(headers: Metadata, mut decoder: Decoder<Resp>) -> Result<Response<Resp>> {
    let fail = |err: RpcError| with_headers(err, &headers);
    let Some(message) = decoder.message().await.map_err(fail)? else {
        // Ended without a message: an error status, or OK, which is a protocol violation.
        decoder.finish().map_err(fail)?;
        return Err(no_response_message());
    };
    if decoder.message().await.map_err(fail)?.is_some() {
        return Err(RpcError::internal("the server sent more than one response message to a single-response call"));
    }
    let trailing = decoder.finish().map_err(fail)?;
    Ok(Response::new(message, headers, trailing))
}
