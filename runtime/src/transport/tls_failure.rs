//! A client's TLS failures in words: which certificate was refused, why, and what to do, in
//! place of rustls's terse errors. Used for the UNAVAILABLE a call gets when the handshake with
//! its server fails, or when the server refuses the channel's client certificate (in TLS 1.3 the
//! server says so after the client's handshake is done, on the connection's first read).

use tokio_rustls::rustls::{self, AlertDescription, CertificateError, pki_types::UnixTime};

/// The alerts about a client's certificate, which [`client_certificate_refused`] explains.
const CERTIFICATE_ALERTS: [AlertDescription; 9] = [
    AlertDescription::CertificateRequired,
    AlertDescription::UnknownCA,
    AlertDescription::CertificateExpired,
    AlertDescription::CertificateRevoked,
    AlertDescription::BadCertificate,
    AlertDescription::UnsupportedCertificate,
    AlertDescription::DecryptError,
    AlertDescription::AccessDenied,
    AlertDescription::CertificateUnknown,
];

/// The rustls error inside an I/O error, if that is what it is.
pub(crate) fn rustls_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// The rustls error an I/O error carries, or once carried: h2 keeps only the kind and message
/// of the I/O error that ended a connection, so a received alert is recognised by its message.
pub(crate) fn rustls_error_of(err: &std::io::Error) -> Option<rustls::Error> {
    if let Some(tls) = rustls_error(err) {
        return Some(tls.clone());
    }
    let message = err.to_string();
    CERTIFICATE_ALERTS.into_iter().map(rustls::Error::AlertReceived).find(|alert| message == alert.to_string())
}

/// Explains `err` met in a TLS connection to `server_name`, when it is about a certificate.
pub(crate) fn explain(err: &rustls::Error, server_name: &str) -> Option<String> {
    match err {
        rustls::Error::InvalidCertificate(problem) => Some(server_certificate(problem, server_name)),
        rustls::Error::AlertReceived(alert) => client_certificate_refused(*alert),
        _ => None,
    }
}

/// The server's certificate failed the channel's checks.
fn server_certificate(problem: &CertificateError, name: &str) -> String {
    let about = format!("the server's certificate for {name}");
    match problem {
        CertificateError::ExpiredContext { time, not_after } => format!(
            "{about} expired at {} (checked at {}): the server must be given a renewed certificate",
            utc(*not_after),
            utc(*time)
        ),
        CertificateError::Expired => format!("{about} has expired: the server must be given a renewed certificate"),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "{about} is not valid before {} (checked at {}): check the clocks of both machines",
            utc(*not_before),
            utc(*time)
        ),
        CertificateError::NotValidYet => format!("{about} is not valid yet: check the clocks of both machines"),
        CertificateError::NotValidForNameContext { presented, .. } => format!(
            "the server's certificate is not valid for name {name} (it is for {}): connect by one of \
             its names, or check it against another with ChannelCredentials::server_name_override",
            if presented.is_empty() { "no name".to_owned() } else { presented.join(", ") }
        ),
        CertificateError::NotValidForName => format!(
            "the server's certificate is not valid for name {name}: connect by one of its names, or \
             check it against another with ChannelCredentials::server_name_override"
        ),
        CertificateError::UnknownIssuer => format!(
            "{about} was issued by a CA this channel does not trust (unknown issuer): give the channel \
             that CA with ChannelCredentials::with_root_ca"
        ),
        CertificateError::Revoked => format!("{about} has been revoked"),
        CertificateError::BadSignature => format!("{about} has a bad signature: it was not signed by its issuer"),
        other => format!("{about} was refused: {other}"),
    }
}

/// The server refused the channel's client certificate (or its lack of one).
fn client_certificate_refused(alert: AlertDescription) -> Option<String> {
    let why = match alert {
        AlertDescription::CertificateRequired => {
            return Some(
                "the server requires a client certificate and this channel presents none: give it one \
                 with ChannelCredentials::client_identity"
                    .to_owned(),
            );
        }
        AlertDescription::UnknownCA => "it was not issued by a CA the server trusts (unknown CA)",
        AlertDescription::CertificateExpired => "it has expired or is not valid yet",
        AlertDescription::CertificateRevoked => "it has been revoked",
        AlertDescription::BadCertificate | AlertDescription::UnsupportedCertificate => "it is not valid for a client",
        AlertDescription::DecryptError => "its signature does not verify",
        AlertDescription::AccessDenied | AlertDescription::CertificateUnknown => "the server does not accept it",
        _ => return None,
    };
    Some(format!(
        "the server rejected this channel's client certificate: {why} (TLS alert {alert:?}); check the \
         certificate given to ChannelCredentials::client_identity against the server's client CA"
    ))
}

/// `time` as `YYYY-MM-DD hh:mm:ss UTC`.
fn utc(time: UnixTime) -> String {
    let secs = time.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm, for dates after 1970).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3_600, rest % 3_600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(utc(UnixTime::since_unix_epoch(std::time::Duration::ZERO)), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            utc(UnixTime::since_unix_epoch(std::time::Duration::from_secs(951_782_400))),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(
            utc(UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_798_761_599))),
            "2026-12-31 23:59:59 UTC"
        );
    }
}
