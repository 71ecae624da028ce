//! The gRPC status for an HTTP/2 failure on the client.

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
