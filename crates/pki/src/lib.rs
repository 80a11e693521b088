//! Switchyard's certificates, the kubeadm way: the supervisor holds a CA; an agent joins with a
//! one-time token and the CA's `sha256:` hash, sends a certificate request, and from then on uses
//! mutual TLS with the certificate it got back. Its host id is the certificate's common name.
//!
//! | module | job |
//! |---|---|
//! | [`authority`] | the CA: create, load, issue server and agent certificates |
//! | [`request`] | an agent's key and certificate request |
//! | [`fingerprint`] | the CA hash an agent pins (`sha256:` of the CA's public key info) |
//! | [`peer`] | what a verified client certificate says (host id, serial, expiry) |
//! | [`tls`] | rustls configurations for the supervisor, an enrolling agent, an enrolled one |
//!
//! No file I/O here: the supervisor and the agent keep the PEM files.

pub mod authority;
pub mod fingerprint;
pub mod peer;
pub mod request;
pub mod tls;

pub use authority::Authority;
pub use fingerprint::CaHash;
pub use peer::PeerCertificate;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why certificate work failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot generate a key: {0}")]
    KeyGeneration(rcgen::Error),
    #[error("cannot make a certificate: {0}")]
    Issue(rcgen::Error),
    #[error("not a valid certificate request: {0}")]
    BadRequest(rcgen::Error),
    #[error("not a PEM certificate: {0}")]
    BadCertificate(String),
    #[error("not a PEM private key: {0}")]
    BadKey(String),
    #[error("invalid CA hash {0:?}: expected sha256: and 64 hex digits")]
    BadHash(String),
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    #[error("TLS verifier setup: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Every certificate in a PEM text, in order.
pub fn certificates_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    if certificates.is_empty() {
        return Err(PkiError::BadCertificate("no CERTIFICATE block".to_owned()));
    }
    Ok(certificates)
}

/// The private key in a PEM text.
pub fn key_from_pem(pem: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| PkiError::BadKey(e.to_string()))
}

/// The ring provider every configuration here uses. rustls 0.23.48 deprecates it because it
/// lacks post-quantum hybrid key exchange (aws-lc-rs has it); ring builds with nothing but a C
/// compiler, and X25519/P-256 with ECDSA keys is what agents and supervisors negotiate today.
#[allow(deprecated)]
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
