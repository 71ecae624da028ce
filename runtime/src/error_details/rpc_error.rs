//! The rich-details methods of `RpcError`: details in, details out, through the
//! `google.rpc.Status` of `grpc-status-details-bin`.

use prost::{Message, Name};

use super::detail::ErrorDetail;
use crate::error::{RichStatus, RpcError};

impl RpcError {
    /// Attaches rich error details: sets the status details (`grpc-status-details-bin`) to a
    /// `google.rpc.Status` with this error's code and message and `details`, each packed as an
    /// `Any`. Replaces any status details set before.
    ///
    /// Set the code and message first (they cannot change afterwards): grpcio-status's
    /// `from_call` refuses a status whose code or message differs from the call's.
    ///
    /// ```
    /// use rust_rpc::RpcError;
    /// use rust_rpc::error_details::{ErrorDetail, ErrorInfo, RequestInfo};
    ///
    /// let err = RpcError::unavailable("backend is restarting").with_error_details([
    ///     ErrorDetail::from(ErrorInfo { reason: "RESTARTING".into(), domain: "example.com".into(), ..Default::default() }),
    ///     RequestInfo { request_id: "r-42".into(), ..Default::default() }.into(),
    /// ]);
    /// let status = err.rich_status().expect("details were set");
    /// assert_eq!(status.code, 14);
    /// assert_eq!(status.message, "backend is restarting");
    /// assert_eq!(status.details[1].type_url, "type.googleapis.com/google.rpc.RequestInfo");
    /// ```
    pub fn with_error_details<D: Into<ErrorDetail>>(self, details: impl IntoIterator<Item = D>) -> RpcError {
        let status = RichStatus {
            code: self.code().as_i32(),
            message: self.details().to_owned(),
            details: details.into_iter().map(|detail| detail.into().to_any()).collect(),
        };
        self.with_status_details(status.encode_to_vec())
    }

    /// The rich error details, in the order they were sent.
    ///
    /// A standard detail comes back typed; a detail of any other type, or a standard one whose
    /// bytes do not decode as its type, comes back as [`ErrorDetail::Other`], unchanged. The
    /// list is empty when the error has no status details, or when they are not a
    /// `google.rpc.Status` at all; [`status_details`](RpcError::status_details) still holds the
    /// raw bytes then. The status's own code and message are not compared with the call's.
    ///
    /// ```
    /// use rust_rpc::RpcError;
    /// use rust_rpc::error_details::{BadRequest, ErrorDetail, bad_request::FieldViolation};
    ///
    /// # let err = RpcError::invalid_argument("bad name").with_error_details([BadRequest {
    /// #     field_violations: vec![FieldViolation { field: "name".into(), description: "empty".into(), ..Default::default() }],
    /// # }]);
    /// let details = err.error_details();
    /// assert_eq!(details.len(), 1);
    /// let ErrorDetail::BadRequest(bad) = &details[0] else { panic!("not a BadRequest: {:?}", details[0]) };
    /// assert_eq!(bad.field_violations[0].field, "name");
    /// ```
    pub fn error_details(&self) -> Vec<ErrorDetail> {
        match self.rich_status() {
            Some(status) => status.details.into_iter().map(ErrorDetail::from_any).collect(),
            None => Vec::new(),
        }
    }

    /// The first detail of type `M` that decodes, if any: one of the standard details of
    /// [`error_details`](crate::error_details), or any message of your own that implements
    /// [`prost::Name`] (its type URL is matched on the full name after the last `/`).
    ///
    /// ```
    /// use rust_rpc::RpcError;
    /// use rust_rpc::error_details::{Help, RetryInfo, help::Link};
    ///
    /// let err = RpcError::resource_exhausted("slow down").with_error_details([Help {
    ///     links: vec![Link { description: "limits".into(), url: "https://example.com/limits".into() }],
    /// }]);
    /// assert_eq!(err.error_detail::<Help>().expect("a Help detail").links[0].url, "https://example.com/limits");
    /// assert_eq!(err.error_detail::<RetryInfo>(), None);
    /// ```
    pub fn error_detail<M: Name + Default>(&self) -> Option<M> {
        self.rich_status()?.details.iter().find_map(|any| any.to_msg::<M>().ok())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use prost::{Message, Name};
    use prost_types::{Any, Duration};

    use super::*;
    use crate::Code;
    use crate::error_details::{
        BadRequest, DebugInfo, ErrorInfo, Help, LocalizedMessage, PreconditionFailure, QuotaFailure, RequestInfo,
        ResourceInfo, RetryInfo, bad_request, help, precondition_failure, quota_failure,
    };

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// One of every standard detail, every field set to a value other than its default.
    fn every_detail() -> Vec<ErrorDetail> {
        vec![
            ErrorInfo {
                reason: "API_DISABLED".into(),
                domain: "example.com".into(),
                metadata: map(&[("service", "books")]),
            }
            .into(),
            RetryInfo { retry_delay: Some(Duration { seconds: 3, nanos: 500 }) }.into(),
            DebugInfo { stack_entries: vec!["a.rs:1".into(), "b.rs:2".into()], detail: "boom".into() }.into(),
            QuotaFailure {
                violations: vec![quota_failure::Violation {
                    subject: "project:p".into(),
                    description: "daily limit".into(),
                    api_service: "books.example.com".into(),
                    quota_metric: "books.example.com/reads".into(),
                    quota_id: "ReadsPerDay".into(),
                    quota_dimensions: map(&[("region", "eu"), ("tier", "free")]),
                    quota_value: 100,
                    future_quota_value: Some(0),
                }],
            }
            .into(),
            PreconditionFailure {
                violations: vec![precondition_failure::Violation {
                    r#type: "TOS".into(),
                    subject: "example.com/books".into(),
                    description: "terms not accepted".into(),
                }],
            }
            .into(),
            BadRequest {
                field_violations: vec![bad_request::FieldViolation {
                    field: "book.title".into(),
                    description: "empty".into(),
                    reason: "TITLE_EMPTY".into(),
                    localized_message: Some(LocalizedMessage { locale: "fr-CH".into(), message: "vide".into() }),
                }],
            }
            .into(),
            RequestInfo { request_id: "r-1".into(), serving_data: "s".into() }.into(),
            ResourceInfo {
                resource_type: "book".into(),
                resource_name: "books/1".into(),
                owner: "user:a".into(),
                description: "locked".into(),
            }
            .into(),
            Help { links: vec![help::Link { description: "docs".into(), url: "https://example.com/help".into() }] }
                .into(),
            LocalizedMessage { locale: "de".into(), message: "ungültig".into() }.into(),
        ]
    }

    #[test]
    fn every_standard_detail_round_trips_typed_in_order() {
        let err = RpcError::invalid_argument("bad book").with_error_details(every_detail());
        assert_eq!(err.error_details(), every_detail());

        let status = err.rich_status().expect("a google.rpc.Status");
        assert_eq!(status.code, Code::InvalidArgument.as_i32());
        assert_eq!(status.message, "bad book");
        let urls: Vec<_> = status.details.iter().map(|any| any.type_url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "type.googleapis.com/google.rpc.ErrorInfo",
                "type.googleapis.com/google.rpc.RetryInfo",
                "type.googleapis.com/google.rpc.DebugInfo",
                "type.googleapis.com/google.rpc.QuotaFailure",
                "type.googleapis.com/google.rpc.PreconditionFailure",
                "type.googleapis.com/google.rpc.BadRequest",
                "type.googleapis.com/google.rpc.RequestInfo",
                "type.googleapis.com/google.rpc.ResourceInfo",
                "type.googleapis.com/google.rpc.Help",
                "type.googleapis.com/google.rpc.LocalizedMessage",
            ]
        );
        let from_variants: Vec<_> = every_detail().iter().map(ErrorDetail::type_url).collect();
        assert_eq!(from_variants, urls);
    }

    #[test]
    fn field_numbers_match_upstream() {
        // Hand-encoded FieldViolation: field 1 "f", 3 "R", 4 { 1 "en", 2 "m" }; a wrong tag in
        // the derive would leave a field empty.
        let bytes = b"\x0a\x01f\x1a\x01R\x22\x07\x0a\x02en\x12\x01m";
        let violation = bad_request::FieldViolation::decode(&bytes[..]).expect("decodes");
        assert_eq!(violation.field, "f");
        assert_eq!(violation.reason, "R");
        assert_eq!(violation.localized_message, Some(LocalizedMessage { locale: "en".into(), message: "m".into() }));
        // QuotaFailure.Violation: 7 = 5 (varint), 8 = 0 present (proto3 optional).
        let violation = quota_failure::Violation::decode(&b"\x38\x05\x40\x00"[..]).expect("decodes");
        assert_eq!((violation.quota_value, violation.future_quota_value), (5, Some(0)));
        assert_eq!(quota_failure::Violation::type_url(), "type.googleapis.com/google.rpc.QuotaFailure.Violation");
    }

    #[test]
    fn the_typed_getter_finds_the_first_of_its_type() {
        let first = ErrorInfo { reason: "FIRST".into(), ..Default::default() };
        let second = ErrorInfo { reason: "SECOND".into(), ..Default::default() };
        let err = RpcError::aborted("x").with_error_details([
            ErrorDetail::from(RequestInfo::default()),
            first.clone().into(),
            second.into(),
        ]);
        assert_eq!(err.error_detail::<ErrorInfo>(), Some(first));
        assert_eq!(err.error_detail::<RequestInfo>(), Some(RequestInfo::default()));
        assert_eq!(err.error_detail::<BadRequest>(), None);
        assert_eq!(RpcError::aborted("no details").error_detail::<ErrorInfo>(), None);
    }

    #[test]
    fn unknown_types_are_kept_and_can_be_read_with_their_own_type() {
        // Any message with a prost::Name, here a well-known type.
        let custom = Any::from_msg(&Duration { seconds: 7, nanos: 0 }).expect("encodes");
        let err = RpcError::internal("x").with_error_details([ErrorDetail::Other(custom.clone())]);
        assert_eq!(err.error_details(), [ErrorDetail::Other(custom.clone())]);
        assert_eq!(err.error_detail::<Duration>(), Some(Duration { seconds: 7, nanos: 0 }));
        assert_eq!(ErrorDetail::from(custom).type_url(), "type.googleapis.com/google.protobuf.Duration");
    }

    #[test]
    fn an_undecodable_standard_detail_is_kept_as_other() {
        // Named ErrorInfo, but field 1 claims 9 bytes and has 1.
        let broken = Any { type_url: ErrorInfo::type_url(), value: b"\x0a\x09x".to_vec() };
        let err = RpcError::internal("x")
            .with_error_details([ErrorDetail::Other(broken.clone()), RequestInfo::default().into()]);
        assert_eq!(err.error_details(), [ErrorDetail::Other(broken), RequestInfo::default().into()]);
        assert_eq!(err.error_detail::<ErrorInfo>(), None);
    }

    #[test]
    fn details_that_are_not_a_status_give_no_details() {
        let err = RpcError::internal("x").with_status_details(&b"\xff\xff\xff"[..]);
        assert_eq!(err.error_details(), []);
        assert_eq!(err.error_detail::<ErrorInfo>(), None);
        assert_eq!(err.status_details(), b"\xff\xff\xff");
        assert!(RpcError::internal("no details").error_details().is_empty());
    }

    #[test]
    fn with_error_details_replaces_and_encodes_deterministically() {
        let info = ErrorInfo { metadata: map(&[("b", "2"), ("a", "1"), ("c", "3")]), ..Default::default() };
        let once = RpcError::internal("x").with_error_details([info.clone()]);
        let again = RpcError::internal("x").with_error_details([RequestInfo::default()]).with_error_details([info]);
        assert_eq!(once.status_details(), again.status_details());
        assert_eq!(again.error_details().len(), 1);
    }
}
