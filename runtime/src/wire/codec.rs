//! Codecs: how a message becomes the bytes of one gRPC frame and back, for calls and handlers
//! without generated code. Typed calls encode their prost messages straight into the frame;
//! generic calls ([`GenericClient`](crate::GenericClient)) and the server's fallback handler
//! work on bytes, which a [`Codec`] makes from and into the caller's own types.
//!
//! Underneath, an encoded message travels as [`Encoded`]: bytes whose `prost::Message`
//! implementation writes and reads them as they are, so the framing, batching, compression and
//! size limits of typed calls serve them unchanged.

use bytes::{Buf, BufMut, Bytes};

use crate::{Result, RpcError};

/// Turns messages of type `T` into the bytes of a gRPC message and back.
///
/// [`ProstCodec`] (protobuf through prost, what generated code uses) and [`BytesCodec`] (the
/// bytes as they are) come with the crate; implement it for JSON, FlatBuffers or anything else.
/// A codec is cloned into each call, so keep it cheap to clone.
///
/// ```
/// use rust_rpc::{Codec, Result, RpcError};
/// use rust_rpc::bytes::Bytes;
///
/// /// UTF-8 text as the message.
/// #[derive(Clone, Copy, Debug, Default)]
/// struct TextCodec;
///
/// impl Codec<String> for TextCodec {
///     fn encode(&self, message: String) -> Result<Bytes> {
///         Ok(Bytes::from(message))
///     }
///
///     fn decode(&self, bytes: Bytes) -> Result<String> {
///         String::from_utf8(bytes.to_vec()).map_err(|e| RpcError::internal(format!("not UTF-8: {e}")))
///     }
/// }
/// ```
pub trait Codec<T>: Clone + Send + Sync + 'static {
    /// The message's bytes. An error fails the call with it (INTERNAL is the usual code).
    fn encode(&self, message: T) -> Result<Bytes>;

    /// The message these bytes hold. An error fails the call (or ends the request stream a
    /// handler reads) with it.
    fn decode(&self, bytes: Bytes) -> Result<T>;
}

/// Protobuf messages through prost: what typed calls and generated code use.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProstCodec;

impl<T: prost::Message + Default> Codec<T> for ProstCodec {
    fn encode(&self, message: T) -> Result<Bytes> {
        Ok(Bytes::from(message.encode_to_vec()))
    }

    fn decode(&self, bytes: Bytes) -> Result<T> {
        T::decode(bytes).map_err(|err| RpcError::internal(format!("failed to decode the message: {err}")))
    }
}

/// The message's bytes as they are: for proxies, gateways and anything that forwards messages
/// without reading them.
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesCodec;

impl Codec<Bytes> for BytesCodec {
    fn encode(&self, message: Bytes) -> Result<Bytes> {
        Ok(message)
    }

    fn decode(&self, bytes: Bytes) -> Result<Bytes> {
        Ok(bytes)
    }
}

/// A message already encoded: its bytes are the frame's payload, written and read as they are.
///
/// `prost::Message` is implemented for it so the message paths of typed calls carry it
/// unchanged; it is no protobuf message (it has no fields), and only this crate makes one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Encoded(pub(crate) Bytes);

impl Encoded {
    /// The bytes.
    pub(crate) fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl prost::Message for Encoded {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> std::result::Result<(), prost::DecodeError> {
        // Never called: `merge` below takes the whole buffer at once.
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }

    /// Takes every byte left: from the `Bytes` a frame arrives in, without a copy.
    fn merge(&mut self, mut buf: impl Buf) -> std::result::Result<(), prost::DecodeError> {
        self.0 = buf.copy_to_bytes(buf.remaining());
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn encoded_bytes_go_out_and_come_back_as_they_are() {
        // Not protobuf at all: a codec may send anything.
        let payload = Bytes::from_static(b"\xff\x00 not protobuf");
        let encoded = Encoded(payload.clone());
        assert_eq!(encoded.encoded_len(), payload.len());
        assert_eq!(encoded.encode_to_vec(), payload.to_vec());
        let decoded = Encoded::decode(payload.clone()).expect("any bytes decode");
        assert_eq!(decoded.into_bytes(), payload);
        assert_eq!(Encoded::decode(Bytes::new()).expect("empty").into_bytes(), Bytes::new());
    }

    #[test]
    fn prost_codec_round_trips_and_reports_bad_input() {
        let codec = ProstCodec;
        let bytes = Codec::<String>::encode(&codec, "hi".to_owned()).expect("encodes");
        assert_eq!(Codec::<String>::decode(&codec, bytes).expect("decodes"), "hi");
        let err = Codec::<String>::decode(&codec, Bytes::from_static(b"\x0a\x05ab")).expect_err("truncated");
        assert_eq!(err.code(), crate::Code::Internal);
    }
}
