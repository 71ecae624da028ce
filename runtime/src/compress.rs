//! gzip and zstd for single messages, at the levels tonic and grpc-go use by default (gzip 6,
//! zstd 3). A compressed message is framed like any other, with the compressed flag set (see
//! `batch.rs`, `frame.rs` and `deframe.rs`).

use std::io::{self, Read, Write};

use bytes::{BufMut, Bytes, BytesMut};

use crate::Compression;
use crate::frame::FrameError;

/// gzip's level: zlib's default, as tonic and grpc-go use.
const GZIP_LEVEL: u32 = 6;

/// Appends `message`, compressed with `compression`, to `out`.
pub(crate) fn compress(compression: Compression, message: &[u8], out: &mut BytesMut) -> io::Result<()> {
    let writer = out.writer();
    match compression {
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(writer, flate2::Compression::new(GZIP_LEVEL));
            encoder.write_all(message)?;
            encoder.finish()?;
        }
        Compression::Zstd => zstd::stream::copy_encode(message, writer, zstd::DEFAULT_COMPRESSION_LEVEL)?,
    }
    Ok(())
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
        Compression::Zstd => {
            zstd::stream::read::Decoder::with_buffer(data).and_then(|decoder| decoder.take(cap).read_to_end(&mut out))
        }
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
    fn both_round_trip_and_really_compress() {
        let message = b"a message that repeats, a message that repeats, a message that repeats".repeat(20);
        for compression in [Compression::Gzip, Compression::Zstd] {
            let mut out = BytesMut::from(&b"kept"[..]);
            compress(compression, &message, &mut out).expect("compresses");
            assert_eq!(&out[..4], b"kept", "appends");
            assert!(out.len() < message.len() / 4, "{compression:?}: {} bytes", out.len());
            let back = decompress(compression, &out[4..], message.len()).expect("decompresses");
            assert_eq!(back, message[..], "{compression:?}");
        }
    }

    #[test]
    fn output_over_the_limit_is_refused_and_garbage_is_an_error() {
        let message = vec![0u8; 100_000];
        for compression in [Compression::Gzip, Compression::Zstd] {
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
