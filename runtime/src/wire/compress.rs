//! Message compression: the algorithms (`Compression`), how the headers name and negotiate them
//! (`grpc-encoding`, `grpc-accept-encoding`), and gzip and zstd for single messages at the
//! levels tonic and grpc-go use by default (gzip 6, zstd 3). A compressed message is framed like
//! any other, with the compressed flag set (see `batch.rs`, `frame.rs` and `deframe.rs`).
//!
//! zstd is there with the `zstd` cargo feature only (its C library is the heaviest part of a
//! cold build, and gzip is what every gRPC implementation has). Without it, `zstd` is a name
//! this crate does not know: not advertised, refused on receipt as any unknown encoding, and a
//! call asking to send it fails with a message naming the feature.

use std::io::{self, Read};
use std::sync::{Mutex, PoisonError};

use bytes::{BufMut, Bytes, BytesMut};

use crate::wire::frame::FrameError;

/// A message compression algorithm, negotiated through `grpc-accept-encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// gzip (`grpc-encoding: gzip`).
    Gzip,
    /// Zstandard (`grpc-encoding: zstd`); needs the `zstd` cargo feature.
    Zstd,
}

impl Compression {
    /// The name used in `grpc-encoding` headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The algorithm a `grpc-encoding` name stands for; `None` for `identity` and names this
    /// build does not have (`zstd` without the `zstd` feature).
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.trim() {
            "gzip" => Some(Compression::Gzip),
            #[cfg(feature = "zstd")]
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The value both sides advertise in `grpc-accept-encoding`.
    #[cfg(feature = "zstd")]
    pub(crate) const ACCEPT_ENCODING: &'static str = "gzip,zstd";
    /// The value both sides advertise in `grpc-accept-encoding`.
    #[cfg(not(feature = "zstd"))]
    pub(crate) const ACCEPT_ENCODING: &'static str = "gzip";

    /// The algorithms this build has: gzip, and zstd with the `zstd` feature.
    #[cfg(test)]
    pub(crate) const AVAILABLE: &'static [Compression] = &[
        Compression::Gzip,
        #[cfg(feature = "zstd")]
        Compression::Zstd,
    ];

    /// The compression a received `grpc-encoding` header names: `Ok(None)` without one or for
    /// `identity`, `Err(name)` for an algorithm this crate does not have.
    pub(crate) fn from_header(value: Option<&http::HeaderValue>) -> Result<Option<Compression>, String> {
        match value.map(|v| v.to_str().unwrap_or("?")) {
            None | Some("identity") => Ok(None),
            Some(name) => Compression::from_name(name).map(Some).ok_or_else(|| name.to_owned()),
        }
    }
}

/// A peer's `grpc-accept-encoding`, kept as it came and read only when asked: a response is
/// compressed on few calls, so most calls never need it split and matched.
#[derive(Clone, Debug, Default)]
pub(crate) enum Accepted {
    /// No header: the peer reads only uncompressed messages.
    #[default]
    Nothing,
    /// One header value, unread.
    One(http::HeaderValue),
    /// Several header values (rare), read at once.
    Read { gzip: bool, zstd: bool },
}

impl Accepted {
    /// Takes what `headers` hold: a cheap copy of the one value there usually is.
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Self {
        let values = headers.get_all(&crate::wire::headers::GRPC_ACCEPT_ENCODING);
        let mut iter = values.iter();
        match (iter.next(), iter.next()) {
            (None, _) => Accepted::Nothing,
            (Some(value), None) => Accepted::One(value.clone()),
            _ => Accepted::Read {
                gzip: values.iter().any(|v| lists(v, Compression::Gzip)),
                zstd: values.iter().any(|v| lists(v, Compression::Zstd)),
            },
        }
    }

    /// Whether the peer reads `compression`.
    pub(crate) fn has(&self, compression: Compression) -> bool {
        match self {
            Accepted::Nothing => false,
            Accepted::One(value) => lists(value, compression),
            Accepted::Read { gzip, zstd } => match compression {
                Compression::Gzip => *gzip,
                Compression::Zstd => *zstd,
            },
        }
    }
}

/// Whether a `grpc-accept-encoding` value (`gzip,zstd`, `identity, deflate, gzip`) names
/// `compression`.
fn lists(value: &http::HeaderValue, compression: Compression) -> bool {
    value.to_str().is_ok_and(|names| names.split(',').any(|name| Compression::from_name(name) == Some(compression)))
}

/// gzip's level: zlib's default, as tonic and grpc-go use.
const GZIP_LEVEL: u32 = 6;

/// The gzip header flate2 writes at level 6 (RFC 1952): magic, deflate, no flags, no time, no
/// extra flags, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// Idle compressors kept for reuse, per algorithm, as grpc-go pools its gzip writers.
const POOL_SIZE: usize = 16;
static GZIP_POOL: Mutex<Vec<flate2::Compress>> = Mutex::new(Vec::new());
#[cfg(feature = "zstd")]
static ZSTD_POOL: Mutex<Vec<zstd::bulk::Compressor<'static>>> = Mutex::new(Vec::new());

/// Takes an idle compressor from `pool`, if there is one.
fn take<T>(pool: &Mutex<Vec<T>>) -> Option<T> {
    pool.lock().unwrap_or_else(PoisonError::into_inner).pop()
}

/// Keeps `item` in `pool` unless the pool is full.
fn give_back<T>(pool: &Mutex<Vec<T>>, item: T) {
    let mut pool = pool.lock().unwrap_or_else(PoisonError::into_inner);
    if pool.len() < POOL_SIZE {
        pool.push(item);
    }
}

/// Compresses messages with one algorithm: a compressor taken from a process-wide pool on the
/// first message (or made), used for every message after, and given back when dropped.
///
/// Why: a gzip compressor's state is some 300 KiB that is allocated and zeroed when it is made,
/// which was most of the time a 1 KiB message took (tonic makes one per message). A used one
/// is reset, which zeroes only its hash tables; a zstd context is kept whole. The pool, rather
/// than one compressor per stream, keeps the memory to what is compressing at once: a batch
/// holds one only while it encodes.
pub(crate) struct Compressor {
    state: State,
}

enum State {
    Gzip(Option<flate2::Compress>),
    #[cfg(feature = "zstd")]
    Zstd(Option<zstd::bulk::Compressor<'static>>),
    /// zstd asked for in a build without it: every message fails.
    #[cfg(not(feature = "zstd"))]
    Zstd,
}

/// Why zstd fails in a build without it.
#[cfg(not(feature = "zstd"))]
fn zstd_missing() -> io::Error {
    io::Error::other("zstd compression needs rust-rpc's `zstd` cargo feature")
}

impl Compressor {
    /// A compressor for `compression`; it takes its state on the first message.
    pub(crate) fn new(compression: Compression) -> Self {
        let state = match compression {
            Compression::Gzip => State::Gzip(None),
            #[cfg(feature = "zstd")]
            Compression::Zstd => State::Zstd(None),
            #[cfg(not(feature = "zstd"))]
            Compression::Zstd => State::Zstd,
        };
        Compressor { state }
    }

    /// Appends `message`, compressed, to `out`.
    pub(crate) fn compress(&mut self, message: &[u8], out: &mut BytesMut) -> io::Result<()> {
        match &mut self.state {
            State::Gzip(deflate) => {
                let deflate = match deflate {
                    Some(deflate) => deflate,
                    None => deflate.insert(
                        take(&GZIP_POOL)
                            .unwrap_or_else(|| flate2::Compress::new(flate2::Compression::new(GZIP_LEVEL), false)),
                    ),
                };
                let result = gzip(deflate, message, out);
                // Ready for the next message, or for the pool; also after a failure.
                deflate.reset();
                result
            }
            #[cfg(not(feature = "zstd"))]
            State::Zstd => Err(zstd_missing()),
            #[cfg(feature = "zstd")]
            State::Zstd(context) => {
                let context = match context {
                    Some(context) => context,
                    None => match take(&ZSTD_POOL) {
                        Some(pooled) => context.insert(pooled),
                        None => context.insert(zstd::bulk::Compressor::new(zstd::DEFAULT_COMPRESSION_LEVEL)?),
                    },
                };
                // Each call is a whole frame: the context starts afresh.
                let start = out.len();
                out.resize(start + zstd::zstd_safe::compress_bound(message.len()), 0);
                let written = context.compress_to_buffer(message, out.get_mut(start..).unwrap_or_default());
                out.truncate(start + written.as_ref().map_or(0, |n| *n));
                written.map(|_| ())
            }
        }
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        match &mut self.state {
            State::Gzip(deflate) => {
                if let Some(deflate) = deflate.take() {
                    give_back(&GZIP_POOL, deflate);
                }
            }
            #[cfg(feature = "zstd")]
            State::Zstd(context) => {
                if let Some(context) = context.take() {
                    give_back(&ZSTD_POOL, context);
                }
            }
            #[cfg(not(feature = "zstd"))]
            State::Zstd => {}
        }
    }
}

/// Appends `message` as one gzip member: header, raw deflate from `deflate` (fresh or reset),
/// then the CRC-32 and length of the message.
fn gzip(deflate: &mut flate2::Compress, message: &[u8], out: &mut BytesMut) -> io::Result<()> {
    out.extend_from_slice(&GZIP_HEADER);
    let mut input = message;
    loop {
        let start = out.len();
        // Room for all of the input and deflate's block overhead; the loop goes on if not.
        out.resize(start + input.len() + 64, 0);
        let (read, wrote) = (deflate.total_in(), deflate.total_out());
        let status = deflate
            .compress(input, out.get_mut(start..).unwrap_or_default(), flate2::FlushCompress::Finish)
            .map_err(io::Error::other);
        let consumed = usize::try_from(deflate.total_in() - read).unwrap_or(usize::MAX);
        let produced = usize::try_from(deflate.total_out() - wrote).unwrap_or(0);
        out.truncate(start + produced);
        input = input.get(consumed..).unwrap_or_default();
        match status? {
            flate2::Status::StreamEnd => break,
            _ if consumed == 0 && produced == 0 => return Err(io::Error::other("deflate made no progress")),
            _ => {}
        }
    }
    let mut crc = flate2::Crc::new();
    crc.update(message);
    out.put_u32_le(crc.sum());
    // ISIZE is the length modulo 2^32 (RFC 1952).
    out.put_u32_le(message.len() as u32);
    Ok(())
}

/// Appends `message`, compressed with `compression`, to `out`, with a compressor made for it.
#[cfg(test)]
pub(crate) fn compress(compression: Compression, message: &[u8], out: &mut BytesMut) -> io::Result<()> {
    Compressor::new(compression).compress(message, out)
}

/// `data` decompressed with `compression`. Fails with [`FrameError::DecompressedTooLarge`] as
/// soon as the output passes `limit` bytes, so a small message that inflates enormously is
/// never held in full.
pub(crate) fn decompress(compression: Compression, data: &[u8], limit: usize) -> Result<Bytes, FrameError> {
    // One byte past the limit tells "exactly at the limit" from "over it".
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(data.len().saturating_mul(2).min(limit));
    let read = match compression {
        Compression::Gzip => flate2::read::GzDecoder::new(data).take(cap).read_to_end(&mut out),
        #[cfg(feature = "zstd")]
        Compression::Zstd => {
            zstd::stream::read::Decoder::with_buffer(data).and_then(|decoder| decoder.take(cap).read_to_end(&mut out))
        }
        #[cfg(not(feature = "zstd"))]
        Compression::Zstd => Err(zstd_missing()),
    };
    read.map_err(FrameError::Decompress)?;
    if out.len() > limit {
        return Err(FrameError::DecompressedTooLarge { limit });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_from_one_value_or_several() {
        let accepted = |values: &[&'static str]| {
            let mut headers = http::HeaderMap::new();
            for value in values {
                headers.append("grpc-accept-encoding", http::HeaderValue::from_static(value));
            }
            let accepted = Accepted::from_headers(&headers);
            (accepted.has(Compression::Gzip), accepted.has(Compression::Zstd))
        };
        assert_eq!(accepted(&[]), (false, false));
        let zstd = cfg!(feature = "zstd");
        assert_eq!(accepted(&["gzip,zstd"]), (true, zstd));
        assert_eq!(accepted(&["identity, deflate, gzip"]), (true, false));
        assert_eq!(accepted(&["identity", " zstd "]), (false, zstd));
        assert_eq!(accepted(&["gzipx,zst"]), (false, false));
    }

    #[test]
    fn zstd_is_there_only_with_its_feature() {
        let zstd = cfg!(feature = "zstd");
        assert_eq!(Compression::from_name("zstd"), zstd.then_some(Compression::Zstd));
        assert_eq!(Compression::ACCEPT_ENCODING.contains("zstd"), zstd);
        let sent = Compressor::new(Compression::Zstd).compress(b"a message", &mut BytesMut::new());
        match sent {
            Ok(()) => assert!(zstd),
            Err(err) => assert!(!zstd && err.to_string().contains("`zstd` cargo feature"), "{err}"),
        }
    }

    #[test]
    fn both_round_trip_and_really_compress() {
        let message = b"a message that repeats, a message that repeats, a message that repeats".repeat(20);
        for &compression in Compression::AVAILABLE {
            let mut out = BytesMut::from(&b"kept"[..]);
            compress(compression, &message, &mut out).expect("compresses");
            assert_eq!(&out[..4], b"kept", "appends");
            assert!(out.len() < message.len() / 4, "{compression:?}: {} bytes", out.len());
            let back = decompress(compression, &out[4..], message.len()).expect("decompresses");
            assert_eq!(back, message[..], "{compression:?}");
        }
    }

    #[test]
    fn one_compressor_serves_many_messages() {
        // Empty, tiny, repetitive, and 200 KB that hardly compresses (more than one deflate
        // block, and more output than the first guess of room), in turn on one compressor.
        let mut noise = Vec::with_capacity(200_000);
        let mut x: u32 = 1;
        while noise.len() < 200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.extend_from_slice(&x.to_le_bytes());
        }
        let messages: [&[u8]; 5] = [b"", b"a", &[7u8; 5000], &noise, b"after the big one"];
        for &compression in Compression::AVAILABLE {
            let mut compressor = Compressor::new(compression);
            for _round in 0..2 {
                for message in messages {
                    let mut out = BytesMut::new();
                    compressor.compress(message, &mut out).expect("compresses");
                    // Decompressed by the decoders of flate2 and zstd, which check gzip's CRC.
                    let back = decompress(compression, &out, message.len()).expect("decompresses");
                    assert!(back == message, "{compression:?}: {} bytes", message.len());
                }
            }
        }
    }

    #[test]
    fn output_over_the_limit_is_refused_and_garbage_is_an_error() {
        let message = vec![0u8; 100_000];
        for &compression in Compression::AVAILABLE {
            let mut out = BytesMut::new();
            compress(compression, &message, &mut out).expect("compresses");
            let err = decompress(compression, &out, 99_999).expect_err("over");
            assert!(matches!(err, FrameError::DecompressedTooLarge { limit: 99_999 }), "{err:?}");
            assert!(decompress(compression, &out, 100_000).is_ok(), "{compression:?}: at the limit");
            let err = decompress(compression, b"not compressed at all", 1000).expect_err("garbage");
            assert!(matches!(err, FrameError::Decompress(_)), "{compression:?}: {err:?}");
        }
    }
}
