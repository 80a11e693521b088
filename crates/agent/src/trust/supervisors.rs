//! The supervisors an agent may connect to (`--supervisor URL[,URL…]`) and the one it is
//! connected to. Every supervisor of a cluster shares the store, the CA and so the agent's
//! certificate: the link moves between them freely, and the port calls and the overlay stream
//! follow it to whichever one it holds.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use agent_api::{Scheme, SupervisorEndpoints};
use rustls_pki_types::ServerName;

use super::channel::{SupervisorTarget, Tls};
use super::{Credentials, TrustError, TrustOptions};

/// How long resolving one supervisor's host name may take before the next supervisor is tried.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The configured supervisors, how to secure a connection to each, and the current one.
#[derive(Debug)]
pub struct Supervisors {
    endpoints: SupervisorEndpoints,
    /// Per endpoint, in order: what its TLS connections are made with (`None` with `--insecure`).
    tls: Vec<Option<Tls>>,
    credentials: Option<Arc<Credentials>>,
    /// The address the supervisor link is registered with, while it is.
    current: RwLock<Option<SupervisorTarget>>,
}

/// Why a supervisor's host name gave no address to try.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve {url}: {source}")]
    Lookup { url: String, source: std::io::Error },
    #[error("cannot resolve {url}: no answer within {RESOLVE_TIMEOUT:?}")]
    Timeout { url: String },
    #[error("{url} resolves to no address")]
    NoAddress { url: String },
    #[error(transparent)]
    Trust(#[from] TrustError),
}

impl Supervisors {
    /// Checks that `endpoints` are secured as `trust` says: `https://`, or `http://` with
    /// `--insecure`. Done first at start: a wrong URL is the first thing to say.
    pub fn check(endpoints: &SupervisorEndpoints, trust: &TrustOptions) -> Result<(), TrustError> {
        let insecure = matches!(trust, TrustOptions::Insecure);
        let scheme = endpoints.scheme();
        match (scheme, insecure) {
            (Scheme::Https, false) | (Scheme::Http, true) => Ok(()),
            _ => Err(TrustError::WrongScheme {
                url: endpoints.to_string(),
                scheme: scheme.as_str().to_owned(),
            }),
        }
    }

    /// The supervisors of `endpoints`; `credentials` are required unless it is `--insecure`.
    pub fn new(
        endpoints: SupervisorEndpoints,
        trust: &TrustOptions,
        credentials: Option<Arc<Credentials>>,
    ) -> Result<Self, TrustError> {
        Self::check(&endpoints, trust)?;
        let secured = !matches!(trust, TrustOptions::Insecure);
        let credentials = match (secured, credentials) {
            (false, _) => None,
            (true, Some(credentials)) => Some(credentials),
            (true, None) => return Err(TrustError::NotEnrolled),
        };
        let tls = endpoints
            .iter()
            .map(|endpoint| {
                let Some(credentials) = &credentials else { return Ok(None) };
                let server_name = ServerName::try_from(endpoint.host().to_owned()).map_err(|e| {
                    TrustError::BadUrl { url: endpoint.url().to_owned(), reason: e.to_string() }
                })?;
                Ok(Some(Tls { credentials: Arc::clone(credentials), server_name }))
            })
            .collect::<Result<_, TrustError>>()?;
        Ok(Self { endpoints, tls, credentials, current: RwLock::new(None) })
    }

    /// The supervisors as configured, in the order they are tried.
    pub fn endpoints(&self) -> &SupervisorEndpoints {
        &self.endpoints
    }

    /// The agent's credentials (`None` with `--insecure`).
    pub fn credentials(&self) -> Option<&Arc<Credentials>> {
        self.credentials.as_ref()
    }

    /// The addresses of the `index`th supervisor, in the resolver's order: one for an address
    /// URL, each of a host name's (resolved afresh every time: addresses change).
    pub async fn resolve(&self, index: usize) -> Result<Vec<SupervisorTarget>, ResolveError> {
        let Some(endpoint) = self.endpoints.get(index) else { return Ok(Vec::new()) };
        let url = endpoint.url().to_owned();
        let addrs: Vec<SocketAddr> = match endpoint.ip() {
            Some(ip) => vec![SocketAddr::new(ip, endpoint.port())],
            None => {
                let lookup = tokio::net::lookup_host((endpoint.host(), endpoint.port()));
                let found = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
                    .await
                    .map_err(|_| ResolveError::Timeout { url: url.clone() })?
                    .map_err(|source| ResolveError::Lookup { url: url.clone(), source })?;
                let mut addrs: Vec<SocketAddr> = Vec::new();
                for addr in found {
                    if !addrs.contains(&addr) {
                        addrs.push(addr);
                    }
                }
                addrs
            }
        };
        if addrs.is_empty() {
            return Err(ResolveError::NoAddress { url });
        }
        let tls = self.tls.get(index).cloned().flatten();
        Ok(addrs
            .into_iter()
            .map(|addr| SupervisorTarget::new(endpoint, addr, tls.clone()))
            .collect::<Result<_, TrustError>>()?)
    }

    /// The supervisor the link is registered with, if it is.
    pub fn current(&self) -> Option<SupervisorTarget> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records where the link is registered (`None`: nowhere, headless).
    pub(crate) fn set_current(&self, target: Option<SupervisorTarget>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = target;
    }

    /// The configured URLs, comma-separated (for messages).
    pub fn describe(&self) -> String {
        self.endpoints.urls().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::CaTrust;

    fn list(text: &str) -> SupervisorEndpoints {
        text.parse().expect("a valid list")
    }

    #[test]
    fn the_scheme_must_match_how_the_agent_trusts() {
        let secure = list("https://10.0.0.1:7400,https://10.0.0.2:7400");
        let plain = list("http://10.0.0.1:7400");
        assert!(Supervisors::check(&secure, &TrustOptions::Enrolled).is_ok());
        assert!(Supervisors::check(&plain, &TrustOptions::Insecure).is_ok());
        let error = Supervisors::check(&plain, &TrustOptions::Enrolled).expect_err("http without --insecure");
        assert!(error.to_string().contains("is http://; use https://"), "{error}");
        let error = Supervisors::check(&secure, &TrustOptions::Insecure).expect_err("https with --insecure");
        assert!(
            error.to_string().contains("https://10.0.0.1:7400,https://10.0.0.2:7400 is https://"),
            "{error}"
        );
        let error = Supervisors::new(secure, &TrustOptions::Enrolled, None).expect_err("no credentials");
        assert!(matches!(error, TrustError::NotEnrolled), "{error}");
    }

    #[tokio::test]
    async fn each_supervisor_resolves_to_its_addresses_and_the_current_one_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hash = format!("sha256:{}", "0".repeat(64)).parse().expect("hash");
        let trust = TrustOptions::Join { token: "aaaaaa.aaaaaaaaaaaaaaaa".into(), ca: CaTrust::Hash(hash) };
        let credentials = Arc::new(Credentials::load(dir.path(), "host-1", &trust).expect("joining"));
        let supervisors = Supervisors::new(
            list("https://127.0.0.1:7400,https://localhost:7401"),
            &trust,
            Some(credentials),
        )
        .expect("supervisors");
        assert_eq!(supervisors.describe(), "https://127.0.0.1:7400, https://localhost:7401");

        let first = supervisors.resolve(0).await.expect("an address");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].to_string(), "https://127.0.0.1:7400", "an address URL says no more");
        let named = supervisors.resolve(1).await.expect("localhost resolves");
        assert!(!named.is_empty());
        for target in &named {
            assert_eq!(target.addr().port(), 7401);
            assert!(target.addr().ip().is_loopback(), "{target}");
            assert_eq!(target.to_string(), format!("https://localhost:7401 ({})", target.addr()));
            assert!(target.credentials().is_some());
        }
        assert!(supervisors.resolve(2).await.expect("none").is_empty());

        assert!(supervisors.current().is_none());
        supervisors.set_current(Some(named[0].clone()));
        assert!(supervisors.current().is_some_and(|current| current.same_as(&named[0])));
        assert!(!first[0].same_as(&named[0]));
        supervisors.set_current(None);
        assert!(supervisors.current().is_none());
    }
}
