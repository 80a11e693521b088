//! How to reach an etcd cluster.

use std::path::PathBuf;
use std::time::Duration;

/// Settings for [`super::EtcdStore::connect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// `http://host:port` (or `https://…`; with [`EtcdOptions::tls`] set, `http://` endpoints are
    /// switched to `https://`). [`crate::parse_store_url`] makes these from `etcd://…`.
    pub endpoints: Vec<String>,
    /// Every key is stored under this prefix and reads and watches strip it again, so several
    /// Switchyard installations (or other programs) can share one etcd. Default: empty.
    pub prefix: String,
    /// TLS to etcd; `None`: plain HTTP/2.
    pub tls: Option<EtcdTls>,
    /// How long connecting to an endpoint may take.
    pub connect_timeout: Duration,
    /// How long one request may take before it fails with [`crate::StoreError::Unavailable`]
    /// (a write without quorum waits this long).
    pub request_timeout: Duration,
}

impl EtcdOptions {
    /// Options for these endpoints with the default prefix (none) and timeouts.
    pub fn new(endpoints: Vec<String>) -> Self {
        Self { endpoints, ..Self::default() }
    }
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            prefix: String::new(),
            tls: None,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// PEM files for TLS to etcd: the CA that signed etcd's server certificates, and optionally a
/// client certificate and key (etcd's `--client-cert-auth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdTls {
    pub ca: PathBuf,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}
