//! The gRPC status of a call on the client: from its trailers, an HTTP/2 failure, or an HTTP
//! status.

use crate::headers::GRPC_STATUS;
use crate::{Code, Result, RpcError};

/// The status in a response's trailers: `Ok` for OK, else the error, as tonic reads it.
///
/// A plain `grpc-status: 0` is read here; tonic's parser (grpc-message decoding, status
/// details, a copy of the trailers as metadata) was about 1.5k instructions a call, only needed
/// for errors.
pub(crate) fn check_status(trailers: &http::HeaderMap) -> Result<()> {
    if trailers.get(&GRPC_STATUS).is_some_and(|status| status == "0") {
        return Ok(());
    }
    match tonic::Status::from_header_map(trailers) {
        Some(status) if status.code() == tonic::Code::Ok => Ok(()),
        Some(status) => Err(RpcError::from_tonic(status)),
        // As tonic (and grpc-go) say it: an HTTP 200 that ends without a status.
        None => Err(RpcError::new(
            Code::Unknown,
            "protocol error: missing grpc-status trailer, stream was terminated without a final status",
        )),
    }
}

/// The status of a call that `err` ended. Stream resets map through tonic's table of RST_STREAM
/// reasons (CANCEL is CANCELLED, REFUSED_STREAM UNAVAILABLE, ...); what it cannot classify (the
/// connection was lost, an I/O error) is a transport failure: UNAVAILABLE. `authority`, when
/// known, names the server in that message.
pub(crate) fn status_from_h2(err: h2::Error, authority: Option<&str>) -> tonic::Status {
    let status = tonic::Status::from_error(Box::new(err));
    if status.code() != tonic::Code::Unknown {
        return status;
    }
    match authority {
        Some(authority) => {
            tonic::Status::unavailable(format!("connection to {authority} failed: {}", status.message()))
        }
        None => tonic::Status::unavailable(format!("the connection failed: {}", status.message())),
    }
}

/// The status of a response with an HTTP status other than 200 and no `grpc-status`: gRPC's
/// mapping (doc/http-grpc-status-mapping.md), decided from the headers as grpc-go does, before
/// any of the body (an error page, say) is read as messages.
pub(crate) fn status_from_http(status: http::StatusCode) -> tonic::Status {
    let code = match status.as_u16() {
        400 => tonic::Code::Internal,
        401 => tonic::Code::Unauthenticated,
        403 => tonic::Code::PermissionDenied,
        404 => tonic::Code::Unimplemented,
        429 | 502..=504 => tonic::Code::Unavailable,
        _ => tonic::Code::Unknown,
    };
    tonic::Status::new(code, format!("the server answered with HTTP status {status} and no gRPC status"))
}
