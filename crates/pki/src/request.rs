//! An agent's side of enrolment: a fresh key and a certificate request naming its host id.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

use crate::PkiError;

/// A new key and the request the agent sends with its join token (or to renew).
#[derive(Debug)]
pub struct AgentKey {
    pub key_pem: String,
    pub csr_pem: String,
}

impl AgentKey {
    pub fn generate(host_id: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate().map_err(PkiError::KeyGeneration)?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, host_id);
        params.distinguished_name = name;
        let request = params.serialize_request(&key).map_err(PkiError::Issue)?;
        let csr_pem = request.pem().map_err(PkiError::Issue)?;
        Ok(Self { key_pem: key.serialize_pem(), csr_pem })
    }
}
