//! Conversions between rust-rpc's status types and tonic's (cargo feature `tonic`), for code
//! that moves between the two: `RpcError` and `tonic::Status`, `Code` and `tonic::Code`.
//!
//! A status keeps its code, message, `grpc-status-details-bin` payload (so rich error details
//! survive) and metadata, binary values included: both crates keep metadata as HTTP headers
//! with binary values in base64, so the headers move across as they are.

use bytes::Bytes;

use crate::{Code, Metadata, RpcError};

impl From<Code> for ::tonic::Code {
    fn from(code: Code) -> Self {
        ::tonic::Code::from_i32(code.as_i32())
    }
}

impl From<::tonic::Code> for Code {
    fn from(code: ::tonic::Code) -> Self {
        Code::from_i32(code as i32)
    }
}

/// ```
/// use rust_rpc::{Code, Metadata, RpcError};
///
/// let mut metadata = Metadata::new();
/// metadata.insert_bin("trace-bin", [0u8, 255])?;
/// let status = tonic::Status::from(RpcError::not_found("no such book").with_metadata(metadata));
/// assert_eq!(status.code(), tonic::Code::NotFound);
/// assert_eq!(status.message(), "no such book");
/// assert_eq!(status.metadata().get_bin("trace-bin").map(|v| v.to_bytes().unwrap()).as_deref(), Some(&[0u8, 255][..]));
/// let back = RpcError::from(status);
/// assert_eq!(back.code(), Code::NotFound);
/// # Ok::<(), rust_rpc::MetadataError>(())
/// ```
impl From<RpcError> for ::tonic::Status {
    fn from(err: RpcError) -> Self {
        let (code, message, metadata, details) = err.into_parts();
        let metadata = ::tonic::metadata::MetadataMap::from_headers(metadata.into_headers());
        ::tonic::Status::with_details_and_metadata(code.into(), message, details, metadata)
    }
}

/// A `tonic::Status` with [`tonic::Code::Ok`](::tonic::Code::Ok) is no error: it becomes
/// UNKNOWN, as [`RpcError::new`] makes any OK.
impl From<::tonic::Status> for RpcError {
    fn from(mut status: ::tonic::Status) -> Self {
        let headers = std::mem::take(status.metadata_mut()).into_headers();
        let err = RpcError::new(status.code().into(), status.message())
            .with_metadata(Metadata::from_received_headers(headers));
        if status.details().is_empty() {
            err
        } else {
            err.with_status_details(Bytes::copy_from_slice(status.details()))
        }
    }
}
