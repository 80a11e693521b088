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

/// The endpoints (with `https://` when TLS is on) and the client's connection settings.
pub(super) fn client_settings(
    options: &EtcdOptions,
) -> Result<(Vec<String>, etcd_client::ConnectOptions), crate::StoreError> {
    if options.endpoints.is_empty() {
        return Err(crate::StoreError::Unavailable("no etcd endpoints given".into()));
    }
    let endpoints: Vec<String> = match options.tls {
        Some(_) => options
            .endpoints
            .iter()
            .map(|endpoint| match endpoint.strip_prefix("http://") {
                Some(rest) => format!("https://{rest}"),
                None => endpoint.clone(),
            })
            .collect(),
        None => options.endpoints.clone(),
    };
    let mut connect = etcd_client::ConnectOptions::new()
        .with_connect_timeout(options.connect_timeout)
        // HTTP/2 pings notice a member that vanished without closing its connections.
        .with_keep_alive(KEEP_ALIVE_INTERVAL, options.request_timeout)
        .with_keep_alive_while_idle(true)
        // Without a leader a member cannot serve linearizable requests: fail them (and its
        // watches) at once so that the caller tries again, maybe on another member.
        .with_require_leader(true);
    if let Some(tls) = &options.tls {
        connect = connect.with_tls(tls_options(tls)?);
    }
    Ok((endpoints, connect))
}

/// How often an idle connection to etcd is pinged.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

fn tls_options(tls: &EtcdTls) -> Result<etcd_client::TlsOptions, crate::StoreError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|error| crate::StoreError::Open {
            path: path.display().to_string(),
            reason: format!("cannot read this TLS file for etcd: {error}"),
        })
    };
    let mut options =
        etcd_client::TlsOptions::new().ca_certificate(etcd_client::Certificate::from_pem(read(&tls.ca)?));
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            options = options.identity(etcd_client::Identity::from_pem(read(cert)?, read(key)?));
        }
        (None, None) => {}
        (Some(path), None) | (None, Some(path)) => {
            return Err(crate::StoreError::Open {
                path: path.display().to_string(),
                reason: "a client certificate for etcd needs both the certificate and its key".into(),
            });
        }
    }
    Ok(options)
}
