//! gRPC-Web's wire differences from gRPC (grpc/grpc `doc/PROTOCOL-WEB.md`): its content types,
//! the base64 of `application/grpc-web-text` both ways, and the status sent as a last frame of
//! the body (flag `0x80`) instead of HTTP trailers.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue};

/// The flag byte of the trailers frame: the most significant bit set, uncompressed.
const TRAILERS_FLAG: u8 = 0x80;

/// Decodes base64 with or without padding: a text body's last chunk may come either way.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The two forms of gRPC-Web.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/grpc-web`: the gRPC framing as it is.
    Binary,
    /// `application/grpc-web-text`: the same bytes in base64.
    Text,
}

/// What a request's `content-type` says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ContentType {
    /// Not gRPC-Web at all (plain gRPC, or anything else).
    Other,
    /// gRPC-Web with a message format this server speaks (protobuf).
    Web(Encoding),
    /// Claims gRPC-Web but is malformed or names a message format other than protobuf.
    Unsupported,
}

impl ContentType {
    /// Reads `content-type`: `application/grpc-web` or `application/grpc-web-text`, with an
    /// optional `+proto` and parameters after `;`.
    pub(crate) fn of(headers: &HeaderMap) -> ContentType {
        let Some(value) = headers.get(http::header::CONTENT_TYPE) else { return ContentType::Other };
        let value = value.as_bytes();
        let Some(rest) = value.strip_prefix(b"application/grpc-web") else { return ContentType::Other };
        let (encoding, rest) = match rest.strip_prefix(b"-text") {
            Some(rest) => (Encoding::Text, rest),
            None => (Encoding::Binary, rest),
        };
        let format = rest.split(|&b| b == b';').next().unwrap_or_default();
        match format {
            b"" | b"+proto" => ContentType::Web(encoding),
            _ => ContentType::Unsupported,
        }
    }
}

impl Encoding {
    /// The response's content type.
    pub(crate) fn content_type(self) -> HeaderValue {
        match self {
            Encoding::Binary => HeaderValue::from_static("application/grpc-web+proto"),
            Encoding::Text => HeaderValue::from_static("application/grpc-web-text+proto"),
        }
    }

    /// A chunk of the response body as it goes out: as it is, or in base64 (each chunk padded
    /// on its own, as the protocol allows: a client decodes chunk by chunk).
    pub(crate) fn encode(self, chunk: Bytes) -> Bytes {
        match self {
            Encoding::Binary => chunk,
            Encoding::Text => Bytes::from(general_purpose::STANDARD.encode(&chunk)),
        }
    }
}

/// A text body that is not base64.
#[derive(Debug)]
pub(crate) struct MalformedText(pub(crate) String);

/// Decodes an `application/grpc-web-text` request body: base64, possibly in several padded
/// chunks one after the other (a client may encode each message, or each write, on its own).
pub(crate) fn decode_text(body: &[u8]) -> Result<Vec<u8>, MalformedText> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3);
    let mut rest = body;
    while !rest.is_empty() {
        // A chunk ends after its padding (`=` or `==`) or with the body.
        let end = match rest.iter().position(|&b| b == b'=') {
            None => rest.len(),
            Some(pad) => pad + rest[pad..].iter().take_while(|&&b| b == b'=').count(),
        };
        let (chunk, next) = rest.split_at(end);
        LENIENT
            .decode_vec(chunk, &mut out)
            .map_err(|e| MalformedText(format!("malformed application/grpc-web-text body: not base64 ({e})")))?;
        rest = next;
    }
    Ok(out)
}

/// The trailers frame: the flag, the length, and the trailers as an HTTP/1 header block
/// (`name: value\r\n` each, names in lower case as `http` keeps them).
pub(crate) fn trailers_frame(trailers: &HeaderMap) -> Bytes {
    let len: usize = trailers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    let mut frame = BytesMut::with_capacity(5 + len);
    frame.put_u8(TRAILERS_FLAG);
    frame.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    for (name, value) in trailers {
        frame.put_slice(name.as_str().as_bytes());
        frame.put_slice(b": ");
        frame.put_slice(value.as_bytes());
        frame.put_slice(b"\r\n");
    }
    frame.freeze()
}

/// A message frame (flag 0, uncompressed) around `message`, for tests and clients.
#[cfg(test)]
fn message_frame(message: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    crate::wire::frame::put_prefix(&mut frame, false, u32::try_from(message.len()).expect("small"));
    frame.put_slice(message);
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(value: &'static str) -> ContentType {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(value));
        ContentType::of(&headers)
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("application/grpc-web"), ContentType::Web(Encoding::Binary));
        assert_eq!(content_type("application/grpc-web+proto"), ContentType::Web(Encoding::Binary));
        assert_eq!(content_type("application/grpc-web-text"), ContentType::Web(Encoding::Text));
        assert_eq!(content_type("application/grpc-web-text+proto; charset=utf-8"), ContentType::Web(Encoding::Text));
        assert_eq!(content_type("application/grpc-web+json"), ContentType::Unsupported);
        assert_eq!(content_type("application/grpc-webby"), ContentType::Unsupported);
        assert_eq!(content_type("application/grpc"), ContentType::Other);
        assert_eq!(content_type("text/plain"), ContentType::Other);
        assert_eq!(ContentType::of(&HeaderMap::new()), ContentType::Other);
    }

    #[test]
    fn text_bodies_decode_in_padded_chunks() {
        let one = message_frame(b"hello");
        let two = message_frame(b"hi");
        let mut whole = one.to_vec();
        whole.extend_from_slice(&two);
        // The whole body in one go, and each frame encoded (and padded) on its own.
        let single = general_purpose::STANDARD.encode(&whole);
        let chunked = general_purpose::STANDARD.encode(&one) + &general_purpose::STANDARD.encode(&two);
        assert!(chunked.contains('='), "the test needs padding inside the body");
        assert_eq!(decode_text(single.as_bytes()).expect("one chunk"), whole);
        assert_eq!(decode_text(chunked.as_bytes()).expect("two chunks"), whole);
        // Unpadded last chunk.
        assert_eq!(decode_text(general_purpose::STANDARD_NO_PAD.encode(&whole).as_bytes()).expect("no pad"), whole);
        assert_eq!(decode_text(b"").expect("empty"), Vec::<u8>::new());
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [&b"not base64!"[..], b"AAAA*AAA", b"A", b"AA==AAAAA"] {
            let err = decode_text(bad).expect_err("malformed");
            assert!(err.0.contains("not base64"), "{}", err.0);
        }
    }

    #[test]
    fn trailers_frame_is_a_header_block_after_flag_and_length() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("x-trailer", HeaderValue::from_static("v"));
        let frame = trailers_frame(&trailers);
        assert_eq!(frame[0], 0x80);
        let block = &frame[5..];
        assert_eq!(u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize, block.len());
        assert_eq!(block, b"grpc-status: 0\r\nx-trailer: v\r\n");
        assert_eq!(Encoding::Text.encode(frame.clone()), general_purpose::STANDARD.encode(&frame));
    }
}
