//! A call's status on the wire, for both sides: the server writes it into the trailers (or into
//! the headers of a trailers-only response), the client reads it back. Also the status of a
//! call that never got one: a reset stream, a lost connection, an HTTP error.
//!
//! Encoding follows gRPC's `doc/PROTOCOL-HTTP2.md`: `grpc-status` is the decimal code,
//! `grpc-message` is percent-encoded UTF-8, `grpc-status-details-bin` is base64 (an encoded
//! `google.rpc.Status`).

use http::{HeaderMap, HeaderValue};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, percent_encode};

use crate::metadata::{decode_binary, encode_binary};
use crate::wire::headers::{GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN};
use crate::{Code, Metadata, RpcError};

/// What `grpc-message` percent-encodes: every byte outside printable ASCII, and `%` itself.
const MESSAGE_ENCODED: &AsciiSet = &CONTROLS.add(b'%');

/// `grpc-status` values, by code.
const CODE_VALUES: [&str; 17] =
    ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"];

/// The trailers of a call that ends OK: `trailing` metadata and `grpc-status: 0`.
pub(crate) fn ok_trailers(trailing: Metadata) -> HeaderMap {
    let mut trailers = if trailing.is_empty() { HeaderMap::with_capacity(1) } else { trailing.into_headers() };
    trailers.insert(&GRPC_STATUS, HeaderValue::from_static("0"));
    trailers
}

/// The trailers of a call that ends with `err`.
pub(crate) fn error_trailers(err: RpcError) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    put_error(&mut trailers, err);
    trailers
}

/// Writes `err` into `headers`: its metadata (replacing any values of the same keys), then
/// `grpc-status`, `grpc-message` and `grpc-status-details-bin`.
pub(crate) fn put_error(headers: &mut HeaderMap, err: RpcError) {
    let (code, message, metadata, details) = err.into_parts();
    if !metadata.is_empty() {
        headers.extend(metadata.into_headers());
    }
    let index = usize::try_from(code.as_i32()).unwrap_or(2);
    headers.insert(&GRPC_STATUS, HeaderValue::from_static(CODE_VALUES.get(index).copied().unwrap_or("2")));
    if !message.is_empty() {
        let encoded = percent_encode(message.as_bytes(), MESSAGE_ENCODED).to_string();
        // Percent-encoding leaves only printable ASCII, which is always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&encoded) {
            headers.insert(&GRPC_MESSAGE, value);
        }
    }
    if !details.is_empty() {
        headers.insert(&GRPC_STATUS_DETAILS_BIN, encode_binary(&details));
    }
}

/// The status in received trailers, or in the headers of a trailers-only response: `Ok` for OK,
/// else the error, carrying the other headers as its metadata.
pub(crate) fn check(headers: &HeaderMap) -> Result<(), RpcError> {
    match headers.get(&GRPC_STATUS) {
        Some(status) if status == "0" => Ok(()),
        Some(status) => Err(read_error(status, headers)),
        // As grpc-go and tonic say it: an HTTP 200 that ends without a status.
        None => Err(RpcError::new(
            Code::Unknown,
            "protocol error: missing grpc-status trailer, stream was terminated without a final status",
        )),
    }
}

#[cold]
fn read_error(status: &HeaderValue, headers: &HeaderMap) -> RpcError {
    let code = parse_code(status.as_bytes());
    // grpc-go keeps a message that is not UTF-8; so do we, with the bad bytes replaced.
    let message = headers
        .get(&GRPC_MESSAGE)
        .map(|value| percent_decode(value.as_bytes()).decode_utf8_lossy().into_owned())
        .unwrap_or_default();
    let metadata = Metadata::from_received_headers(headers.clone());
    let err = match headers.get(&GRPC_STATUS_DETAILS_BIN) {
        None => RpcError::new(code, message),
        Some(value) => match decode_binary(value.as_bytes()) {
            Some(details) => RpcError::new(code, message).with_status_details(details),
            // grpc-go's answer to details that are not base64.
            None => RpcError::internal(format!(
                "protocol error: malformed grpc-status-details-bin with status {}: {message}",
                String::from_utf8_lossy(status.as_bytes())
            )),
        },
    };
    err.with_metadata(metadata)
}

/// The code a `grpc-status` value names: one or two decimal digits, no leading zero; anything
/// else is UNKNOWN, as in tonic and grpc-java.
fn parse_code(value: &[u8]) -> Code {
    match *value {
        [d] if d.is_ascii_digit() => Code::from_i32(i32::from(d - b'0')),
        [t @ b'1'..=b'9', d] if d.is_ascii_digit() => Code::from_i32(i32::from(t - b'0') * 10 + i32::from(d - b'0')),
        // Folding every digit overflowed on long values (found by `fuzz_received_status`).
        _ => Code::Unknown,
    }
}

/// gRPC's code for an HTTP/2 `RST_STREAM` or `GOAWAY` reason (`doc/PROTOCOL-HTTP2.md`,
/// "Errors"); `None` for reasons the table leaves out (`STREAM_CLOSED`, unknown ones).
fn code_for_reason(reason: h2::Reason) -> Option<Code> {
    use h2::Reason;
    match reason {
        Reason::NO_ERROR
        | Reason::PROTOCOL_ERROR
        | Reason::INTERNAL_ERROR
        | Reason::FLOW_CONTROL_ERROR
        | Reason::SETTINGS_TIMEOUT
        | Reason::FRAME_SIZE_ERROR
        | Reason::COMPRESSION_ERROR
        | Reason::CONNECT_ERROR => Some(Code::Internal),
        Reason::REFUSED_STREAM => Some(Code::Unavailable),
        Reason::CANCEL => Some(Code::Cancelled),
        Reason::ENHANCE_YOUR_CALM => Some(Code::ResourceExhausted),
        Reason::INADEQUATE_SECURITY => Some(Code::PermissionDenied),
        _ => None,
    }
}

/// The status of a client call that an h2 failure ended: a reset with a gRPC meaning gets its
/// code (CANCEL is CANCELLED, REFUSED_STREAM UNAVAILABLE, ...); anything else (the server's
/// GOAWAY, the connection lost, an I/O error) is a transport failure, UNAVAILABLE. `authority`, when known, names the
/// server in the message.
pub(crate) fn from_h2(err: &h2::Error, authority: Option<&str>) -> RpcError {
    // The server's GOAWAY ended the stream: it was above the GOAWAY's last stream (never
    // processed), or the connection closed after the GOAWAY under it. UNAVAILABLE whatever the
    // GOAWAY's code (NO_ERROR for a graceful one), as grpc-go reports both: not the
    // RST_STREAM table's INTERNAL for NO_ERROR.
    if err.is_go_away() && err.is_remote() {
        let server = authority.map_or_else(String::new, |authority| format!(" ({authority})"));
        return RpcError::unavailable(format!("the server{server} is going away (GOAWAY): {err}"));
    }
    if let Some(code) = err.reason().and_then(code_for_reason) {
        return RpcError::new(code, format!("h2 protocol error: {err}"));
    }
    match authority {
        Some(authority) => RpcError::unavailable(format!("connection to {authority} failed: h2 protocol error: {err}")),
        None => RpcError::unavailable(format!("the connection failed: h2 protocol error: {err}")),
    }
}

/// The status of a server call whose request body failed: the client reset the stream (CANCEL
/// is CANCELLED), or the connection went.
pub(crate) fn from_hyper(err: &hyper::Error) -> RpcError {
    if err.is_timeout() {
        return RpcError::unavailable(err.to_string());
    }
    if err.is_canceled() {
        return RpcError::cancelled(err.to_string());
    }
    let reason = std::error::Error::source(err).and_then(|source| source.downcast_ref::<h2::Error>());
    match reason {
        Some(h2) => {
            let code = h2.reason().and_then(code_for_reason).unwrap_or(Code::Unknown);
            RpcError::new(code, format!("h2 protocol error: {err}"))
        }
        None => RpcError::unknown(err.to_string()),
    }
}

/// The status of a response with an HTTP status other than 200 and no `grpc-status`: gRPC's
/// mapping (`doc/http-grpc-status-mapping.md`), decided from the headers as grpc-go does, before
/// any of the body (an error page, say) is read as messages.
pub(crate) fn from_http(status: http::StatusCode) -> RpcError {
    let code = match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    };
    RpcError::new(code, format!("the server answered with HTTP status {status} and no gRPC status"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_survives_the_round_trip_through_trailers() {
        let mut metadata = Metadata::new();
        metadata.insert("k", "v").expect("valid");
        metadata.insert_bin("blob-bin", [0u8, 1, 255]).expect("valid");
        let message = "100% \u{263a} \t\n\u{1f608} done";
        let err = RpcError::aborted(message).with_metadata(metadata).with_status_details(&b"\x08\x0a"[..]);
        let trailers = error_trailers(err);
        assert_eq!(trailers[&GRPC_STATUS], "10");
        // Printable ASCII stays as it is; `%`, control characters and UTF-8 are encoded.
        assert_eq!(trailers[&GRPC_MESSAGE], "100%25 %E2%98%BA %09%0A%F0%9F%98%88 done");
        let back = check(&trailers).expect_err("an error");
        assert_eq!(back.code(), Code::Aborted);
        assert_eq!(back.details(), message);
        assert_eq!(back.metadata().get("k"), Some("v"));
        assert_eq!(back.metadata().get_bin("blob-bin").as_deref(), Some(&[0u8, 1, 255][..]));
        assert!(!back.metadata().contains_key("grpc-status"), "{:?}", back.metadata());
        assert_eq!(back.status_details(), b"\x08\x0a");
        assert_eq!(back.rich_status().map(|s| s.code), Some(10));
    }

    #[test]
    fn ok_and_every_code_read_back() {
        assert!(check(&ok_trailers(Metadata::new())).is_ok());
        for code in Code::ALL.into_iter().skip(1) {
            let back = check(&error_trailers(RpcError::new(code, ""))).expect_err("an error");
            assert_eq!(back.code(), code);
        }
    }

    #[test]
    fn odd_statuses_are_unknown_and_bad_details_internal() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            check(&headers).expect_err("an error")
        };
        for odd in ["17", "-1", "01", "x", "", "123", "1 "] {
            assert_eq!(with(&[("grpc-status", odd)]).code(), Code::Unknown, "{odd:?}");
        }
        assert_eq!(with(&[]).code(), Code::Unknown);
        // Not UTF-8 once decoded: kept, with the bad byte replaced.
        assert_eq!(with(&[("grpc-status", "5"), ("grpc-message", "a%FFb")]).details(), "a\u{fffd}b");
        let bad = with(&[("grpc-status", "5"), ("grpc-status-details-bin", "not base64!")]);
        assert_eq!(bad.code(), Code::Internal, "{bad}");
    }

    #[test]
    fn resets_map_as_the_protocol_says() {
        assert_eq!(code_for_reason(h2::Reason::CANCEL), Some(Code::Cancelled));
        assert_eq!(code_for_reason(h2::Reason::REFUSED_STREAM), Some(Code::Unavailable));
        assert_eq!(code_for_reason(h2::Reason::ENHANCE_YOUR_CALM), Some(Code::ResourceExhausted));
        assert_eq!(code_for_reason(h2::Reason::INADEQUATE_SECURITY), Some(Code::PermissionDenied));
        assert_eq!(code_for_reason(h2::Reason::PROTOCOL_ERROR), Some(Code::Internal));
        assert_eq!(code_for_reason(h2::Reason::STREAM_CLOSED), None);
        assert_eq!(from_h2(&h2::Error::from(h2::Reason::CANCEL), Some("x:1")).code(), Code::Cancelled);
        assert_eq!(from_h2(&h2::Error::from(h2::Reason::STREAM_CLOSED), Some("x:1")).code(), Code::Unavailable);
    }
}
