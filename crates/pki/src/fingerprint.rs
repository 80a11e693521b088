//! The CA hash an agent pins when it joins: `sha256:` and the hex SHA-256 of the CA certificate's
//! SubjectPublicKeyInfo (what kubeadm's `--discovery-token-ca-cert-hash` is), so it survives the
//! CA certificate being re-issued with the same key.

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;
use sha2::{Digest as _, Sha256};

use crate::PkiError;

/// A pinned CA: the SHA-256 of its public key info.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaHash([u8; 32]);

impl CaHash {
    /// The hash of `certificate`'s public key, or `None` when it does not parse.
    pub fn of(certificate: &CertificateDer<'_>) -> Option<Self> {
        let (_, parsed) = x509_parser::parse_x509_certificate(certificate).ok()?;
        Some(Self(Sha256::digest(parsed.tbs_certificate.subject_pki.raw).into()))
    }
}

impl fmt::Display for CaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for CaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for CaHash {
    type Err = PkiError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || PkiError::BadHash(text.to_owned());
        let hex = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_agree() {
        let hash = CaHash([0xab; 32]);
        let text = hash.to_string();
        assert_eq!(text.len(), 7 + 64);
        assert_eq!(text.parse::<CaHash>().ok(), Some(hash));
    }

    #[test]
    fn malformed_hashes_are_refused() {
        for text in ["", "sha256:", "sha1:abcd", &format!("sha256:{}", "g".repeat(64)), &"a".repeat(71)] {
            assert!(text.parse::<CaHash>().is_err(), "{text:?}");
        }
    }
}
