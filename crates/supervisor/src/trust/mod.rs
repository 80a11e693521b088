//! Who is calling. Every request carries a [`Connection`] (put there by the listener) and, once
//! authenticated, a [`Caller`]: an operator (REST, the shell) or a module (an agent's gRPC, named by
//! its client certificate). Handlers read identities only from here, never from request fields.

use std::net::SocketAddr;

use pki::PeerCertificate;

pub mod authenticate;
pub mod cache;
pub mod credentials;
pub mod first_admin;
pub mod limiter;
pub mod origin;
pub mod password;
pub mod tokens;

/// What the listener knows about a connection; an extension on every request it carries.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client's address.
    pub peer: SocketAddr,
    /// The connection is TLS (false only when the supervisor runs `--insecure`).
    pub tls: bool,
    /// The client certificate, if one was presented (verified against the CA by the TLS layer;
    /// whether it is still an enrolled host's is checked per request).
    pub client: Option<PeerCertificate>,
}

/// An operator's role: the config crate's, where `username … role ROLE` is parsed.
pub use config::Role;

/// An authenticated caller; an extension on every request that passed authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An operator account.
    Operator { user: String, role: Role },
    /// An enrolled agent, by its certificate.
    Module { host_id: String },
    /// Nobody checked: the supervisor runs `--insecure` (benchmarks only).
    Insecure,
}

impl Caller {
    /// The name the audit log records: the user, `module:<host id>`, or `insecure`.
    pub fn audit_name(&self) -> String {
        match self {
            Self::Operator { user, .. } => user.clone(),
            Self::Module { host_id } => format!("module:{host_id}"),
            Self::Insecure => "insecure".to_owned(),
        }
    }

    /// Whether the caller may change configuration and state.
    pub fn may_write(&self) -> bool {
        match self {
            Self::Operator { role, .. } => role.may_write(),
            Self::Module { .. } | Self::Insecure => true,
        }
    }
}

/// A secret string (a password given on the command line's behalf): `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}
