//! The supervisor's TLS material, on first start made and kept in `<data-dir>/tls/` (mode 0700):
//!
//! ```text
//! ca.pem      the CA agents pin (its `sha256:` hash is what `join-token create` prints)
//! ca.key      the CA's key (0600): signs the server certificate and enrolled agents' certificates
//! server.pem  this supervisor's certificate, then the CA (the chain it presents)
//! server.key  its key (0600)
//! ```
//!
//! The server certificate names every address the supervisor is reached on: the listen address
//! (every local address when that is unspecified), `localhost`, the host name, and `--tls-name`s.
//! It is re-issued when a name is missing or it nears expiry; the CA stays. Or the user brings
//! their own: `--tls-cert`/`--tls-key` for the server, `--client-ca` (+ `--client-ca-key` to keep
//! enrolment working) for agents.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use pki::tls::Identity;
use pki::{Authority, CaHash, PeerCertificate};
use rustls::ServerConfig;

/// How long the server certificate made here lives, and how long before expiry it is re-issued.
const SERVER_CERT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
const SERVER_CERT_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Where the TLS material comes from.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// The directory of the material made here (default `<data-dir>/tls`).
    pub dir: Option<PathBuf>,
    /// Extra names (DNS names or addresses) the server certificate must carry.
    pub names: Vec<String>,
    /// A server certificate chain (PEM) and key from the user's PKI instead of ours.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The CA that verifies agents' certificates, and its key for signing enrolments.
    pub client_ca: Option<PathBuf>,
    pub client_ca_key: Option<PathBuf>,
}

/// What the listener and enrolment use.
#[derive(Debug)]
pub struct TlsMaterial {
    pub server: Arc<ServerConfig>,
    /// Signs agents' certificates.
    pub authority: Authority,
    /// What agents pin and store: the last certificate of the server's chain.
    pub ca_pem: String,
    pub ca_hash: CaHash,
    /// The names the server certificate carries (the REST Host check accepts them).
    pub names: Vec<String>,
}

/// Loads (or makes) the material for a supervisor listening on `listen`.
pub fn load_or_create(
    data_dir: &Path,
    options: &TlsOptions,
    listen: SocketAddr,
) -> anyhow::Result<TlsMaterial> {
    let dir = options.dir.clone().unwrap_or_else(|| data_dir.join("tls"));
    private_dir(&dir)?;
    let names = server_names(listen, &options.names);
    let now = SystemTime::now();

    let authority = match (&options.client_ca, &options.client_ca_key) {
        (Some(cert), Some(key)) => Authority::from_pem(&read(cert)?, &read(key)?)?,
        // Certificates of a CA whose key we lack cannot be tied to an enrolment record, and
        // every agent request needs one: refuse it at start, not at every agent's first call.
        (Some(_), None) => {
            anyhow::bail!("--client-ca needs --client-ca-key: the supervisor issues agents' certificates")
        }
        (None, _) => own_authority(&dir, now)?,
    };
    let client_cas = vec![authority.cert_der().clone()];

    let (chain_pem, key_pem) = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => (read(cert)?, read(key)?),
        (None, None) => own_server_certificate(&dir, &authority, &names, now)?,
        _ => anyhow::bail!("give both --tls-cert and --tls-key"),
    };
    let identity = Identity::from_pem(&chain_pem, &key_pem)?;
    let top = identity.chain.last().context("the server certificate file holds no certificate")?;
    let ca_hash = CaHash::of(top).context("the server chain's last certificate does not parse")?;
    let ca_pem = pem_of(top);
    let server = pki::tls::server_config(identity, &client_cas)?;
    Ok(TlsMaterial { server, authority, ca_pem, ca_hash, names })
}

fn own_authority(dir: &Path, now: SystemTime) -> anyhow::Result<Authority> {
    let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
    if cert.exists() && key.exists() {
        return Authority::from_pem(&read(&cert)?, &read(&key)?)
            .with_context(|| format!("loading the CA in {}", dir.display()));
    }
    let authority = Authority::generate("switchyard CA", now)?;
    write_private(&key, &authority.key_pem())?;
    write_private(&cert, authority.cert_pem())?;
    tracing::info!(ca = %dir.join("ca.pem").display(), hash = %authority.hash()?, "made a new CA");
    Ok(authority)
}

/// The server certificate in `dir`, re-issued when it lacks one of `names` or nears expiry.
fn own_server_certificate(
    dir: &Path,
    authority: &Authority,
    names: &[String],
    now: SystemTime,
) -> anyhow::Result<(String, String)> {
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    if let (Ok(chain), Ok(key_pem)) = (fs::read_to_string(&cert), fs::read_to_string(&key))
        && still_good(&chain, authority, names, now)
    {
        return Ok((chain, key_pem));
    }
    let issued = authority.issue_server(names, now, SERVER_CERT_LIFETIME)?;
    let chain = format!("{}{}", issued.issued.cert_pem, authority.cert_pem());
    write_private(&key, &issued.key_pem)?;
    write_private(&cert, &chain)?;
    tracing::info!(names = ?names, "issued the server certificate");
    Ok((chain, issued.key_pem))
}

/// Whether a kept server chain is ours, names every name and has time left.
fn still_good(chain: &str, authority: &Authority, names: &[String], now: SystemTime) -> bool {
    let Ok(certificates) = pki::certificates_from_pem(chain) else { return false };
    let Some(top) = certificates.last() else { return false };
    if top.as_ref() != authority.cert_der().as_ref() {
        return false;
    }
    let Ok(peer) = PeerCertificate::parse(&certificates[0]) else { return false };
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(&certificates[0]) else { return false };
    let carried: Vec<String> = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                        ip_of(bytes).map(|ip| ip.to_string())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    names.iter().all(|name| carried.contains(name)) && peer.not_after > now + SERVER_CERT_RENEW_BEFORE
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Every name the server is reached by: the listen address (or every local one), loopback,
/// `localhost`, the host name, and the extra ones.
pub fn server_names(listen: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if listen.ip().is_unspecified() {
        names.extend(local_addresses().into_iter().map(|ip| ip.to_string()));
    } else {
        names.push(listen.ip().to_string());
    }
    if let Ok(host) = fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host.parse::<IpAddr>().is_err() {
            names.push(host.to_owned());
        }
    }
    names.extend(extra.iter().cloned());
    let mut unique = Vec::with_capacity(names.len());
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// The host's addresses, for a supervisor listening on all of them.
fn local_addresses() -> Vec<IpAddr> {
    let Ok(addresses) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    addresses
        .filter_map(|ifaddr| ifaddr.address)
        .filter_map(|address| {
            address
                .as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80))
        .collect()
}

fn pem_of(certificate: &rustls_pki_types::CertificateDer<'_>) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Creates `dir` (and parents) 0700, and tightens it if it exists.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    store::private_fs::create_private_dir(dir).with_context(|| format!("creating {} (0700)", dir.display()))
}

/// Writes a file only its owner can read, replacing it atomically and durably.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    store::private_fs::write_atomically(path, contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
