//! `ErrorDetail`: one detail of a `google.rpc.Status`, typed when it is a standard one.

use prost::Name;
use prost_types::Any;

use super::messages::{
    BadRequest, DebugInfo, ErrorInfo, Help, LocalizedMessage, PreconditionFailure, QuotaFailure, RequestInfo,
    ResourceInfo, RetryInfo,
};

macro_rules! error_detail {
    ($($(#[$doc:meta])* $variant:ident,)*) => {
        /// One detail of a rich error: a standard `google.rpc` detail, typed, or any other
        /// message as the [`Any`] it travels in.
        ///
        /// Every standard detail converts into one with `From`, so a list of details reads
        /// `[ErrorDetail::from(bad_request), error_info.into()]`.
        ///
        /// New standard details may become variants in later releases (a detail decoded as
        /// [`Other`](ErrorDetail::Other) today may then decode as its own variant), hence
        /// `#[non_exhaustive]`.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum ErrorDetail {
            $(
                $(#[$doc])*
                $variant($variant),
            )*
            /// A detail of any other type (or a standard one whose bytes did not decode),
            /// exactly as received: its type URL and encoded message.
            Other(Any),
        }

        impl ErrorDetail {
            /// The detail in `any`: a typed variant when its type URL names a standard detail
            /// and its bytes decode as that message; otherwise [`Other`](ErrorDetail::Other),
            /// with `any` unchanged, so nothing received is lost.
            pub fn from_any(any: Any) -> ErrorDetail {
                $(
                    if let Ok(detail) = any.to_msg::<$variant>() {
                        return ErrorDetail::$variant(detail);
                    }
                )*
                ErrorDetail::Other(any)
            }

            /// The detail packed as an [`Any`], under its `type.googleapis.com/` type URL (an
            /// [`Other`](ErrorDetail::Other) is returned as it is).
            pub fn to_any(&self) -> Any {
                match self {
                    $(ErrorDetail::$variant(detail) => pack(detail),)*
                    ErrorDetail::Other(any) => any.clone(),
                }
            }

            /// The type URL the detail is packed under, such as
            /// `type.googleapis.com/google.rpc.BadRequest`.
            pub fn type_url(&self) -> String {
                match self {
                    $(ErrorDetail::$variant(_) => $variant::type_url(),)*
                    ErrorDetail::Other(any) => any.type_url.clone(),
                }
            }
        }

        $(
            impl From<$variant> for ErrorDetail {
                fn from(detail: $variant) -> ErrorDetail {
                    ErrorDetail::$variant(detail)
                }
            }
        )*
    };
}

error_detail! {
    /// `google.rpc.ErrorInfo`: a machine-readable reason.
    ErrorInfo,
    /// `google.rpc.RetryInfo`: when to retry.
    RetryInfo,
    /// `google.rpc.DebugInfo`: a stack trace and debugging text.
    DebugInfo,
    /// `google.rpc.QuotaFailure`: the quotas exceeded.
    QuotaFailure,
    /// `google.rpc.PreconditionFailure`: the preconditions that failed.
    PreconditionFailure,
    /// `google.rpc.BadRequest`: the invalid fields of the request.
    BadRequest,
    /// `google.rpc.RequestInfo`: which request failed.
    RequestInfo,
    /// `google.rpc.ResourceInfo`: the resource concerned.
    ResourceInfo,
    /// `google.rpc.Help`: links to documentation.
    Help,
    /// `google.rpc.LocalizedMessage`: a message for the end user.
    LocalizedMessage,
}

impl From<Any> for ErrorDetail {
    /// The same as [`ErrorDetail::from_any`].
    fn from(any: Any) -> ErrorDetail {
        ErrorDetail::from_any(any)
    }
}

/// `message` as an `Any` under its type URL. (`Any::from_msg` does the same but returns a
/// `Result`, though encoding into a `Vec` cannot fail.)
pub(super) fn pack<M: Name>(message: &M) -> Any {
    Any { type_url: M::type_url(), value: message.encode_to_vec() }
}
