//! An enrolled host: what its certificate was issued for. The store's record, not the request,
//! says who a certificate's holder is.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// One enrolled host, keyed by host id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrolmentRecord {
    pub host_id: String,
    pub host_name: String,
    /// The VTEP address the host enrolled with (the operator's token approved it).
    #[schema(value_type = Option<String>)]
    pub vtep: Option<Ipv4Addr>,
    /// Serials of the certificates in force: the newest first, then one being renewed away
    /// (a connection opened with it may still be running).
    pub serials: Vec<String>,
    /// When the newest certificate expires (ms since the Unix epoch).
    pub not_after_ms: u64,
    pub enrolled_ms: u64,
    /// The address the host enrolled from.
    pub enrolled_from: String,
    /// The join token it used.
    pub token_id: String,
    /// Revoked by an operator: its certificates are refused; a new token is needed to return.
    #[serde(default)]
    pub revoked: bool,
}

/// How many certificate serials stay in force at once (the new one and the one it replaced).
const SERIALS_KEPT: usize = 2;

/// Why a certificate does not (or no longer) identify a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRefused {
    #[error("host {host_id} is not enrolled (removed by an operator, or never enrolled here)")]
    NotEnrolled { host_id: String },
    #[error("host {host_id} was revoked by an operator; it needs a new join token to return")]
    Revoked { host_id: String },
    #[error("certificate {serial} of host {host_id} has been replaced")]
    Superseded { host_id: String, serial: String },
}

impl EnrolmentRecord {
    /// Whether the certificate with `serial` speaks for this host.
    pub fn accepts(&self, serial: &str) -> Result<(), CertificateRefused> {
        if self.revoked {
            return Err(CertificateRefused::Revoked { host_id: self.host_id.clone() });
        }
        if !self.serials.iter().any(|kept| kept == serial) {
            return Err(CertificateRefused::Superseded {
                host_id: self.host_id.clone(),
                serial: serial.to_owned(),
            });
        }
        Ok(())
    }

    /// The record after a renewal issued certificate `serial`, valid until `not_after_ms`.
    pub fn renewed(&self, serial: String, not_after_ms: u64) -> Self {
        let mut serials = vec![serial];
        serials.extend(self.serials.iter().take(SERIALS_KEPT - 1).cloned());
        Self { serials, not_after_ms, ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> EnrolmentRecord {
        EnrolmentRecord {
            host_id: "h1".into(),
            host_name: "bilbo".into(),
            vtep: None,
            serials: vec!["01".into()],
            not_after_ms: 100,
            enrolled_ms: 0,
            enrolled_from: "127.0.0.1".into(),
            token_id: "abcdef".into(),
            revoked: false,
        }
    }

    #[test]
    fn renewal_keeps_the_previous_certificate_for_open_connections_only_once() {
        let first = record();
        let second = first.renewed("02".into(), 200);
        assert_eq!(second.accepts("01"), Ok(()));
        assert_eq!(second.accepts("02"), Ok(()));
        let third = second.renewed("03".into(), 300);
        assert!(matches!(third.accepts("01"), Err(CertificateRefused::Superseded { .. })));
        assert_eq!(third.accepts("02"), Ok(()));
        assert_eq!(third.not_after_ms, 300);
    }

    #[test]
    fn a_revoked_host_is_refused_whatever_its_certificate() {
        let revoked = EnrolmentRecord { revoked: true, ..record() };
        assert!(matches!(revoked.accepts("01"), Err(CertificateRefused::Revoked { .. })));
    }
}
