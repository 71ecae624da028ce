//! Rich error details: the standard `google.rpc` detail messages, carried in a
//! `google.rpc.Status` in the `grpc-status-details-bin` trailer, as grpc-go's `status.WithDetails`
//! and `status.Details()` and Python's grpcio-status (`rpc_status.to_status`,
//! `rpc_status.from_call`) send and read them.
//!
//! The messages are those of googleapis' `google/rpc/error_details.proto` ([`ErrorInfo`],
//! [`RetryInfo`], [`BadRequest`], ...), with upstream's names and field numbers; each implements
//! [`prost::Name`], so `ErrorInfo::type_url()` is `type.googleapis.com/google.rpc.ErrorInfo`.
//! [`ErrorDetail`] is one detail of any of those types, or [`ErrorDetail::Other`] for any other
//! message, as the `Any` it travels in.
//!
//! On [`RpcError`](crate::RpcError):
//! - [`with_error_details`](crate::RpcError::with_error_details) attaches details (a server
//!   returning the error sends them);
//! - [`error_details`](crate::RpcError::error_details) reads them all back, in order;
//! - [`error_detail::<M>`](crate::RpcError::error_detail) gets the first detail of one type.
//!
//! The raw `google.rpc.Status` remains available as [`RichStatus`](crate::RichStatus) through
//! [`rich_status`](crate::RpcError::rich_status), and its bytes through
//! [`status_details`](crate::RpcError::status_details).
//!
//! ```
//! use std::time::Duration;
//!
//! use rust_rpc::{Code, RpcError};
//! use rust_rpc::error_details::{BadRequest, ErrorDetail, RetryInfo, bad_request::FieldViolation};
//!
//! // A servicer fails the call with details...
//! let sent = RpcError::invalid_argument("the request has an invalid field").with_error_details([
//!     ErrorDetail::from(BadRequest {
//!         field_violations: vec![FieldViolation {
//!             field: "name".into(),
//!             description: "must not be empty".into(),
//!             ..Default::default()
//!         }],
//!     }),
//!     RetryInfo { retry_delay: rust_rpc::prost_types::Duration::try_from(Duration::from_secs(2)).ok() }.into(),
//! ]);
//!
//! // ...and the client's `RpcError` carries the same status details bytes.
//! let received = RpcError::new(sent.code(), sent.details()).with_status_details(sent.status_details().to_vec());
//! assert_eq!(received.code(), Code::InvalidArgument);
//! let bad_request = received.error_detail::<BadRequest>().expect("a BadRequest detail");
//! assert_eq!(bad_request.field_violations[0].description, "must not be empty");
//! let retry = received.error_detail::<RetryInfo>().and_then(|info| info.retry_delay);
//! assert_eq!(retry.map(|delay| delay.seconds), Some(2));
//! assert_eq!(received.error_details().len(), 2);
//! ```

mod detail;
mod messages;
mod rpc_error;

pub use detail::ErrorDetail;
pub use messages::{
    BadRequest, DebugInfo, ErrorInfo, Help, LocalizedMessage, PreconditionFailure, QuotaFailure, RequestInfo,
    ResourceInfo, RetryInfo, bad_request, help, precondition_failure, quota_failure,
};
