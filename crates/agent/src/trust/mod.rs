//! How the agent trusts the supervisor and proves who it is.
//!
//! First start: `--join-token T --ca-hash sha256:…` (or `--ca-cert FILE`). The agent connects
//! over TLS trusting only a CA with that hash, sends `Enroll` with the token and a certificate
//! request for its host id, and keeps what it gets in `<data-dir>/tls/` (0700; key 0600). From
//! then on every connection is mutual TLS with that certificate, and restarts need no token. The
//! certificate is renewed at two thirds of its life over the running link; the open streams keep
//! going, new connections use the new certificate.
//!
//! `--insecure` (benchmarks only): plain HTTP, identity from request fields.

mod channel;
pub(crate) mod enrol;
mod files;
pub mod renewal;
mod supervisors;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub use channel::{CONNECT_TIMEOUT, ConnectError, SupervisorTarget, error_chain};
pub use files::TlsFiles;
use pki::tls::{Identity, Trust};
use pki::{CaHash, PeerCertificate};
use rustls::ClientConfig;
pub use supervisors::{ResolveError, Supervisors};

/// What gRPC speaks over TLS.
const ALPN_H2: &[&[u8]] = &[b"h2"];

/// How the agent first trusts the supervisor (before it has the CA file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaTrust {
    /// `--ca-hash sha256:…`: the supervisor's chain must hold a CA with this public key hash.
    Hash(CaHash),
    /// `--ca-cert FILE`: the CA itself, in PEM (read at each attempt: it may appear later).
    File(PathBuf),
}

/// How the agent secures its link (`AgentOptions::trust`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrustOptions {
    /// Enrolled already (its `tls/` files exist), or enrolling with a token.
    #[default]
    Enrolled,
    /// Enrol with this token, trusting the supervisor as given, unless already enrolled.
    Join { token: String, ca: CaTrust },
    /// No TLS, no identity proof: benchmarks only.
    Insecure,
}

/// Why the agent cannot prove who it is.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "this agent is not enrolled: start it once with --join-token T --ca-hash sha256:… \
         (both printed by `join-token create` on the supervisor)"
    )]
    NotEnrolled,
    #[error(
        "the supervisor URL {url} is {scheme}://; use https:// (or --insecure, for benchmarks only, with http://)"
    )]
    WrongScheme { url: String, scheme: String },
    #[error("invalid supervisor URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error(
        "the enrolled certificate is host {enrolled}'s, but this agent runs as host {running} (--host-id)"
    )]
    OtherHost { enrolled: String, running: String },
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
}

/// The agent's credentials: the mutual-TLS configuration once enrolled, swapped on renewal.
#[derive(Debug)]
pub struct Credentials {
    files: TlsFiles,
    join: Option<(String, CaTrust)>,
    current: RwLock<Option<Enrolled>>,
}

/// What an enrolled agent connects with.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub config: Arc<ClientConfig>,
    pub certificate: PeerCertificate,
}

impl Credentials {
    /// Loads the credentials in `data_dir/tls`, or prepares to enrol with `trust`.
    pub fn load(data_dir: &std::path::Path, host_id: &str, trust: &TrustOptions) -> Result<Self, TrustError> {
        let files = TlsFiles::new(data_dir.join("tls"));
        let current = files.load()?.map(|loaded| enrolled(&loaded)).transpose()?;
        if let Some(current) = &current
            && current.certificate.common_name != host_id
        {
            return Err(TrustError::OtherHost {
                enrolled: current.certificate.common_name.clone(),
                running: host_id.to_owned(),
            });
        }
        let join = match trust {
            TrustOptions::Join { token, ca } => Some((token.clone(), ca.clone())),
            _ => None,
        };
        if current.is_none() && join.is_none() {
            return Err(TrustError::NotEnrolled);
        }
        if current.is_some() && join.is_some() {
            tracing::info!("already enrolled ({}): --join-token is not needed", files.dir().display());
        }
        Ok(Self { files, join, current: RwLock::new(current) })
    }

    /// The mutual-TLS configuration, once enrolled.
    pub fn current(&self) -> Option<Enrolled> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Drops the current certificate (the supervisor no longer accepts it) so that the next
    /// attempt enrols again with the join token; false, keeping it, when there is no token.
    pub(crate) fn forget_if_rejoinable(&self) -> bool {
        if self.join.is_none() {
            return false;
        }
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        true
    }

    /// What to trust while enrolling, and with which token.
    pub(crate) fn join(&self) -> Option<&(String, CaTrust)> {
        self.join.as_ref()
    }

    /// A TLS configuration without a client certificate, trusting the supervisor as the join
    /// options say: the one `Enroll` is sent on.
    pub(crate) fn enrolling_config(&self) -> Result<Arc<ClientConfig>, TrustError> {
        let (_, ca) = self.join.as_ref().ok_or(TrustError::NotEnrolled)?;
        let trust = match ca {
            CaTrust::Hash(hash) => Trust::Pinned(*hash),
            CaTrust::File(path) => Trust::Roots(files::read_certificates(path)?),
        };
        Ok(pki::tls::client_config(&trust, None, ALPN_H2)?)
    }

    /// Keeps a certificate the supervisor issued (enrolment or renewal) with its key, and uses
    /// it for new connections from now on.
    pub(crate) fn store(
        &self,
        key_pem: &str,
        cert_pem: &str,
        ca_pem: Option<&str>,
    ) -> Result<Enrolled, TrustError> {
        let loaded = self.files.save(key_pem, cert_pem, ca_pem)?;
        let now = enrolled(&loaded)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now.clone());
        Ok(now)
    }
}

/// `vemcmd show card`'s trust line.
pub fn describe(credentials: Option<&Credentials>, now: std::time::SystemTime) -> String {
    let Some(credentials) = credentials else {
        return "INSECURE: plain HTTP, no proof of identity (--insecure)".to_owned();
    };
    match credentials.current() {
        None => "not enrolled yet: enrolling with the join token".to_owned(),
        Some(enrolled) => {
            let left = enrolled.certificate.not_after.duration_since(now).unwrap_or_default().as_secs();
            format!(
                "mutual TLS, certificate {} expires in {} d {} h (renewed at two thirds of its life)",
                enrolled.certificate.serial,
                left / 86_400,
                left % 86_400 / 3_600
            )
        }
    }
}

fn enrolled(loaded: &files::Loaded) -> Result<Enrolled, TrustError> {
    let identity = Identity::from_pem(&loaded.cert_pem, &loaded.key_pem)?;
    let certificate = PeerCertificate::parse(&identity.chain[0])?;
    let roots = pki::certificates_from_pem(&loaded.ca_pem)?;
    let config = pki::tls::client_config(&Trust::Roots(roots), Some(identity), ALPN_H2)?;
    Ok(Enrolled { config, certificate })
}

/// A connection failure in words, with the TLS reason tonic keeps inside.
pub fn channel_error(error: &ConnectError) -> String {
    error_chain(error)
}
