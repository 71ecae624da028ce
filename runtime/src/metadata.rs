//! Request and response metadata: the headers and trailers of a call.

use std::fmt;

use crate::headers::PROTOCOL_HEADERS;
use bytes::Bytes;
use tonic::metadata::{
    AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue, KeyAndValueRef, MetadataMap,
};

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
    map: MetadataMap,
}

/// A metadata key or value that gRPC does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid metadata {what} {text:?}: {reason}")]
pub struct MetadataError {
    what: &'static str,
    text: String,
    reason: &'static str,
}

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

    fn ascii_key(key: &str) -> Result<AsciiMetadataKey, MetadataError> {
        if key.ends_with("-bin") {
            return Err(MetadataError::key(key, "keys ending in -bin take binary values: use insert_bin"));
        }
        AsciiMetadataKey::from_bytes(key.as_bytes())
            .map_err(|_| MetadataError::key(key, "keys may hold only 0-9 a-z _ - ."))
    }

    fn binary_key(key: &str) -> Result<BinaryMetadataKey, MetadataError> {
        if !key.ends_with("-bin") {
            return Err(MetadataError::key(key, "binary values need a key ending in -bin"));
        }
        BinaryMetadataKey::from_bytes(key.as_bytes())
            .map_err(|_| MetadataError::key(key, "keys may hold only 0-9 a-z _ - ."))
    }

    fn ascii_value(value: &str) -> Result<AsciiMetadataValue, MetadataError> {
        AsciiMetadataValue::try_from(value).map_err(|_| MetadataError {
            what: "value",
            text: value.to_owned(),
            reason: "ASCII values may hold only printable ASCII (use a -bin key for other bytes)",
        })
    }

    /// Sets an ASCII value, replacing any values the key had.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        let key = Self::ascii_key(key)?;
        self.map.insert(key, Self::ascii_value(value)?);
        Ok(())
    }

    /// Adds an ASCII value, keeping any values the key already had.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        let key = Self::ascii_key(key)?;
        self.map.append(key, Self::ascii_value(value)?);
        Ok(())
    }

    /// Sets a binary value under a key ending in `-bin`, replacing any values the key had.
    pub fn insert_bin(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), MetadataError> {
        let key = Self::binary_key(key)?;
        self.map.insert_bin(key, BinaryMetadataValue::from_bytes(value.as_ref()));
        Ok(())
    }

    /// Adds a binary value under a key ending in `-bin`, keeping any values it already had.
    pub fn append_bin(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), MetadataError> {
        let key = Self::binary_key(key)?;
        self.map.append_bin(key, BinaryMetadataValue::from_bytes(value.as_ref()));
        Ok(())
    }

    /// The first ASCII value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(|v| v.to_str().ok())
    }

    /// All ASCII values of `key`, in order.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.map.get_all(key).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    /// The first binary value of `key` (which ends in `-bin`), decoded.
    pub fn get_bin(&self, key: &str) -> Option<Bytes> {
        self.map.get_bin(key).and_then(|v| v.to_bytes().ok())
    }

    /// Removes every value of `key`, ASCII or binary.
    pub fn remove(&mut self, key: &str) {
        if key.ends_with("-bin") {
            while self.map.remove_bin(key).is_some() {}
        } else {
            while self.map.remove(key).is_some() {}
        }
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        if key.ends_with("-bin") { self.map.get_bin(key).is_some() } else { self.map.contains_key(key) }
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
        self.map.iter().filter_map(|entry| match entry {
            KeyAndValueRef::Ascii(k, v) => v.to_str().ok().map(|v| (k.as_str(), MetadataValue::Ascii(v))),
            KeyAndValueRef::Binary(k, v) => v.to_bytes().ok().map(|v| (k.as_str(), MetadataValue::Binary(v))),
        })
    }

    /// Adds every value of `other` to `self`.
    pub fn extend(&mut self, other: Metadata) {
        for entry in other.map.iter() {
            match entry {
                KeyAndValueRef::Ascii(k, v) => {
                    self.map.append(k.clone(), v.clone());
                }
                KeyAndValueRef::Binary(k, v) => {
                    self.map.append_bin(k.clone(), v.clone());
                }
            }
        }
    }

    pub(crate) fn from_headers(headers: http::HeaderMap) -> Self {
        Metadata { map: MetadataMap::from_headers(headers) }
    }

    pub(crate) fn into_tonic(self) -> MetadataMap {
        self.map
    }

    /// The metadata as HTTP headers, without the headers gRPC reserves for itself.
    pub(crate) fn into_headers(self) -> http::HeaderMap {
        let mut headers = self.map.into_headers();
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
    pub(crate) fn from_received_headers(mut headers: http::HeaderMap) -> Metadata {
        if headers.keys().all(|name| PROTOCOL_HEADERS.contains(&name)) {
            return Metadata::new();
        }
        for reserved in PROTOCOL_HEADERS {
            headers.remove(reserved);
        }
        Metadata::from_headers(headers)
    }
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
        assert!(md.insert("bad key", "v").is_err());
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
}
