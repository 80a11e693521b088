//! The rustls configurations of both ends. The supervisor asks for a client certificate but does
//! not require one at the TLS layer: agents' gRPC requires it (checked per request), operators'
//! REST authenticates users instead, and an enrolling agent has none yet.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::{CaHash, PkiError, provider};

/// What the supervisor speaks over TLS, in preference order (gRPC needs h2).
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A certificate chain and its key.
#[derive(Debug)]
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        Ok(Self { chain: crate::certificates_from_pem(chain_pem)?, key: crate::key_from_pem(key_pem)? })
    }
}

/// The supervisor's configuration: `server` presents itself (its chain should end with the CA
/// agents pin); client certificates are verified against `client_cas` when offered.
pub fn server_config(
    server: Identity,
    client_cas: &[CertificateDer<'static>],
) -> Result<Arc<ServerConfig>, PkiError> {
    let roots = root_store(client_cas)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(server.chain, server.key)?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// How a client trusts the supervisor.
#[derive(Debug, Clone)]
pub enum Trust {
    /// The supervisor's chain must lead to one of these CAs.
    Roots(Vec<CertificateDer<'static>>),
    /// The supervisor's chain must contain a CA with this hash (joining with a token), which then
    /// verifies it like a root.
    Pinned(CaHash),
}

/// A client configuration speaking `alpn` (`h2` for gRPC), with a client certificate if given.
pub fn client_config(
    trust: &Trust,
    client: Option<Identity>,
    alpn: &[&[u8]],
) -> Result<Arc<ClientConfig>, PkiError> {
    let builder = ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match trust {
        Trust::Roots(roots) => builder.with_root_certificates(root_store(roots)?),
        Trust::Pinned(hash) => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(PinnedCa { hash: *hash }))
        }
    };
    let mut config = match client {
        Some(identity) => builder.with_client_auth_cert(identity.chain, identity.key)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

fn root_store(roots: &[CertificateDer<'static>]) -> Result<RootCertStore, PkiError> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone())?;
    }
    Ok(store)
}

/// Trusts a server whose presented chain holds the pinned CA and verifies under it (name,
/// validity, signatures): the kubeadm discovery check, without a CA file.
#[derive(Debug)]
struct PinnedCa {
    hash: CaHash,
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let pinned = intermediates
            .iter()
            .find(|certificate| CaHash::of(certificate) == Some(self.hash))
            .ok_or_else(|| {
                rustls::Error::General(format!(
                    "the supervisor's certificate chain holds no CA with hash {}",
                    self.hash
                ))
            })?;
        let mut roots = RootCertStore::empty();
        roots.add(pinned.clone().into_owned())?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}
