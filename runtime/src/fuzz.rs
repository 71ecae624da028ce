//! Fuzz targets for everything that reads bytes a peer chose: the deframer, decompression, the
//! `grpc-timeout` parser, metadata keys and values (`-bin` base64 included), received statuses
//! and channel targets. Properties under `proptest`: no input panics, each input is accepted
//! or refused as a plain model of the rule says, and a refusal maps to the status gRPC gives it.
//!
//! `cargo test -p rust-rpc fuzz` runs each target for proptest's default 256 cases;
//! `scripts/fuzz.sh` runs them longer (`PROPTEST_CASES`). RELIABILITY.md records the runs.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use crate::client::target::Target;
use crate::metadata::decode_binary;
use crate::wire::compress::{compress, decompress};
use crate::wire::deframe::Deframer;
use crate::wire::frame::{FrameError, HEADER_LEN};
use crate::wire::limits::Limit;
use crate::wire::{status, timeout};
use crate::{Code, Compression, Metadata};

/// Proptest's defaults (256 cases, or `PROPTEST_CASES`), without regression files in the tree:
/// a failure prints its minimal input.
fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

fn compression() -> impl Strategy<Value = Option<Compression>> {
    let available: Vec<Option<Compression>> = Compression::AVAILABLE.iter().copied().map(Some).collect();
    prop_oneof![Just(None), proptest::sample::select(available)]
}

/// What a deframer made of a body: the messages, then the error that ended it, if any.
#[derive(Debug, PartialEq)]
struct Outcome {
    messages: Vec<Bytes>,
    error: Option<&'static str>,
}

fn kind(err: &FrameError) -> &'static str {
    match err {
        FrameError::TooLarge { .. } => "too large",
        FrameError::Empty => "empty",
        FrameError::Truncated => "truncated",
        FrameError::MoreThanOne => "more than one",
        FrameError::CompressedWithoutEncoding => "compressed without encoding",
        FrameError::BadFlag(_) => "bad flag",
        FrameError::Decode(_) => "decode",
        FrameError::Decompress(_) => "decompress",
        FrameError::DecompressedTooLarge { .. } => "decompressed too large",
        FrameError::Compress(_) => "compress",
    }
}

/// The status each error must become: RESOURCE_EXHAUSTED over a limit, INTERNAL otherwise.
fn expected_code(err: &FrameError) -> Code {
    match err {
        FrameError::TooLarge { .. } | FrameError::DecompressedTooLarge { .. } => Code::ResourceExhausted,
        _ => Code::Internal,
    }
}

/// Feeds `data` to a deframer in chunks ending at `cuts` (sorted, clamped), as DATA frames
/// would arrive, and checks each refusal's status on the way.
fn deframe(data: &[u8], cuts: &[usize], limit: usize, compression: Option<Compression>) -> Outcome {
    let mut deframer = Deframer::new(limit, compression, None);
    let mut messages = Vec::new();
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    ends.sort_unstable();
    ends.push(data.len());
    let mut start = 0;
    for end in ends {
        deframer.push(Bytes::copy_from_slice(&data[start..end]));
        start = end;
        loop {
            match deframer.next_message() {
                Ok(Some(message)) => {
                    assert!(message.len() <= limit, "a message of {} bytes passed a limit of {limit}", message.len());
                    messages.push(message);
                }
                Ok(None) => break,
                Err(err) => {
                    let error = kind(&err);
                    let code = expected_code(&err);
                    assert_eq!(err.into_rpc_error(Limit::SERVER_RECEIVE).code(), code, "{error}");
                    return Outcome { messages, error: Some(error) };
                }
            }
        }
    }
    let error = (!deframer.is_empty()).then_some("truncated");
    Outcome { messages, error }
}

/// The same body read by the protocol's rule, written plainly: prefix (flag, then length
/// against the limit), then the message, until the data ends.
fn model(mut data: &[u8], limit: usize, compression: Option<Compression>) -> Outcome {
    let mut messages = Vec::new();
    let fail = |messages, error| Outcome { messages, error: Some(error) };
    while !data.is_empty() {
        let Some(prefix) = data.get(..HEADER_LEN) else {
            return fail(messages, "truncated");
        };
        let compressed = match (prefix[0], compression) {
            (0, _) => false,
            (1, Some(_)) => true,
            (1, None) => return fail(messages, "compressed without encoding"),
            _ => return fail(messages, "bad flag"),
        };
        let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        if len > limit {
            return fail(messages, "too large");
        }
        let Some(message) = data.get(HEADER_LEN..HEADER_LEN + len) else {
            return fail(messages, "truncated");
        };
        data = &data[HEADER_LEN + len..];
        match compression.filter(|_| compressed) {
            None => messages.push(Bytes::copy_from_slice(message)),
            Some(compression) => match decompress(compression, message, limit) {
                Ok(message) => messages.push(message),
                Err(err) => return fail(messages, kind(&err)),
            },
        }
    }
    Outcome { messages, error: None }
}

/// A body of frames: each message framed, compressed first if asked and the body has an
/// encoding; and the longest message as framed (a compressed one can be longer than itself).
fn frames(messages: &[(Vec<u8>, bool)], compression: Option<Compression>) -> (Vec<u8>, usize) {
    let mut data = Vec::new();
    let mut longest = 0;
    for (message, compressed) in messages {
        match compression.filter(|_| *compressed) {
            Some(compression) => {
                let mut packed = BytesMut::new();
                compress(compression, message, &mut packed).expect("compresses in memory");
                data.push(1);
                data.extend_from_slice(&(packed.len() as u32).to_be_bytes());
                data.extend_from_slice(&packed);
                longest = longest.max(packed.len());
            }
            None => {
                data.push(0);
                data.extend_from_slice(&(message.len() as u32).to_be_bytes());
                data.extend_from_slice(message);
            }
        }
        longest = longest.max(message.len());
    }
    (data, longest)
}

/// Bytes that are often a frame prefix or a compressed stream's start, so that random input
/// gets past the first checks: small flags and lengths, gzip's and zstd's magic numbers.
fn biased_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        2 => 0u8..=2,
        1 => Just(0x1f), 1 => Just(0x8b), 1 => Just(0x28), 1 => Just(0xb5), 1 => Just(0x2f), 1 => Just(0xfd),
    ];
    proptest::collection::vec(byte, 0..max)
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes, cut anywhere: the deframer never panics, never hands on a message over the
    /// limit, and reads exactly what the plain model reads (messages and the error that ends
    /// them), whatever the chunking.
    #[test]
    fn fuzz_deframer_any_bytes(
        data in biased_bytes(600),
        cuts in proptest::collection::vec(0usize..600, 0..6),
        limit in prop_oneof![0usize..64, 0usize..1024, Just(usize::MAX)],
        compression in compression(),
    ) {
        let got = deframe(&data, &cuts, limit, compression);
        prop_assert_eq!(got, model(&data, limit, compression));
    }

    /// Valid bodies, some messages compressed and some not, cut anywhere: every message comes
    /// out as it went in, and a limit below the largest message stops the body there with
    /// RESOURCE_EXHAUSTED (checked in `deframe`). The limit holds for a message both as sent
    /// and decompressed, as in grpc-go.
    #[test]
    fn fuzz_deframer_valid_frames(
        messages in proptest::collection::vec((biased_bytes(300), any::<bool>()), 0..6),
        cuts in proptest::collection::vec(0usize..2000, 0..8),
        compression in compression(),
        tight in any::<bool>(),
    ) {
        let (data, framed) = frames(&messages, compression);
        let longest = messages.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        if tight && longest > 0 {
            let got = deframe(&data, &cuts, longest - 1, compression);
            prop_assert!(
                matches!(got.error, Some("too large" | "decompressed too large")),
                "{:?}", got.error
            );
        } else {
            let got = deframe(&data, &cuts, framed, compression);
            prop_assert_eq!(got.error, None);
            let want: Vec<Bytes> = messages.iter().map(|(m, _)| Bytes::copy_from_slice(m)).collect();
            prop_assert_eq!(got.messages, want);
        }
    }

    /// Any bytes as a gzip or zstd message: an error or at most `limit` bytes, never a panic.
    #[test]
    fn fuzz_decompress_any_bytes(
        data in biased_bytes(400),
        gzip_header in any::<bool>(),
        zstd in any::<bool>(),
        limit in 0usize..100_000,
    ) {
        // Half the inputs start with a valid header, to get into the decoders' block parsers.
        let (compression, header): (_, &[u8]) = if zstd {
            (Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd])
        } else {
            (Compression::Gzip, &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])
        };
        let input = if gzip_header { [header, &data].concat() } else { data };
        match decompress(compression, &input, limit) {
            Ok(message) => prop_assert!(message.len() <= limit),
            Err(err) => prop_assert!(
                matches!(err, FrameError::Decompress(_) | FrameError::DecompressedTooLarge { .. }),
                "{:?}", err
            ),
        }
    }

    /// Compressed messages come back whole at or under the limit and are refused (with
    /// RESOURCE_EXHAUSTED) over it: the limit is on the output, not the compressed size.
    #[test]
    fn fuzz_decompress_round_trip_and_limit(
        message in prop_oneof![biased_bytes(2000), (0usize..200_000).prop_map(|n| vec![0u8; n])],
        zstd in any::<bool>(),
        slack in -2i64..2,
    ) {
        let compression = if zstd && cfg!(feature = "zstd") { Compression::Zstd } else { Compression::Gzip };
        let mut packed = BytesMut::new();
        compress(compression, &message, &mut packed).expect("compresses in memory");
        let limit = usize::try_from(message.len() as i64 + slack).unwrap_or(0);
        match decompress(compression, &packed, limit) {
            Ok(back) => {
                prop_assert!(message.len() <= limit);
                prop_assert_eq!(&back[..], &message[..]);
            }
            Err(err) => {
                prop_assert!(message.len() > limit, "{:?}", err);
                prop_assert_eq!(expected_code(&err), Code::ResourceExhausted);
                prop_assert!(matches!(err, FrameError::DecompressedTooLarge { .. }), "{:?}", err);
            }
        }
    }

    /// Any `grpc-timeout` value: accepted exactly when it is one to eight ASCII digits and a
    /// unit of `H M S m u n`, and then worth what it says.
    #[test]
    fn fuzz_grpc_timeout_any_bytes(
        value in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12),
            "[0-9]{0,10}[HMSmunx ]?".prop_map(String::into_bytes),
        ],
    ) {
        let well_formed = value.len() >= 2
            && value.len() <= 9
            && value[..value.len() - 1].iter().all(u8::is_ascii_digit)
            && b"HMSmun".contains(&value[value.len() - 1]);
        match timeout::parse_grpc_timeout(&value) {
            Ok(parsed) => {
                prop_assert!(well_formed);
                let amount: u64 = std::str::from_utf8(&value[..value.len() - 1]).expect("digits").parse().expect("digits");
                let nanos_per = match value[value.len() - 1] {
                    b'H' => 3_600_000_000_000u128,
                    b'M' => 60_000_000_000,
                    b'S' => 1_000_000_000,
                    b'm' => 1_000_000,
                    b'u' => 1_000,
                    _ => 1,
                };
                prop_assert_eq!(parsed.as_nanos(), u128::from(amount) * nanos_per);
            }
            Err(_) => prop_assert!(!well_formed),
        }
    }

    /// Any duration is written as a valid value that is never shorter, and at most one unit
    /// longer (the unit chosen), up to the longest value the header can carry.
    #[test]
    fn fuzz_grpc_timeout_format_round_trip(secs in prop_oneof![0u64..200, any::<u64>()], nanos in 0u32..1_000_000_000) {
        let duration = Duration::new(secs, nanos);
        let written = timeout::format_grpc_timeout(duration);
        prop_assert!(written.len() <= 9, "{}", written);
        let read = timeout::parse_grpc_timeout(written.as_bytes()).expect("our own value parses");
        let longest = Duration::from_secs(99_999_999 * 3600);
        if duration <= longest {
            prop_assert!(read >= duration, "{} for {:?}", written, duration);
            // The unit is the finest one that fits in eight digits; rounding up adds less than one.
            let unit = read.as_nanos() / u128::from(written[..written.len() - 1].parse::<u64>().expect("digits").max(1));
            prop_assert!(read.as_nanos() - duration.as_nanos() < unit.max(1), "{} for {:?}", written, duration);
        } else {
            prop_assert_eq!(read, longest);
        }
    }

    /// Any key and value: accepted exactly as gRPC's rules say, and then read back as given;
    /// binary values of any bytes survive the trip through headers.
    #[test]
    fn fuzz_metadata_keys_and_values(
        key in prop_oneof!["[a-zA-Z0-9_.-]{0,8}(-bin)?", "[a-z:/ \u{e9}\u{0}-]{0,6}", any::<String>()],
        value in prop_oneof!["[ -~]{0,20}", any::<String>()],
        binary in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let lower = key.to_ascii_lowercase();
        let key_ok = !lower.is_empty()
            && lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
        // gRPC's ASCII-Value: space and printable ASCII, %x20-%x7E.
        let value_ok = value.bytes().all(|b| (b' '..=b'~').contains(&b));
        let is_bin = lower.ends_with("-bin");
        let mut md = Metadata::new();
        let ascii = md.insert(&key, &value);
        prop_assert_eq!(ascii.is_ok(), key_ok && value_ok && !is_bin, "{:?}", ascii);
        if ascii.is_ok() {
            prop_assert_eq!(md.get(&lower), Some(value.as_str()));
        }
        let mut md = Metadata::new();
        let bin = md.insert_bin(&key, &binary);
        prop_assert_eq!(bin.is_ok(), key_ok && is_bin, "{:?}", bin);
        if bin.is_ok() {
            prop_assert_eq!(md.get_bin(&lower), Some(Bytes::copy_from_slice(&binary)));
            let back = Metadata::from_received_headers(md.into_headers());
            prop_assert_eq!(back.get_bin(&lower), Some(Bytes::copy_from_slice(&binary)));
        }
    }

    /// Any received `-bin` value decodes or is skipped, never panics; base64 padded or not
    /// reads the same.
    #[test]
    fn fuzz_metadata_binary_values(
        wire in prop_oneof!["[A-Za-z0-9+/=]{0,24}", any::<String>()],
        raw in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let _ = decode_binary(wire.as_bytes());
        use base64::Engine as _;
        let padded = base64::engine::general_purpose::STANDARD.encode(&raw);
        let unpadded = padded.trim_end_matches('=');
        prop_assert_eq!(decode_binary(padded.as_bytes()), Some(Bytes::copy_from_slice(&raw)));
        prop_assert_eq!(decode_binary(unpadded.as_bytes()), Some(Bytes::copy_from_slice(&raw)));
        // Received as a header: iterating skips it if it is not base64.
        if let Ok(value) = http::HeaderValue::from_str(&wire) {
            let mut headers = http::HeaderMap::new();
            headers.insert("x-bin", value);
            let md = Metadata::from_received_headers(headers);
            prop_assert!(md.iter().count() <= 1);
        }
    }

    /// Any trailers a server may send (status, message, details, metadata, protocol headers):
    /// read into OK or an error with a code, never a panic, and no protocol header leaks into
    /// the error's metadata.
    #[test]
    fn fuzz_received_status(
        code in prop_oneof!["[0-9]{1,3}", "[0-9]{4,40}", any::<String>()],
        message in prop_oneof!["[ -~]{0,40}", "(%[0-9A-Fa-f]{0,2}){0,8}"],
        details in prop_oneof![Just(None), "[A-Za-z0-9+/=]{0,24}".prop_map(Some), any::<String>().prop_map(Some)],
        extra in prop_oneof![Just("te"), Just("grpc-encoding"), Just("x-user"), Just("content-type")],
    ) {
        let mut headers = http::HeaderMap::new();
        let values = [
            ("grpc-status", Some(code.as_str())),
            ("grpc-message", Some(message.as_str())),
            ("grpc-status-details-bin", details.as_deref()),
            (extra, Some("v")),
        ];
        for (name, value) in values {
            if let Some(value) = value
                && let Ok(value) = http::HeaderValue::from_str(value)
            {
                headers.insert(name, value);
            }
        }
        match status::check(&headers) {
            Ok(()) => prop_assert_eq!(headers.get("grpc-status").map(|v| v.as_bytes()), Some(&b"0"[..])),
            Err(err) => {
                prop_assert!((1..=16).contains(&err.code().as_i32()) || err.code() == Code::Unknown);
                for reserved in ["te", "grpc-encoding", "content-type", "grpc-status", "grpc-message"] {
                    prop_assert!(!err.metadata().contains_key(reserved), "{}", reserved);
                }
            }
        }
    }

    /// Any target: parsed or refused with a reason, never a panic; a parsed TCP target's
    /// authority makes a valid URI or the channel refuses it (as `ChannelBuilder::build` does).
    #[test]
    fn fuzz_target_any_string(
        prefix in prop_oneof![Just(""), Just("dns:///"), Just("dns://"), Just("dns:"), Just("ipv4:"), Just("ipv6:"),
            Just("unix:"), Just("unix://"), Just("http://"), Just("https://")],
        rest in prop_oneof!["[a-z0-9.:\\[\\]/ -]{0,24}", any::<String>()],
    ) {
        let target = format!("{prefix}{rest}");
        if let Ok(Target::Dns { host, port, authority, .. }) = Target::parse(&target) {
            prop_assert!(!host.is_empty());
            prop_assert!(authority.ends_with(&format!(":{port}")), "{}", authority);
            let _ = http::Uri::builder().scheme("http").authority(authority.as_str()).path_and_query("/").build();
        }
    }

    /// Well-formed host and port targets, in every form, parse to that host and port.
    #[test]
    fn fuzz_target_valid_forms(
        host in prop_oneof![
            "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,2}",
            any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            any::<[u16; 8]>().prop_map(|s| std::net::Ipv6Addr::from(s).to_string()),
        ],
        port in any::<u16>(),
        form in 0usize..4,
    ) {
        let hostport = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let target = match form {
            0 => hostport.clone(),
            1 => format!("dns:///{hostport}"),
            2 => format!("dns:{hostport}"),
            _ => format!("http://{hostport}/"),
        };
        let parsed = Target::parse(&target);
        prop_assert_eq!(parsed.ok(), Some(Target::Dns { server: None, host, port, authority: hostport }));
    }
}
