//! The names in an X.509 certificate: its subject alternative names and its subject's common
//! name, read straight from the DER.
//!
//! rustls verifies certificates but parses none for us; webpki, under it, gives DNS and URI
//! names but neither IP addresses nor the common name; x509-parser would bring some twenty
//! crates (nom, asn1-rs, der-parser, time, ...) for these few fields. So this reads only the
//! path to them (RFC 5280, section 4.1): certificate, `tbsCertificate`, `subject`,
//! `extensions`, the `subjectAltName` extension. Every length is checked against what is left;
//! anything malformed gives no names rather than an error or a panic, since a certificate is
//! the peer's input. A server reads only chains rustls has verified, so well-formed DER is the
//! rule.

use std::net::IpAddr;

/// The names of a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Names {
    /// `dNSName` SANs, in certificate order.
    pub(crate) dns: Vec<String>,
    /// `uniformResourceIdentifier` SANs (SPIFFE IDs among them).
    pub(crate) uris: Vec<String>,
    /// `iPAddress` SANs.
    pub(crate) ips: Vec<IpAddr>,
    /// `rfc822Name` SANs.
    pub(crate) emails: Vec<String>,
    /// The subject's first common name (2.5.4.3).
    pub(crate) common_name: Option<String>,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
/// `[0] EXPLICIT Version` of `TBSCertificate`.
const VERSION: u8 = 0xa0;
/// `[3] EXPLICIT Extensions` of `TBSCertificate`.
const EXTENSIONS: u8 = 0xa3;
/// The `GeneralName` choices read (context-specific, primitive).
const RFC822_NAME: u8 = 0x81;
const DNS_NAME: u8 = 0x82;
const URI: u8 = 0x86;
const IP_ADDRESS: u8 = 0x87;
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// id-at-commonName, 2.5.4.3.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Reads the names of the DER certificate `der`. A certificate too malformed to reach a field
/// gives none for that field.
pub(crate) fn names(der: &[u8]) -> Names {
    let mut names = Names::default();
    let Some(tbs) = Reader(der).expect(SEQUENCE).and_then(|cert| Reader(cert).expect(SEQUENCE)) else {
        return names;
    };
    let mut tbs = Reader(tbs);
    if tbs.peek() == Some(VERSION) {
        tbs.next();
    }
    // serialNumber, signature, issuer, validity: skipped whatever they hold.
    for _ in 0..4 {
        tbs.next();
    }
    if let Some(subject) = tbs.expect(SEQUENCE) {
        names.common_name = common_name(subject);
    }
    // subjectPublicKeyInfo, then the optional unique IDs, then the optional extensions.
    while let Some((tag, value)) = tbs.next() {
        if tag == EXTENSIONS {
            if let Some(alt_names) = Reader(value).expect(SEQUENCE).and_then(subject_alt_name) {
                read_general_names(alt_names, &mut names);
            }
            break;
        }
    }
    names
}

/// The first common name of a `Name` (a sequence of sets of type and value pairs).
fn common_name(name: &[u8]) -> Option<String> {
    let mut rdns = Reader(name);
    while let Some((SET, rdn)) = rdns.next() {
        let mut attributes = Reader(rdn);
        while let Some((SEQUENCE, attribute)) = attributes.next() {
            let mut attribute = Reader(attribute);
            if attribute.expect(OID) == Some(COMMON_NAME) {
                let (tag, value) = attribute.next()?;
                return directory_string(tag, value);
            }
        }
    }
    None
}

/// A `DirectoryString` (or the IA5String some CAs use) as text.
fn directory_string(tag: u8, value: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, PrintableString, IA5String, and TeletexString when it holds UTF-8.
        0x0c | 0x13 | 0x16 | 0x14 => String::from_utf8(value.to_vec()).ok(),
        // BMPString: UTF-16, big-endian.
        0x1e if value.len().is_multiple_of(2) => {
            let units = value.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units).collect::<Result<String, _>>().ok()
        }
        _ => None,
    }
}

/// The `GeneralNames` of the subjectAltName extension, in a sequence of extensions.
fn subject_alt_name(extensions: &[u8]) -> Option<&[u8]> {
    let mut extensions = Reader(extensions);
    while let Some((SEQUENCE, extension)) = extensions.next() {
        let mut extension = Reader(extension);
        if extension.expect(OID) != Some(SUBJECT_ALT_NAME) {
            continue;
        }
        if extension.peek() == Some(BOOLEAN) {
            extension.next(); // critical
        }
        return Reader(extension.expect(OCTET_STRING)?).expect(SEQUENCE);
    }
    None
}

fn read_general_names(general_names: &[u8], names: &mut Names) {
    let text = |value: &[u8]| std::str::from_utf8(value).ok().map(str::to_owned);
    let mut general_names = Reader(general_names);
    while let Some((tag, value)) = general_names.next() {
        match tag {
            DNS_NAME => names.dns.extend(text(value)),
            URI => names.uris.extend(text(value)),
            RFC822_NAME => names.emails.extend(text(value)),
            IP_ADDRESS => {
                let ip = match value.len() {
                    4 => <[u8; 4]>::try_from(value).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(value).ok().map(IpAddr::from),
                    _ => None,
                };
                names.ips.extend(ip);
            }
            // otherName, x400Address, directoryName, ediPartyName, registeredID.
            _ => {}
        }
    }
}

/// DER type-length-value elements, one after another.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next element's tag and value; `None` at the end or on malformed input (which ends
    /// the reader).
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let parsed = self.parse();
        if parsed.is_none() {
            self.0 = &[];
        }
        parsed
    }

    fn parse(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // high tag numbers: in none of the structures read here
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form, at most four length bytes; 0x80 (indefinite) is not DER.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            bytes.iter().fold(0usize, |len, &b| (len << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (value, after) = rest.split_at(len);
        self.0 = after;
        Some((tag, value))
    }

    /// The next element's value if it has tag `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (found, value) if found == tag => Some(value),
            _ => {
                self.0 = &[];
                None
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(params: rcgen::CertificateParams) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().expect("a key");
        params.self_signed(&key).expect("a certificate").der().to_vec()
    }

    #[test]
    fn every_kind_of_name_is_read() {
        let mut params =
            rcgen::CertificateParams::new(vec!["client.example.org".to_owned(), "*.example.org".to_owned()])
                .expect("params");
        params.subject_alt_names.extend([
            rcgen::SanType::URI("spiffe://example.org/ns/default/sa/client".try_into().expect("ia5")),
            rcgen::SanType::IpAddress("127.0.0.1".parse().expect("ip")),
            rcgen::SanType::IpAddress("::1".parse().expect("ip")),
            rcgen::SanType::Rfc822Name("ops@example.org".try_into().expect("ia5")),
        ]);
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "Example");
        params.distinguished_name.push(rcgen::DnType::CommonName, "client één");
        let der = certificate(params);

        let names = names(&der);
        assert_eq!(names.dns, ["client.example.org", "*.example.org"]);
        assert_eq!(names.uris, ["spiffe://example.org/ns/default/sa/client"]);
        assert_eq!(names.ips, ["127.0.0.1".parse::<IpAddr>().expect("ip"), "::1".parse().expect("ip")]);
        assert_eq!(names.emails, ["ops@example.org"]);
        assert_eq!(names.common_name.as_deref(), Some("client één"));

        // The same as rustls' own parser (webpki) reads.
        #[cfg(feature = "tls")]
        {
            let cert = tokio_rustls::rustls::pki_types::CertificateDer::from(der.as_slice());
            let webpki = webpki::EndEntityCert::try_from(&cert).expect("webpki parses it");
            assert_eq!(webpki.valid_dns_names().collect::<Vec<_>>(), names.dns);
            assert_eq!(webpki.valid_uri_names().collect::<Vec<_>>(), names.uris);
        }
    }

    #[test]
    fn a_certificate_without_names_has_none() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        assert_eq!(names(&certificate(params)), Names::default());
    }

    #[test]
    fn malformed_input_gives_no_names_and_no_panic() {
        let mut params = rcgen::CertificateParams::new(vec!["a.example".to_owned()]).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, "a");
        let der = certificate(params);
        // Every truncation, and every single-byte corruption of the first 300 bytes.
        for len in 0..der.len() {
            let _ = names(&der[..len]);
        }
        for at in 0..der.len().min(300) {
            let mut bad = der.clone();
            bad[at] ^= 0xff;
            let _ = names(&bad);
        }
        assert_eq!(names(&[]), Names::default());
        assert_eq!(names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), Names::default());
        assert_eq!(names(&der).dns, ["a.example"]);
    }
}
