//! When to renew: at two thirds of a certificate's life (kubelet renews between 70% and 90%),
//! leaving a third for a supervisor outage to end before the certificate does.

use std::time::SystemTime;

use pki::PeerCertificate;

/// Whether `certificate` should be renewed at `now`.
pub fn due(certificate: &PeerCertificate, now: SystemTime) -> bool {
    let Ok(life) = certificate.not_after.duration_since(certificate.not_before) else { return true };
    now >= certificate.not_before + life * 2 / 3
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn due_at_two_thirds() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let certificate = PeerCertificate {
            common_name: "h".into(),
            serial: "01".into(),
            not_before: start,
            not_after: start + Duration::from_secs(300),
        };
        assert!(!due(&certificate, start + Duration::from_secs(199)));
        assert!(due(&certificate, start + Duration::from_secs(200)));
        let backwards = PeerCertificate { not_after: start - Duration::from_secs(1), ..certificate };
        assert!(due(&backwards, start));
    }
}
