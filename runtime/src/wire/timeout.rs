//! The `grpc-timeout` header: parsing and formatting, as the gRPC HTTP/2 protocol defines it.

use std::time::Duration;

/// Why a `grpc-timeout` value was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidTimeout(pub(crate) String);

/// Parses `TimeoutValue TimeoutUnit`: at most eight ASCII digits, then one of `H M S m u n`.
pub(crate) fn parse_grpc_timeout(value: &[u8]) -> Result<Duration, InvalidTimeout> {
    let invalid = || InvalidTimeout(String::from_utf8_lossy(value).into_owned());
    let (digits, unit) = match value {
        [digits @ .., unit] if !digits.is_empty() && digits.len() <= 8 => (digits, *unit),
        _ => return Err(invalid()),
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let amount: u64 = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok()).ok_or_else(invalid)?;
    Ok(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return Err(invalid()),
    })
}

/// Formats a timeout with the finest unit whose value fits in eight digits, rounding up so the
/// server never sees a shorter timeout than the client's.
pub(crate) fn format_grpc_timeout(timeout: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    let units: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (per_unit, unit) in units {
        let value = nanos.div_ceil(per_unit);
        if value <= MAX {
            return format!("{value}{unit}");
        }
    }
    format!("{MAX}H")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_grpc_timeout(b"1H"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout(b"2M"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout(b"3S"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout(b"4m"), Ok(Duration::from_millis(4)));
        assert_eq!(parse_grpc_timeout(b"5u"), Ok(Duration::from_micros(5)));
        assert_eq!(parse_grpc_timeout(b"99999999n"), Ok(Duration::from_nanos(99_999_999)));
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [&b""[..], b"S", b"10", b"123456789S", b"-1S", b"1x", b"1.5S", b" 1S"] {
            assert!(parse_grpc_timeout(bad).is_err(), "{:?} was accepted", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn formats_within_eight_digits_and_round_trips() {
        for t in [
            Duration::from_nanos(1),
            Duration::from_millis(250),
            Duration::from_secs(30),
            Duration::from_secs(86_400 * 365),
        ] {
            let text = format_grpc_timeout(t);
            assert!(text.len() <= 9, "{text}");
            let back = parse_grpc_timeout(text.as_bytes()).expect("formatted value parses");
            assert!(back >= t, "{text} is shorter than {t:?}");
        }
        assert_eq!(format_grpc_timeout(Duration::from_millis(250)), "250000u");
        assert_eq!(format_grpc_timeout(Duration::from_secs(30)), "30000000u");
    }
}
