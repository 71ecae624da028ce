//! One HTTP/2 exchange on a channel: take a connection, open a stream with the request's
//! headers, send its body, and wait for the response's headers. A request the connection could
//! not take is retried once on a fresh connection (gRPC's transparent retry).

use std::task::Poll;

use crate::client::response_body::ResponseBody;
use crate::client::send_body::{BoxBody, SendBody, SendBodyError};
use crate::wire::headers::GRPC_STATUS;
use crate::wire::status;
use crate::{Channel, RpcError};

/// How the error of a stream the server refused before processing it begins (REFUSED_STREAM,
/// or a stream above a GOAWAY's last one): gRPC may retry such a call transparently
/// (`retry/attempt.rs`).
pub(crate) const UNPROCESSED: &str = "the server did not process the request";

/// What a request sends after its headers.
pub(crate) enum Outgoing {
    /// The messages of a streaming or compressed call (`request_body.rs`).
    Body(BoxBody),
    /// The one message frame of a unary call (see `unary.rs`), sent with END_STREAM.
    Frame(bytes::Bytes),
}

impl Channel {
    /// Sends a request and gives the response once its headers arrive. `wait` waits for the
    /// channel to connect instead of failing fast.
    pub(crate) async fn send(
        &self,
        mut head: http::request::Parts,
        body: Outgoing,
        wait: bool,
    ) -> Result<http::Response<ResponseBody>, RpcError> {
        strip_connection_headers(&mut head.headers);
        head.headers.insert(http::header::USER_AGENT, self.user_agent().clone());
        let mut head = Some(head);
        // A request the connection cannot take (it is closing: GOAWAY, e.g. the server
        // restarted, or it is gone) is retried once on a fresh connection, as gRPC's transparent
        // retry allows.
        for _attempt in 0..2 {
            let connection = self.pick(wait).await?;
            let mut sender = connection.sender();
            if let Err(err) = std::future::poll_fn(|cx| sender.poll_ready(cx)).await {
                self.forget(&connection);
                // The server refusing the channel's client certificate (TLS 1.3 tells it after
                // the handshake) fails the call at once: a retry would be refused the same way.
                if let Some(refused) = tls_refusal(&err, self.authority()) {
                    return Err(refused);
                }
                continue;
            }
            let Some(head) = head.take() else { break };
            let end_of_stream = match &body {
                Outgoing::Body(body) => body.is_end_stream(),
                Outgoing::Frame(_) => false,
            };
            let open = connection.open_call();
            // `poll_ready` just succeeded in this same poll, so this fails only if the connection
            // broke in between (on another thread); the head is gone then, and the call fails
            // UNAVAILABLE without a retry.
            let (response, stream) = match sender.send_request(http::Request::from_parts(head, ()), end_of_stream) {
                Ok(sent) => sent,
                Err(err) => {
                    self.forget(&connection);
                    return Err(connection_failure(&err, self.authority()));
                }
            };
            drop(sender);
            let request_sender = match body {
                _ if end_of_stream => None,
                Outgoing::Body(body) => send_body(body, stream).await?,
                Outgoing::Frame(frame) => {
                    let mut stream = stream;
                    // Needs no capacity: h2 holds the frame until the stream opens and sends it
                    // with the headers (see `SendBody`). A failure here is the response's too.
                    let _ = stream.send_data(frame, true);
                    None
                }
            };
            let response = response.await.map_err(|err| response_failure(&err, self.authority()))?;
            if response.status() != http::StatusCode::OK && !response.headers().contains_key(&GRPC_STATUS) {
                return Err(status::from_http(response.status()));
            }
            return Ok(response.map(|stream| ResponseBody::new(stream, request_sender, open)));
        }
        Err(RpcError::unavailable(format!("the connection to {} closed before the request was sent", self.authority())))
    }
}

/// The status of a call whose response failed to come: UNAVAILABLE marked [`UNPROCESSED`] if
/// the server refused the stream before processing it, else as [`connection_failure`].
fn response_failure(err: &h2::Error, authority: &str) -> RpcError {
    let refused = err.reason() == Some(h2::Reason::REFUSED_STREAM) && err.is_remote();
    let above_goaway = err.is_go_away() && err.is_remote() && err.reason() == Some(h2::Reason::NO_ERROR);
    if refused || above_goaway {
        return RpcError::unavailable(format!("{UNPROCESSED} ({err}); {authority} may be going away"));
    }
    connection_failure(err, authority)
}

/// The status of a call whose connection failed under it.
fn connection_failure(err: &h2::Error, authority: &str) -> RpcError {
    tls_refusal(err, authority).unwrap_or_else(|| status::from_h2(err, Some(authority)))
}

/// UNAVAILABLE saying which certificate was refused and why, when a TLS alert about one ended
/// the connection.
#[cfg(feature = "tls")]
fn tls_refusal(err: &h2::Error, authority: &str) -> Option<RpcError> {
    use crate::transport::tls_failure;

    let tls = err.get_io().and_then(tls_failure::rustls_error_of)?;
    let why = tls_failure::explain(&tls, authority)?;
    Some(RpcError::unavailable(format!("connection to {authority} failed: {why}")))
}

/// Without TLS no certificate is refused.
#[cfg(not(feature = "tls"))]
fn tls_refusal(_err: &h2::Error, _authority: &str) -> Option<RpcError> {
    None
}

/// Sends the request body: in place what is ready now, the rest (a streaming request) on a task.
/// Gives the handle that keeps that task going, if there is one.
async fn send_body(
    body: BoxBody,
    stream: h2::SendStream<bytes::Bytes>,
) -> Result<Option<tokio::sync::oneshot::Sender<()>>, RpcError> {
    let mut send = SendBody::new(body, stream);
    // One pass with the caller's context: a `Pending` leaves the caller's waker registered
    // with the body and the stream, which only costs a spurious wake-up once the task below
    // takes over.
    match std::future::poll_fn(|cx| Poll::Ready(send.poll_send(cx))).await {
        Poll::Ready(Ok(())) => Ok(None),
        Poll::Ready(Err(SendBodyError::Body(err))) => Err(err),
        // The response future carries the same failure, with the server's status if the server
        // reset the stream after answering.
        Poll::Ready(Err(SendBodyError::Stream)) => Ok(None),
        Poll::Pending => {
            let (request_sender, receiver_gone) = tokio::sync::oneshot::channel();
            send.spawn(receiver_gone);
            Ok(Some(request_sender))
        }
    }
}

/// Removes the headers HTTP/2 forbids (RFC 9113, 8.2.2), as hyper did: h2 refuses a request
/// that has any. Only user metadata could bring one.
///
/// One pass looks for them first: removing each name unconditionally hashed six names per call
/// (measurable per call), and a request almost never has any.
fn strip_connection_headers(headers: &mut http::HeaderMap) {
    const FORBIDDEN: [&str; 5] = ["connection", "transfer-encoding", "upgrade", "keep-alive", "proxy-connection"];
    let te_other_than_trailers =
        |name: &http::HeaderName, value: &http::HeaderValue| name == http::header::TE && value != "trailers";
    if !headers.iter().any(|(name, value)| FORBIDDEN.contains(&name.as_str()) || te_other_than_trailers(name, value)) {
        return;
    }
    for name in FORBIDDEN {
        headers.remove(name);
    }
    if headers.get(http::header::TE).is_some_and(|te| te != "trailers") {
        headers.remove(http::header::TE);
    }
}
