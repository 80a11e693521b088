//! What a verified client certificate says: the supervisor reads an agent's identity from here,
//! never from the fields of its requests.

use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;

use crate::PkiError;
use crate::authority::hex;

/// The facts of one certificate the supervisor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// The subject's common name: an agent's host id.
    pub common_name: String,
    /// Lower-case hex of the serial number (no leading zero bytes).
    pub serial: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl PeerCertificate {
    pub fn parse(der: &CertificateDer<'_>) -> Result<Self, PkiError> {
        let bad = |why: &str| PkiError::BadCertificate(why.to_owned());
        let (_, certificate) = x509_parser::parse_x509_certificate(der).map_err(|e| bad(&e.to_string()))?;
        let common_name = certificate
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or_else(|| bad("no common name"))?
            .to_owned();
        let serial = certificate.raw_serial();
        let first = serial.iter().position(|byte| *byte != 0).unwrap_or(serial.len());
        let validity = certificate.validity();
        Ok(Self {
            common_name,
            serial: hex(&serial[first..]),
            not_before: system_time(validity.not_before.timestamp()),
            not_after: system_time(validity.not_after.timestamp()),
        })
    }

    /// The first certificate of a PEM text.
    pub fn parse_pem(pem: &str) -> Result<Self, PkiError> {
        Self::parse(&crate::certificates_from_pem(pem)?[0])
    }
}

fn system_time(unix_seconds: i64) -> SystemTime {
    let seconds = Duration::from_secs(unix_seconds.max(0).unsigned_abs());
    SystemTime::UNIX_EPOCH + seconds
}
