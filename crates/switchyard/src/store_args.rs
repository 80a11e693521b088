//! `--store` and its companions: where `switchyard supervisor` (and its `export` / `import`)
//! keeps the supervisor's state — the embedded redb file in the data dir (the default, one
//! machine) or an etcd cluster (several supervisors sharing one state).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use store::{EtcdOptions, EtcdStore, EtcdTls, RedbStore, Store, StoreError, StoreUrl, parse_store_url};

/// Where the state lives. Flattened into `switchyard supervisor`, `… export` and `… import`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// `redb`: the embedded store, DATA_DIR/store.redb (one supervisor). `etcd://HOST[:PORT][,…]`:
    /// an etcd cluster that several supervisors share (port 2379 when none is given).
    #[arg(
        long = "store",
        value_name = "redb|etcd://HOST:PORT,…",
        default_value = "redb",
        env = "SWITCHYARD_STORE"
    )]
    pub store: String,
    /// etcd only: put every key under this prefix, for an etcd that other programs (or other
    /// Switchyard domains) use too. Default: none (every key already starts with /switchyard/).
    #[arg(long, value_name = "PREFIX", default_value = "", hide_default_value = true)]
    pub store_prefix: String,
    /// etcd only: speak TLS to etcd, trusting this CA (PEM) for its server certificates.
    #[arg(long, value_name = "FILE")]
    pub etcd_ca: Option<PathBuf>,
    /// etcd only: the client certificate (PEM) for an etcd run with --client-cert-auth.
    #[arg(long, value_name = "FILE", requires_all = ["etcd_key", "etcd_ca"])]
    pub etcd_cert: Option<PathBuf>,
    /// The key (PEM) of --etcd-cert.
    #[arg(long, value_name = "FILE", requires = "etcd_cert")]
    pub etcd_key: Option<PathBuf>,
}

/// Why the store could not be opened. Each message says its cause itself (an error chain printed
/// whole would say it twice).
#[derive(Debug, thiserror::Error)]
pub enum StoreArgsError {
    #[error("--store: {0}")]
    InvalidUrl(StoreError),
    #[error("{flag} applies to an etcd store only (--store etcd://…); this is --store redb")]
    EtcdOnly { flag: &'static str },
    #[error("--store-prefix {prefix:?}: a prefix starts with `/` and does not end with one (e.g. /site-a)")]
    InvalidPrefix { prefix: String },
    #[error("no store at {path}: is --data-dir right? (or is the state in etcd: --store etcd://…?)")]
    Missing { path: String },
    #[error(
        "{path} is in use by a running supervisor (an embedded store has one user at a time): stop it first{hint}"
    )]
    Locked { path: String, hint: &'static str },
    #[error("opening the store in {dir}: {error}")]
    Redb { dir: String, error: StoreError },
    #[error(
        "cannot reach etcd at {endpoints}: {error}. Check that etcd runs there and serves clients on those \
         addresses (its --listen-client-urls / --advertise-client-urls), that this host can reach them, and \
         that http/https matches (--etcd-ca for TLS)"
    )]
    EtcdUnreachable { endpoints: String, error: StoreError },
    #[error("connecting to etcd at {endpoints}: {error}")]
    Etcd { endpoints: String, error: StoreError },
}

/// What the caller is about to do with the store: it decides whether a missing redb file is made
/// and what a locked one's error suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Run a supervisor on it (made when missing).
    Serve,
    /// Read it whole (must exist).
    Export,
    /// Write an export into it (made when missing).
    Import,
}

impl StoreArgs {
    /// Opens the store for `purpose`; `data_dir` holds the redb file (and, whatever the store,
    /// the supervisor's TLS material and generated admin password).
    pub async fn open(&self, data_dir: &Path, purpose: Purpose) -> anyhow::Result<Arc<dyn Store>> {
        Ok(self.open_checked(data_dir, purpose).await?)
    }

    async fn open_checked(
        &self,
        data_dir: &Path,
        purpose: Purpose,
    ) -> Result<Arc<dyn Store>, StoreArgsError> {
        let endpoints = match parse_store_url(&self.store).map_err(StoreArgsError::InvalidUrl)? {
            StoreUrl::Redb => {
                self.refuse_etcd_flags()?;
                return open_redb(data_dir, purpose).await;
            }
            StoreUrl::Etcd { endpoints } => endpoints,
        };
        if !self.store_prefix.is_empty()
            && (!self.store_prefix.starts_with('/') || self.store_prefix.ends_with('/'))
        {
            return Err(StoreArgsError::InvalidPrefix { prefix: self.store_prefix.clone() });
        }
        let tls = self.etcd_ca.clone().map(|ca| EtcdTls {
            ca,
            cert: self.etcd_cert.clone(),
            key: self.etcd_key.clone(),
        });
        let secure = tls.is_some();
        let options = EtcdOptions {
            endpoints: endpoints.clone(),
            prefix: self.store_prefix.clone(),
            tls,
            ..EtcdOptions::default()
        };
        let endpoints = endpoints.join(", ");
        match EtcdStore::connect(options).await {
            Ok(store) => {
                tracing::info!(%endpoints, prefix = %self.store_prefix, tls = secure, "store: etcd");
                Ok(Arc::new(store))
            }
            Err(error @ StoreError::Unavailable(_)) => {
                Err(StoreArgsError::EtcdUnreachable { endpoints, error })
            }
            Err(error) => Err(StoreArgsError::Etcd { endpoints, error }),
        }
    }

    /// etcd's flags with `--store redb` are a mistake worth saying, not ignoring.
    fn refuse_etcd_flags(&self) -> Result<(), StoreArgsError> {
        let given = [
            ("--store-prefix", !self.store_prefix.is_empty()),
            ("--etcd-ca", self.etcd_ca.is_some()),
            ("--etcd-cert", self.etcd_cert.is_some()),
            ("--etcd-key", self.etcd_key.is_some()),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(StoreArgsError::EtcdOnly { flag }),
            None => Ok(()),
        }
    }
}

/// `data_dir/store.redb`, opened on the blocking pool; a file another process holds is said so.
async fn open_redb(data_dir: &Path, purpose: Purpose) -> Result<Arc<dyn Store>, StoreArgsError> {
    let path = RedbStore::file_path(data_dir);
    if purpose == Purpose::Export && !path.exists() {
        return Err(StoreArgsError::Missing { path: path.display().to_string() });
    }
    let dir = data_dir.to_owned();
    let opened = tokio::task::spawn_blocking(move || RedbStore::open(&dir))
        .await
        .map_err(|error| StoreError::Io(format!("the opening task failed: {error}")));
    match opened.and_then(|result| result) {
        Ok(store) => {
            tracing::info!(file = %path.display(), "store: embedded (redb)");
            Ok(store)
        }
        Err(StoreError::Open { reason, .. }) if reason.contains("already open") => {
            let hint = match purpose {
                Purpose::Export => {
                    ". A running supervisor's config can be read with `switchyard shell -c 'show \
                     running-config'`; supervisors on etcd can be exported while they run"
                }
                Purpose::Import | Purpose::Serve => "",
            };
            Err(StoreArgsError::Locked { path: path.display().to_string(), hint })
        }
        Err(error) => Err(StoreArgsError::Redb { dir: data_dir.display().to_string(), error }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        store: StoreArgs,
    }

    fn args(argv: &[&str]) -> StoreArgs {
        Cli::try_parse_from(std::iter::once("t").chain(argv.iter().copied())).unwrap().store
    }

    async fn open_error(argv: &[&str], dir: &Path, purpose: Purpose) -> String {
        match args(argv).open(dir, purpose).await {
            Ok(store) => panic!("{argv:?} opened {store:?}"),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn redb_is_the_default_and_tls_flags_go_together() {
        assert_eq!(args(&[]).store, "redb");
        let missing_key = Cli::try_parse_from(["t", "--etcd-cert", "c.pem", "--etcd-ca", "ca.pem"]);
        assert!(missing_key.unwrap_err().to_string().contains("--etcd-key"));
        let missing_ca = Cli::try_parse_from(["t", "--etcd-cert", "c.pem", "--etcd-key", "k.pem"]);
        assert!(missing_ca.unwrap_err().to_string().contains("--etcd-ca"));
    }

    #[tokio::test]
    async fn mistakes_are_said_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let said = open_error(&["--store", "redis://x"], &data, Purpose::Serve).await;
        assert!(said.contains("expected `redb` or `etcd://"), "{said}");
        let said = open_error(&["--store-prefix", "/a"], &data, Purpose::Serve).await;
        assert!(said.contains("--store-prefix applies to an etcd store only"), "{said}");
        let said =
            open_error(&["--store", "etcd://h1:2379", "--store-prefix", "a/"], &data, Purpose::Serve).await;
        assert!(said.contains("a prefix starts with `/`"), "{said}");
        let said = open_error(&[], &data, Purpose::Export).await;
        assert!(said.contains("no store at") && said.contains("--data-dir"), "{said}");
        assert!(!data.exists(), "an export makes nothing");
    }

    #[tokio::test]
    async fn an_etcd_nobody_serves_is_named_with_what_to_check() {
        let dir = tempfile::tempdir().unwrap();
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("etcd://127.0.0.1:{port}");
        let said = open_error(&["--store", &url], dir.path(), Purpose::Export).await;
        assert!(said.contains(&format!("cannot reach etcd at http://127.0.0.1:{port}")), "{said}");
        assert!(said.contains("--listen-client-urls"), "{said}");
        let said =
            open_error(&["--store", &url, "--etcd-ca", "/no/such/ca.pem"], dir.path(), Purpose::Export).await;
        assert!(said.contains("/no/such/ca.pem"), "{said}");
    }

    #[tokio::test]
    async fn a_redb_store_in_use_says_by_whom() {
        let dir = tempfile::tempdir().unwrap();
        let held = args(&[]).open(dir.path(), Purpose::Serve).await.unwrap();
        let said = open_error(&[], dir.path(), Purpose::Export).await;
        assert!(
            said.contains("in use by a running supervisor") && said.contains("show running-config"),
            "{said}"
        );
        drop(held);
        assert!(args(&[]).open(dir.path(), Purpose::Export).await.is_ok());
    }
}
