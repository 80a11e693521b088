//! The agent's TLS files in `<data-dir>/tls/` (0700): `client.key` (0600), `client.pem`,
//! `ca.pem` (the CA it trusts, learned at enrolment).

use std::fs;
use std::path::{Path, PathBuf};

use rustls_pki_types::CertificateDer;

use super::TrustError;
use crate::fs_atomic::write_atomically as write_private;

/// Where the files are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    dir: PathBuf,
}

/// The files' contents.
#[derive(Debug)]
pub(super) struct Loaded {
    pub key_pem: String,
    pub cert_pem: String,
    pub ca_pem: String,
}

impl TlsFiles {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// The CA the agent trusts.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The enrolled credentials, or `None` before enrolment.
    pub(super) fn load(&self) -> Result<Option<Loaded>, TrustError> {
        if !self.cert().exists() {
            return Ok(None);
        }
        Ok(Some(Loaded {
            key_pem: read(&self.key())?,
            cert_pem: read(&self.cert())?,
            ca_pem: read(&self.ca())?,
        }))
    }

    /// Writes a new key and certificate (and the CA, at enrolment); the key first, so that a
    /// crash never leaves a certificate without its key.
    pub(super) fn save(
        &self,
        key_pem: &str,
        cert_pem: &str,
        ca_pem: Option<&str>,
    ) -> Result<Loaded, TrustError> {
        let failed = |path: &Path, error: std::io::Error| TrustError::File {
            path: path.display().to_string(),
            reason: error.to_string(),
        };
        store::private_fs::create_private_dir(&self.dir).map_err(|e| failed(&self.dir, e))?;
        if let Some(ca_pem) = ca_pem {
            write_private(&self.ca(), ca_pem.as_bytes()).map_err(|e| failed(&self.ca(), e))?;
        }
        write_private(&self.key(), key_pem.as_bytes()).map_err(|e| failed(&self.key(), e))?;
        write_private(&self.cert(), cert_pem.as_bytes()).map_err(|e| failed(&self.cert(), e))?;
        self.load()?.ok_or_else(|| TrustError::File {
            path: self.cert().display().to_string(),
            reason: "vanished".into(),
        })
    }
}

fn read(path: &Path) -> Result<String, TrustError> {
    fs::read_to_string(path)
        .map_err(|e| TrustError::File { path: path.display().to_string(), reason: e.to_string() })
}

/// The certificates of a PEM file.
pub(super) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    Ok(pki::certificates_from_pem(&read(path)?)?)
}
