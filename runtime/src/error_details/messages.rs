//! The messages of googleapis' `google/rpc/error_details.proto`, written out by hand with prost's
//! derive: names, field numbers and types as upstream, including the fields added since the
//! first release (`BadRequest.FieldViolation.reason` and `localized_message`, the quota fields
//! of `QuotaFailure.Violation`).
//!
//! Maps are `BTreeMap`s rather than prost's default `HashMap`, so that the same details always
//! encode to the same bytes.

use std::collections::BTreeMap;

/// Implements `prost::Name` for a `google.rpc` message, with the `type.googleapis.com/` type URL
/// every gRPC library packs these details under (prost's default would be a bare `/`).
macro_rules! google_rpc_name {
    ($($ty:ty => $name:literal,)*) => {
        $(
            impl prost::Name for $ty {
                const NAME: &'static str = $name;
                const PACKAGE: &'static str = "google.rpc";

                fn type_url() -> String {
                    format!("type.googleapis.com/google.rpc.{}", $name)
                }
            }
        )*
    };
}

google_rpc_name! {
    ErrorInfo => "ErrorInfo",
    RetryInfo => "RetryInfo",
    DebugInfo => "DebugInfo",
    QuotaFailure => "QuotaFailure",
    quota_failure::Violation => "QuotaFailure.Violation",
    PreconditionFailure => "PreconditionFailure",
    precondition_failure::Violation => "PreconditionFailure.Violation",
    BadRequest => "BadRequest",
    bad_request::FieldViolation => "BadRequest.FieldViolation",
    RequestInfo => "RequestInfo",
    ResourceInfo => "ResourceInfo",
    Help => "Help",
    help::Link => "Help.Link",
    LocalizedMessage => "LocalizedMessage",
}

/// `google.rpc.ErrorInfo`: why the call failed, as a machine-readable reason within a domain,
/// with key/value context.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ErrorInfo {
    /// The reason, a constant in `UPPER_SNAKE_CASE` unique within `domain` (say
    /// `API_DISABLED`).
    #[prost(string, tag = "1")]
    pub reason: String,
    /// The logical group `reason` belongs to, usually the service's name
    /// (say `pubsub.googleapis.com`).
    #[prost(string, tag = "2")]
    pub domain: String,
    /// More context; keys are `lowerCamelCase` and at most 64 characters.
    #[prost(btree_map = "string, string", tag = "3")]
    pub metadata: BTreeMap<String, String>,
}

/// `google.rpc.RetryInfo`: how long the client should wait before retrying the same request.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RetryInfo {
    /// The least time to wait before retrying.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<prost_types::Duration>,
}

/// `google.rpc.DebugInfo`: where the failure happened, for the service's developers.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct DebugInfo {
    /// The stack trace at the failure.
    #[prost(string, repeated, tag = "1")]
    pub stack_entries: Vec<String>,
    /// Any other debugging text from the server.
    #[prost(string, tag = "2")]
    pub detail: String,
}

/// `google.rpc.QuotaFailure`: which quotas a request exceeded.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct QuotaFailure {
    /// One entry per quota exceeded.
    #[prost(message, repeated, tag = "1")]
    pub violations: Vec<quota_failure::Violation>,
}

/// The nested messages of [`QuotaFailure`].
pub mod quota_failure {
    use std::collections::BTreeMap;

    /// `google.rpc.QuotaFailure.Violation`: one exceeded quota.
    #[derive(Clone, PartialEq, Eq, prost::Message)]
    pub struct Violation {
        /// What the quota applies to (say `project:my-project` or `clientip:192.0.2.1`).
        #[prost(string, tag = "1")]
        pub subject: String,
        /// Why the quota was exceeded, and how to get more.
        #[prost(string, tag = "2")]
        pub description: String,
        /// The API service the quota belongs to (say `pubsub.googleapis.com`).
        #[prost(string, tag = "3")]
        pub api_service: String,
        /// The metric the quota counts.
        #[prost(string, tag = "4")]
        pub quota_metric: String,
        /// The id of the quota that was exceeded.
        #[prost(string, tag = "5")]
        pub quota_id: String,
        /// The dimensions of the quota (say `region` to `us-central1`).
        #[prost(btree_map = "string, string", tag = "6")]
        pub quota_dimensions: BTreeMap<String, String>,
        /// The quota's value when the request was refused.
        #[prost(int64, tag = "7")]
        pub quota_value: i64,
        /// The quota's new value while a change to it is being rolled out, if one is.
        #[prost(int64, optional, tag = "8")]
        pub future_quota_value: Option<i64>,
    }
}

/// `google.rpc.PreconditionFailure`: which preconditions of the request failed.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PreconditionFailure {
    /// One entry per failed precondition.
    #[prost(message, repeated, tag = "1")]
    pub violations: Vec<precondition_failure::Violation>,
}

/// The nested messages of [`PreconditionFailure`].
pub mod precondition_failure {
    /// `google.rpc.PreconditionFailure.Violation`: one failed precondition.
    #[derive(Clone, PartialEq, Eq, prost::Message)]
    pub struct Violation {
        /// The kind of precondition, a service-specific constant (say `TOS` for terms of
        /// service).
        #[prost(string, tag = "1")]
        pub r#type: String,
        /// What failed the precondition, relative to `type` (say `google.com/cloud`).
        #[prost(string, tag = "2")]
        pub subject: String,
        /// How the precondition failed, and how to fix it.
        #[prost(string, tag = "3")]
        pub description: String,
    }
}

/// `google.rpc.BadRequest`: which fields of the request are invalid.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BadRequest {
    /// One entry per invalid field.
    #[prost(message, repeated, tag = "1")]
    pub field_violations: Vec<bad_request::FieldViolation>,
}

/// The nested messages of [`BadRequest`].
pub mod bad_request {
    use super::LocalizedMessage;

    /// `google.rpc.BadRequest.FieldViolation`: one invalid field.
    #[derive(Clone, PartialEq, Eq, prost::Message)]
    pub struct FieldViolation {
        /// The path to the field, in the request's field names joined with `.`, with `[i]` for
        /// an element of a repeated field (say `book.authors[2].name`).
        #[prost(string, tag = "1")]
        pub field: String,
        /// Why the field is invalid.
        #[prost(string, tag = "2")]
        pub description: String,
        /// The reason, a constant in `UPPER_SNAKE_CASE` in the domain of the call's
        /// [`ErrorInfo`](super::ErrorInfo), if it has one.
        #[prost(string, tag = "3")]
        pub reason: String,
        /// `description` in the user's language.
        #[prost(message, optional, tag = "4")]
        pub localized_message: Option<LocalizedMessage>,
    }
}

/// `google.rpc.RequestInfo`: which request failed, for a bug report or a support ticket.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RequestInfo {
    /// The id the service gave the request, to find it in its logs.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// Any data the service used to serve the request (say an encrypted stack trace).
    #[prost(string, tag = "2")]
    pub serving_data: String,
}

/// `google.rpc.ResourceInfo`: the resource the call was refused access to.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ResourceInfo {
    /// The kind of resource (say `sql table`, or a type URL).
    #[prost(string, tag = "1")]
    pub resource_type: String,
    /// The resource's name.
    #[prost(string, tag = "2")]
    pub resource_name: String,
    /// Its owner, if known.
    #[prost(string, tag = "3")]
    pub owner: String,
    /// What went wrong with it (say `updating a cloud project needs writer permission`).
    #[prost(string, tag = "4")]
    pub description: String,
}

/// `google.rpc.Help`: links to documentation on the failure.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Help {
    /// The links.
    #[prost(message, repeated, tag = "1")]
    pub links: Vec<help::Link>,
}

/// The nested messages of [`Help`].
pub mod help {
    /// `google.rpc.Help.Link`: one link.
    #[derive(Clone, PartialEq, Eq, prost::Message)]
    pub struct Link {
        /// What the link points to.
        #[prost(string, tag = "1")]
        pub description: String,
        /// The URL.
        #[prost(string, tag = "2")]
        pub url: String,
    }
}

/// `google.rpc.LocalizedMessage`: an error message for the end user, in their language.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LocalizedMessage {
    /// The message's locale, as in BCP 47 (say `en-US`, `fr-CH`).
    #[prost(string, tag = "1")]
    pub locale: String,
    /// The message, in that locale.
    #[prost(string, tag = "2")]
    pub message: String,
}
