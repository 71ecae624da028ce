//! Request and response metadata: the headers and trailers of a call.

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::wire::headers::PROTOCOL_HEADERS;

/// Binary values as gRPC sends them: standard base64 without padding, read with or without it
/// (grpc-go, C-core and Python all send unpadded; some proxies pad).
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The metadata of a call: key-value pairs sent as HTTP/2 headers or trailers.
///
/// Keys are case-insensitive and stored lower-case. Keys ending in `-bin` carry binary values
/// (base64 on the wire, raw bytes here); all other keys carry printable ASCII values. A key may
/// appear more than once.
///
/// ```
/// use rust_rpc::Metadata;
///
/// let mut md = Metadata::new();
/// md.insert("x-request-id", "42")?;
/// md.insert_bin("trace-bin", b"\x00\x01")?;
/// assert_eq!(md.get("x-request-id"), Some("42"));
/// assert_eq!(md.get_bin("trace-bin").as_deref(), Some(&b"\x00\x01"[..]));
/// // A binary value under an ASCII key is refused, with a reason.
/// assert!(md.insert_bin("plain", b"x").is_err());
/// # Ok::<(), rust_rpc::MetadataError>(())
/// ```
#[derive(Clone, Default)]
pub struct Metadata {
    map: HeaderMap,
}

/// A metadata key or value that gRPC does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    what: &'static str,
    text: String,
    reason: &'static str,
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid metadata {} {:?}: {}", self.what, self.text, self.reason)
    }
}

impl std::error::Error for MetadataError {}

impl MetadataError {
    fn key(key: &str, reason: &'static str) -> Self {
        MetadataError { what: "key", text: key.to_owned(), reason }
    }
}

/// One metadata value, as yielded by [`Metadata::iter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataValue<'a> {
    /// The value of an ASCII key.
    Ascii(&'a str),
    /// The decoded value of a `-bin` key.
    Binary(Bytes),
}

impl Metadata {
    /// An empty set of metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// A key as gRPC allows it (`0-9 a-z _ - .`, upper case folded), binary or not as asked.
    fn key(key: &str, binary: bool) -> Result<HeaderName, MetadataError> {
        let lower = key.to_ascii_lowercase();
        // On the folded key: `X-Trace-BIN` is sent as `x-trace-bin`, a binary key.
        if lower.ends_with("-bin") != binary {
            let reason = if binary {
                "binary values need a key ending in -bin"
            } else {
                "keys ending in -bin take binary values: use insert_bin"
            };
            return Err(MetadataError::key(key, reason));
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.');
        if lower.is_empty() || !lower.bytes().all(allowed) {
            return Err(MetadataError::key(key, "keys may hold only 0-9 a-z _ - ."));
        }
        HeaderName::from_bytes(lower.as_bytes())
            .map_err(|_| MetadataError::key(key, "keys may hold only 0-9 a-z _ - ."))
    }

    /// gRPC's ASCII-Value, space and printable ASCII (%x20-%x7E). `HeaderValue::from_str` alone
    /// would also pass tabs and bytes past ASCII, which grpc-go refuses to send.
    fn ascii_value(value: &str) -> Result<HeaderValue, MetadataError> {
        let printable = value.bytes().all(|b| (b' '..=b'~').contains(&b));
        printable.then(|| HeaderValue::from_str(value).ok()).flatten().ok_or_else(|| MetadataError {
            what: "value",
            text: value.to_owned(),
            reason: "ASCII values may hold only printable ASCII (use a -bin key for other bytes)",
        })
    }

    /// Sets an ASCII value, replacing any values the key had.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        let key = Self::key(key, false)?;
        self.map.insert(key, Self::ascii_value(value)?);
        Ok(())
    }

    /// Adds an ASCII value, keeping any values the key already had.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        let key = Self::key(key, false)?;
        self.map.append(key, Self::ascii_value(value)?);
        Ok(())
    }

    /// Sets a binary value under a key ending in `-bin`, replacing any values the key had.
    pub fn insert_bin(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), MetadataError> {
        let key = Self::key(key, true)?;
        self.map.insert(key, encode_binary(value.as_ref()));
        Ok(())
    }

    /// Adds a binary value under a key ending in `-bin`, keeping any values it already had.
    pub fn append_bin(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), MetadataError> {
        let key = Self::key(key, true)?;
        self.map.append(key, encode_binary(value.as_ref()));
        Ok(())
    }

    /// The first ASCII value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        if key.ends_with("-bin") {
            return None;
        }
        self.map.get(key).and_then(|v| v.to_str().ok())
    }

    /// All ASCII values of `key`, in order.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        if key.ends_with("-bin") {
            return Vec::new();
        }
        self.map.get_all(key).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    /// The first binary value of `key` (which ends in `-bin`), decoded.
    pub fn get_bin(&self, key: &str) -> Option<Bytes> {
        if !key.ends_with("-bin") {
            return None;
        }
        self.map.get(key).and_then(|v| decode_binary(v.as_bytes()))
    }

    /// Removes every value of `key`, ASCII or binary.
    pub fn remove(&mut self, key: &str) {
        self.map.remove(key);
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every key and value, in insertion order per key. Binary values that are not valid base64
    /// on the wire are skipped.
    pub fn iter(&self) -> impl Iterator<Item = (&str, MetadataValue<'_>)> + '_ {
        self.map.iter().filter_map(|(key, value)| {
            let key = key.as_str();
            if key.ends_with("-bin") {
                decode_binary(value.as_bytes()).map(|v| (key, MetadataValue::Binary(v)))
            } else {
                value.to_str().ok().map(|v| (key, MetadataValue::Ascii(v)))
            }
        })
    }

    /// Adds every value of `other` to `self`.
    pub fn extend(&mut self, other: Metadata) {
        if self.map.is_empty() {
            self.map = other.map;
            return;
        }
        // `HeaderMap::extend` would replace keys `self` has; metadata adds to them.
        let mut key = None;
        for (name, value) in other.map {
            if let Some(name) = name {
                key = Some(name);
            }
            if let Some(key) = &key {
                self.map.append(key.clone(), value);
            }
        }
    }

    pub(crate) fn from_headers(headers: HeaderMap) -> Self {
        Metadata { map: headers }
    }

    /// The metadata as HTTP headers, without the headers gRPC reserves for itself.
    pub(crate) fn into_headers(self) -> HeaderMap {
        let mut headers = self.map;
        if !headers.is_empty() {
            for reserved in PROTOCOL_HEADERS {
                headers.remove(reserved);
            }
        }
        headers
    }

    /// The metadata in headers received (a request's headers; a response's headers or
    /// trailers): all but the protocol's own, which grpc-go and Python keep from applications
    /// too. Headers with nothing else, the usual response, cost no removals.
    pub(crate) fn from_received_headers(mut headers: HeaderMap) -> Metadata {
        if headers.keys().all(|name| PROTOCOL_HEADERS.contains(&name)) {
            return Metadata::new();
        }
        for reserved in PROTOCOL_HEADERS {
            headers.remove(reserved);
        }
        Metadata::from_headers(headers)
    }
}

/// A binary value as sent: base64.
pub(crate) fn encode_binary(value: &[u8]) -> HeaderValue {
    // Base64 is printable ASCII, which is always a valid header value.
    HeaderValue::from_maybe_shared(Bytes::from(BASE64.encode(value))).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A received binary value, decoded; `None` if it is not base64.
pub(crate) fn decode_binary(value: &[u8]) -> Option<Bytes> {
    BASE64.decode(value).ok().map(Bytes::from)
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_case_folded() {
        let mut md = Metadata::new();
        md.insert("X-Upper", "v").expect("valid key");
        assert_eq!(md.get("x-upper"), Some("v"));
        let err = md.insert("bad key", "v").expect_err("a space in a key");
        assert!(err.to_string().starts_with("invalid metadata key \"bad key\": "), "{err}");
        assert!(md.insert("k", "line\nbreak").is_err());
        assert!(md.insert("k-bin", "v").is_err());
        md.append("k", "1").expect("valid");
        md.append("k", "2").expect("valid");
        assert_eq!(md.get_all("k"), vec!["1", "2"]);
        md.remove("k");
        assert!(!md.contains_key("k"));
    }

    #[test]
    fn binary_values_round_trip_through_headers() {
        let mut md = Metadata::new();
        md.insert_bin("blob-bin", [0u8, 255, 10]).expect("valid");
        let back = Metadata::from_headers(md.into_headers());
        assert_eq!(back.get_bin("blob-bin").as_deref(), Some(&[0u8, 255, 10][..]));
    }

    #[test]
    fn binary_values_are_unpadded_base64_and_read_either_way() {
        let mut md = Metadata::new();
        md.insert_bin("one-bin", [0xffu8]).expect("valid");
        assert_eq!(md.clone().into_headers()["one-bin"], "/w");
        let mut headers = http::HeaderMap::new();
        headers.insert("padded-bin", HeaderValue::from_static("/w=="));
        headers.insert("bad-bin", HeaderValue::from_static("not base64!"));
        let received = Metadata::from_headers(headers);
        assert_eq!(received.get_bin("padded-bin").as_deref(), Some(&[0xffu8][..]));
        assert_eq!(received.get_bin("bad-bin"), None);
        assert_eq!(received.iter().count(), 1, "the bad value is skipped");
    }

    #[test]
    fn keys_follow_grpcs_rules() {
        let mut md = Metadata::new();
        for good in ["a", "x-request-id", "a.b_c-d", "0"] {
            md.insert(good, "v").unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["", "a b", "a:b", "a/b", "caf\u{e9}", "a!"] {
            assert!(md.insert(bad, "v").is_err(), "{bad:?}");
        }
        assert!(md.get("x-request-id").is_some());
        assert_eq!(md.get("one-bin"), None, "ASCII reads never see binary keys");
        md.append("k", "1").expect("valid");
        let mut other = Metadata::new();
        other.append("k", "2").expect("valid");
        md.extend(other);
        assert_eq!(md.get_all("k"), ["1", "2"], "extend adds to existing keys");
    }
}
