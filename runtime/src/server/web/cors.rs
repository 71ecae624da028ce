//! CORS for gRPC-Web: which origins may call, the answer to a preflight, and the headers that
//! let an allowed page read a response.

use std::time::Duration;

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::server::response::{Body, plain_http};

/// The headers every allowed page may read: a call's status, whether it came in the headers
/// (trailers-only) or not.
const ALWAYS_EXPOSED: &str = "grpc-status,grpc-message,grpc-status-details-bin";

/// The CORS policy: nothing allowed unless chosen.
#[derive(Clone, Debug)]
pub(crate) struct Cors {
    pub(crate) origins: Vec<String>,
    pub(crate) allow_any: bool,
    pub(crate) expose: Vec<String>,
    pub(crate) credentials: bool,
    pub(crate) max_age: Duration,
}

impl Default for Cors {
    fn default() -> Self {
        Cors {
            origins: Vec::new(),
            allow_any: false,
            expose: Vec::new(),
            credentials: false,
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// What the policy says of a request's `Origin`.
pub(crate) enum Verdict {
    /// No `Origin`: not a cross-origin browser request; no CORS headers.
    NoOrigin,
    /// Allowed: the response carries these CORS headers.
    Allowed(HeaderMap),
    /// Refused: HTTP 403.
    Refused,
}

impl Cors {
    pub(crate) fn allow_origin(&mut self, origin: String) {
        // Browsers send an origin without a trailing slash and with a lower-case scheme and host.
        self.origins.push(origin.trim_end_matches('/').to_ascii_lowercase());
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        if self.allow_any {
            return true;
        }
        let Ok(origin) = origin.to_str() else { return false };
        self.origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }

    /// The headers that let an allowed origin read a response.
    fn granted(&self, origin: &HeaderValue) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        // The answer depends on the origin: caches must keep one per origin.
        headers.insert(VARY, HeaderValue::from_static("origin"));
        if self.credentials {
            headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        headers
    }

    /// Judges a call's `Origin`; an allowed one gets the headers that let its page read the
    /// status and the listed metadata.
    pub(crate) fn check(&self, request: &HeaderMap) -> Verdict {
        let Some(origin) = request.get(ORIGIN) else { return Verdict::NoOrigin };
        if !self.allows(origin) {
            return Verdict::Refused;
        }
        let mut headers = self.granted(origin);
        let mut exposed = String::from(ALWAYS_EXPOSED);
        for name in &self.expose {
            exposed.push(',');
            exposed.push_str(name);
        }
        if let Ok(value) = HeaderValue::from_str(&exposed) {
            headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
        Verdict::Allowed(headers)
    }

    /// Answers a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): 204
    /// with the grant for an allowed origin asking to POST, else 403 (or 400 when it is no
    /// preflight at all).
    pub(crate) fn preflight(&self, request: &HeaderMap) -> http::Response<Body> {
        let (Some(origin), Some(method)) = (request.get(ORIGIN), request.get(ACCESS_CONTROL_REQUEST_METHOD)) else {
            return plain_http(StatusCode::BAD_REQUEST, "OPTIONS is answered only as a CORS preflight\n");
        };
        if !self.allows(origin) {
            return plain_http(StatusCode::FORBIDDEN, "this origin may not call this server\n");
        }
        if method.as_bytes() != Method::POST.as_str().as_bytes() {
            return plain_http(StatusCode::FORBIDDEN, "gRPC-Web calls use POST\n");
        }
        let mut response = http::Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        *headers = self.granted(origin);
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
        // gRPC-Web's protocol: allow whatever headers the preflight asks for (metadata is the
        // user's to choose); the origin is what the policy decides.
        if let Some(asked) = request.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(self.max_age.as_secs()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).expect("origin"));
        headers
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let cors = Cors::default();
        assert!(matches!(cors.check(&request("https://evil.example")), Verdict::Refused));
        assert!(matches!(cors.check(&HeaderMap::new()), Verdict::NoOrigin));
    }

    #[test]
    fn a_listed_origin_reads_status_and_listed_headers() {
        let mut cors = Cors { expose: vec!["x-request-id".into()], ..Cors::default() };
        cors.allow_origin("https://App.example.com/".into());
        let Verdict::Allowed(headers) = cors.check(&request("https://app.example.com")) else {
            panic!("a listed origin is allowed")
        };
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        assert_eq!(
            headers[ACCESS_CONTROL_EXPOSE_HEADERS],
            "grpc-status,grpc-message,grpc-status-details-bin,x-request-id"
        );
        assert!(matches!(cors.check(&request("https://app.example.com.evil")), Verdict::Refused));
    }

    #[test]
    fn preflight_grants_post_and_the_asked_headers_to_allowed_origins_only() {
        let cors = Cors { allow_any: true, ..Cors::default() };
        let mut asked = request("https://any.example");
        asked.insert(ACCESS_CONTROL_REQUEST_METHOD, HeaderValue::from_static("POST"));
        asked.insert(ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_static("content-type,x-grpc-web"));
        let response = cors.preflight(&asked);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_HEADERS], "content-type,x-grpc-web");
        assert_eq!(response.headers()[ACCESS_CONTROL_MAX_AGE], "86400");

        let strict = Cors::default();
        assert_eq!(strict.preflight(&asked).status(), StatusCode::FORBIDDEN);
        assert_eq!(strict.preflight(&HeaderMap::new()).status(), StatusCode::BAD_REQUEST);
    }
}
