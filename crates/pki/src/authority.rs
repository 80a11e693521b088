//! The supervisor's certificate authority: it signs the supervisor's server certificate and every
//! enrolled agent's client certificate.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;

use crate::{CaHash, PkiError};

/// How long a CA made here lives.
pub const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Certificates start this far in the past, so that a peer whose clock is a little behind
/// accepts them.
const BACKDATE: Duration = Duration::from_secs(300);

/// A CA: its certificate and signing key.
#[derive(Debug)]
pub struct Authority {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key: KeyPair,
}

/// A certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    /// Lower-case hex of the serial number.
    pub serial: String,
    pub not_after: SystemTime,
}

/// A certificate with the key it was made for (the supervisor's own server certificate).
#[derive(Debug, Clone)]
pub struct IssuedWithKey {
    pub issued: Issued,
    pub key_pem: String,
}

impl Authority {
    /// A new self-signed CA named `name`.
    pub fn generate(name: &str, now: SystemTime) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(PkiError::KeyGeneration)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        set_validity(&mut params, now, CA_LIFETIME)?;
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
        let certificate = params.self_signed(&key).map_err(PkiError::Issue)?;
        Ok(Self { cert_pem: certificate.pem(), cert_der: certificate.der().clone(), key })
    }

    /// A CA from its PEM certificate and key (files kept by the supervisor, or given by the user).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let cert_der = crate::certificates_from_pem(cert_pem)?.remove(0);
        let key = KeyPair::from_pem(key_pem).map_err(|e| PkiError::BadKey(e.to_string()))?;
        Ok(Self { cert_pem: cert_pem.to_owned(), cert_der, key })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// What agents pin.
    pub fn hash(&self) -> Result<CaHash, PkiError> {
        CaHash::of(&self.cert_der).ok_or_else(|| PkiError::BadCertificate("the CA does not parse".to_owned()))
    }

    /// A server certificate (and a fresh key) for `names`: IP addresses and DNS names.
    pub fn issue_server(
        &self,
        names: &[String],
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<IssuedWithKey, PkiError> {
        let key = KeyPair::generate().map_err(PkiError::KeyGeneration)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name("switchyard supervisor");
        params.subject_alt_names = names.iter().map(|name| san(name)).collect::<Result<_, _>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let issued = self.sign(params, &key, now, lifetime)?;
        Ok(IssuedWithKey { issued, key_pem: key.serialize_pem() })
    }

    /// An agent's client certificate for `host_id`, from its certificate request. Only the
    /// request's key is used (and its signature checked: the agent holds the key); the subject is
    /// the supervisor's choice.
    pub fn issue_agent(
        &self,
        csr_pem: &str,
        host_id: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Issued, PkiError> {
        let request = CertificateSigningRequestParams::from_pem(csr_pem).map_err(PkiError::BadRequest)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(host_id);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params, &request.public_key, now, lifetime)
    }

    fn sign(
        &self,
        mut params: CertificateParams,
        public_key: &impl rcgen::PublicKeyData,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Issued, PkiError> {
        let serial = random_serial()?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.use_authority_key_identifier_extension = true;
        let not_after = set_validity(&mut params, now, lifetime)?;
        let issuer = Issuer::from_ca_cert_der(&self.cert_der, &self.key).map_err(PkiError::Issue)?;
        let certificate = params.signed_by(public_key, &issuer).map_err(PkiError::Issue)?;
        Ok(Issued { cert_pem: certificate.pem(), serial: hex(&serial), not_after })
    }
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn san(name: &str) -> Result<SanType, PkiError> {
    match name.parse::<IpAddr>() {
        Ok(ip) => Ok(SanType::IpAddress(ip)),
        Err(_) => Ok(SanType::DnsName(name.try_into().map_err(PkiError::Issue)?)),
    }
}

/// Sets not-before (a little in the past) and not-after; returns not-after.
fn set_validity(
    params: &mut CertificateParams,
    now: SystemTime,
    lifetime: Duration,
) -> Result<SystemTime, PkiError> {
    let not_after = now + lifetime;
    // Short-lived certificates (tests) are backdated less, so that "two thirds of the life"
    // stays close to two thirds after issue.
    let backdate = BACKDATE.min(lifetime / 4);
    params.not_before = offset_time(now.checked_sub(backdate).unwrap_or(now))?;
    params.not_after = offset_time(not_after)?;
    Ok(not_after)
}

fn offset_time(at: SystemTime) -> Result<time::OffsetDateTime, PkiError> {
    let seconds = at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| PkiError::Issue(rcgen::Error::Time))
}

/// A positive 127-bit serial number from the system's secure random source.
fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = [0u8; 16];
    crate::provider()
        .secure_random
        .fill(&mut serial)
        .map_err(|_| PkiError::KeyGeneration(rcgen::Error::RingUnspecified))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    Ok(serial)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::peer::PeerCertificate;
    use crate::request::AgentKey;

    #[test]
    fn an_agent_certificate_names_its_host_and_chains_to_the_ca() {
        let now = SystemTime::now();
        let ca = Authority::generate("test CA", now).unwrap();
        let agent = AgentKey::generate("host-1").unwrap();
        let issued = ca.issue_agent(&agent.csr_pem, "host-1", now, Duration::from_secs(3600)).unwrap();
        let der = crate::certificates_from_pem(&issued.cert_pem).unwrap().remove(0);
        let peer = PeerCertificate::parse(&der).unwrap();
        assert_eq!(peer.common_name, "host-1");
        assert_eq!(peer.serial, issued.serial);
        let lifetime = peer.not_after.duration_since(now).unwrap();
        assert!(
            lifetime <= Duration::from_secs(3600) && lifetime > Duration::from_secs(3590),
            "{lifetime:?}"
        );
        // Reloaded from its PEM files, the CA has the same hash.
        let again = Authority::from_pem(ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(again.hash().unwrap(), ca.hash().unwrap());
    }

    #[test]
    fn a_request_that_is_not_one_is_refused() {
        let ca = Authority::generate("test CA", SystemTime::now()).unwrap();
        let error = ca.issue_agent(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "h",
            SystemTime::now(),
            Duration::from_secs(60),
        );
        assert!(matches!(error, Err(PkiError::BadRequest(_))), "{error:?}");
    }
}
