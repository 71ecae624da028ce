//! The server's HTTP responses: the body type it hands hyper, the head of a gRPC response, a
//! trailers-only error, and plain HTTP errors for requests that are not gRPC at all.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderValue;
use http_body::{Frame, SizeHint};

use crate::server::unary_body::UnaryBody;
use crate::wire::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING};
use crate::wire::status;
use crate::{Compression, Metadata, RpcError};

/// A response body: nothing (trailers-only), a text (plain HTTP errors), one message
/// (`UnaryBody`), or a stream of messages (`StreamBody`, generic over the message type).
///
/// Two words and a tag: hyper moves the body several times on its way to the connection, and
/// with a `UnaryBody` inline (a frame and a header map, about 130 bytes) those copies cost more
/// per call than the one allocation of the box (measured with callgrind; BENCHMARKS.md).
pub(crate) enum Body {
    Empty,
    Text(Option<&'static str>),
    Unary(Box<UnaryBody>),
    Stream(Pin<Box<dyn http_body::Body<Data = Bytes, Error = Infallible> + Send>>),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Text(text) => {
                Poll::Ready(text.take().map(|text| Ok(Frame::data(Bytes::from_static(text.as_bytes())))))
            }
            Body::Unary(body) => Pin::new(&mut **body).poll_frame(cx),
            Body::Stream(body) => body.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Text(text) => text.is_none(),
            Body::Unary(body) => body.is_end_stream(),
            Body::Stream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Text(text) => SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64)),
            Body::Unary(body) => body.size_hint(),
            Body::Stream(body) => body.size_hint(),
        }
    }
}

/// The head of a gRPC response: `initial` metadata, the content type, the encodings this server
/// reads, and the one the response messages are in.
pub(crate) fn grpc_response(body: Body, initial: Metadata, compression: Option<Compression>) -> http::Response<Body> {
    let mut response = http::Response::new(body);
    let headers = response.headers_mut();
    *headers = initial.into_headers();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(&GRPC_ACCEPT_ENCODING, HeaderValue::from_static(Compression::ACCEPT_ENCODING));
    if let Some(compression) = compression {
        headers.insert(&GRPC_ENCODING, HeaderValue::from_static(compression.as_str()));
    }
    response
}

/// A trailers-only response: the status of `err`, with `initial` metadata in the same header
/// block.
pub(crate) fn error_response(err: RpcError, initial: Metadata) -> http::Response<Body> {
    let mut response = grpc_response(Body::Empty, initial, None);
    status::put_error(response.headers_mut(), err);
    response
}

/// A plain HTTP error, for a request that is not gRPC.
pub(crate) fn plain_http(status: http::StatusCode, text: &'static str) -> http::Response<Body> {
    let mut response = http::Response::new(Body::Text(Some(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
