//! One gRPC-Web call: its request translated into the gRPC call the router serves (sent over
//! the loopback), and the answer translated back, the status in a last body frame.

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use h2::RecvStream;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body::Frame;
use hyper::body::Incoming;

use crate::RpcError;
use crate::server::response::{Body, plain_http};
use crate::server::web::codec::{Encoding, decode_text, trailers_frame};
use crate::server::web::cors::{Cors, Verdict};
use crate::server::web::loopback::Loopback;
use crate::wire::status;

/// Headers of one HTTP/1.1 hop that HTTP/2 forbids.
static HOP_BY_HOP: [HeaderName; 6] = [
    CONNECTION,
    TRANSFER_ENCODING,
    UPGRADE,
    TE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// What a connection's gRPC-Web calls share.
pub(crate) struct WebCalls {
    pub(crate) loopback: Loopback,
    pub(crate) cors: Cors,
    /// The largest request body read: one message at the server's receive limit, framed.
    pub(crate) max_body: usize,
}

/// Serves one gRPC-Web call whose content type says `encoding`.
pub(crate) async fn call(
    calls: Arc<WebCalls>,
    request: http::Request<Incoming>,
    encoding: Encoding,
) -> http::Response<Body> {
    if request.method() != http::Method::POST {
        return plain_http(StatusCode::METHOD_NOT_ALLOWED, "gRPC-Web requests use POST\n");
    }
    let granted = match calls.cors.check(request.headers()) {
        Verdict::Refused => return plain_http(StatusCode::FORBIDDEN, "this origin may not call this server\n"),
        Verdict::NoOrigin => HeaderMap::new(),
        Verdict::Allowed(headers) => headers,
    };
    let (parts, body) = request.into_parts();
    // gRPC-Web has requests of one message only (unary and server-streaming calls), so the body
    // is read whole before the call starts, up to a limit.
    let limit = match encoding {
        Encoding::Binary => calls.max_body,
        Encoding::Text => calls.max_body.saturating_add(2) / 3 * 4,
    };
    let body = match read_body(body, limit).await {
        Ok(body) => body,
        Err(err) => return error(err, encoding, granted),
    };
    let body = match encoding {
        Encoding::Binary => body,
        Encoding::Text => match decode_text(&body) {
            Ok(decoded) => Bytes::from(decoded),
            Err(bad) => return error(RpcError::internal(bad.0), encoding, granted),
        },
    };
    let inner = match grpc_request(parts) {
        Ok(inner) => inner,
        Err(err) => return error(err, encoding, granted),
    };
    let response = match send(&calls.loopback, inner, body).await {
        Ok(response) => response,
        Err(err) => return error(err, encoding, granted),
    };
    let (mut head, recv) = response.into_parts();
    if head.status != StatusCode::OK {
        return error(status::from_http(head.status), encoding, granted);
    }
    head.headers.insert(CONTENT_TYPE, encoding.content_type());
    head.headers.extend(granted);
    // Trailers-only (an error before any message): the status stays in the headers, as the
    // protocol allows.
    let body = if recv.is_end_stream() {
        Body::Empty
    } else {
        Body::Stream(Box::pin(WebBody { recv, encoding, state: State::Data }))
    };
    http::Response::from_parts(head, body)
}

/// A trailers-only gRPC-Web answer with the status of `err`.
fn error(err: RpcError, encoding: Encoding, granted: HeaderMap) -> http::Response<Body> {
    let mut response = http::Response::new(Body::Empty);
    let headers = response.headers_mut();
    *headers = granted;
    headers.insert(CONTENT_TYPE, encoding.content_type());
    status::put_error(headers, err);
    response
}

/// The request body, whole, unless it grows past `limit`.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Bytes, RpcError> {
    let mut buf = BytesMut::new();
    while let Some(frame) = poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await {
        let frame = frame.map_err(|e| RpcError::internal(format!("reading the gRPC-Web request failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(RpcError::resource_exhausted(format!(
                    "gRPC-Web request body larger than the server's limit of {limit} bytes"
                )));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// The gRPC request for the same method, with the same metadata.
fn grpc_request(parts: http::request::Parts) -> Result<http::Request<()>, RpcError> {
    let mut headers = parts.headers;
    let authority = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .and_then(|a| http::uri::Authority::try_from(a).ok())
        .unwrap_or_else(|| http::uri::Authority::from_static("localhost"));
    let path = parts.uri.path_and_query().cloned().unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let uri = http::Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|e| RpcError::internal(format!("bad gRPC-Web request target: {e}")))?;
    for name in HOP_BY_HOP.iter().chain([&HOST, &CONTENT_LENGTH]) {
        headers.remove(name);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Sends the call over the loopback and waits for its response's head.
async fn send(
    loopback: &Loopback,
    request: http::Request<()>,
    body: Bytes,
) -> Result<http::Response<RecvStream>, RpcError> {
    let mut sender = loopback.ready().await?;
    let failed = |e: h2::Error| status::from_h2(&e, None);
    let (response, mut stream) = sender.send_request(request, body.is_empty()).map_err(failed)?;
    if !body.is_empty() {
        // The stream's window is the server's (1 MiB by default), its connection's larger: a
        // body over it waits in h2's buffer until the server reads it.
        stream.send_data(body, true).map_err(failed)?;
    }
    response.await.map_err(failed)
}

enum State {
    Data,
    Trailers,
    Done,
}

/// The gRPC response body as gRPC-Web: its messages as they come, then the trailers as a frame;
/// all in base64 for `application/grpc-web-text`.
struct WebBody {
    recv: RecvStream,
    encoding: Encoding,
    state: State,
}

impl WebBody {
    fn status_frame(&mut self, trailers: &HeaderMap) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.state = State::Done;
        Poll::Ready(Some(Ok(Frame::data(self.encoding.encode(trailers_frame(trailers))))))
    }
}

impl http_body::Body for WebBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            match this.state {
                State::Data => match this.recv.poll_data(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(chunk))) => {
                        let _ = this.recv.flow_control().release_capacity(chunk.len());
                        if chunk.is_empty() {
                            continue;
                        }
                        return Poll::Ready(Some(Ok(Frame::data(this.encoding.encode(chunk)))));
                    }
                    Poll::Ready(Some(Err(e))) => {
                        return this.status_frame(&status::error_trailers(status::from_h2(&e, None)));
                    }
                    Poll::Ready(None) => this.state = State::Trailers,
                },
                State::Trailers => {
                    return match this.recv.poll_trailers(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(Ok(Some(trailers))) => this.status_frame(&trailers),
                        Poll::Ready(Ok(None)) => this.status_frame(&status::error_trailers(RpcError::internal(
                            "the call ended without a status",
                        ))),
                        Poll::Ready(Err(e)) => this.status_frame(&status::error_trailers(status::from_h2(&e, None))),
                    };
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }
}
