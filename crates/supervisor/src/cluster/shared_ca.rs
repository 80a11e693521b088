//! One CA for every supervisor sharing the store: agents pin its hash once (`join-token create`
//! prints it) and may then talk to any supervisor, and enrolled certificates are valid on all.
//!
//! Unless the user brings their own CA (`--client-ca`), the CA lives in the store
//! (`/switchyard/pki/ca`) as well as in each supervisor's `tls/` dir: the first supervisor to
//! start puts its CA there (made, or the one its data dir already had — so a store exported from
//! a single supervisor keeps its agents' trust), the others take it and issue their own server
//! certificates from it. The key in the store is as secret as the store: protect etcd with TLS
//! and client certificates (see docs/STORE.md).

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use store::{Compare, Op, Store, Txn};

use crate::layout::PKI_CA_KEY;
use crate::tls_setup::write_private;

/// The CA as the store keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct StoredCa {
    cert_pem: String,
    key_pem: String,
}

/// Makes the CA in `tls_dir` the store's: takes the store's if it has one, else offers this
/// one (or a new one) and takes whichever won.
pub async fn sync(store: &dyn Store, tls_dir: &Path) -> anyhow::Result<()> {
    crate::tls_setup::private_dir(tls_dir)?;
    let (cert, key) = (tls_dir.join("ca.pem"), tls_dir.join("ca.key"));
    let stored = match store.get(PKI_CA_KEY).await? {
        Some(kv) => kv,
        None => {
            let offered = match (std::fs::read_to_string(&cert), std::fs::read_to_string(&key)) {
                (Ok(cert_pem), Ok(key_pem)) => StoredCa { cert_pem, key_pem },
                _ => {
                    let authority = pki::Authority::generate("switchyard CA", SystemTime::now())?;
                    StoredCa { cert_pem: authority.cert_pem().to_owned(), key_pem: authority.key_pem() }
                }
            };
            let txn = Txn {
                compare: vec![Compare::CreateRevision(PKI_CA_KEY.into(), 0)],
                success: vec![Op::Put { key: PKI_CA_KEY.into(), value: serde_json::to_vec(&offered)? }],
                failure: vec![Op::Get { key: PKI_CA_KEY.into() }],
            };
            let response = store.txn(txn).await?;
            if response.succeeded {
                tracing::info!("this supervisor's CA is now the one every supervisor sharing the store uses");
                write_if_changed(&cert, &offered.cert_pem)?;
                write_if_changed(&key, &offered.key_pem)?;
                return Ok(());
            }
            response.gets.into_iter().flatten().next().context("the store's CA vanished while being read")?
        }
    };
    let ca: StoredCa = serde_json::from_slice(&stored.value).context("the store's CA is unreadable")?;
    let authority =
        pki::Authority::from_pem(&ca.cert_pem, &ca.key_pem).context("the store's CA does not load")?;
    // A data dir that had a CA of its own (a supervisor pointed at another store): agents that
    // pinned the old one will refuse this supervisor until they join again. Say so, loudly.
    if let Ok(held) = std::fs::read_to_string(&cert)
        && held != ca.cert_pem
    {
        let old = pki::Authority::from_pem(&held, &std::fs::read_to_string(&key).unwrap_or_default())
            .ok()
            .and_then(|old| old.hash().ok())
            .map_or_else(|| "unreadable".to_owned(), |hash| hash.to_string());
        let new = authority.hash().map_or_else(|_| "unreadable".to_owned(), |hash| hash.to_string());
        tracing::warn!(
            dir = %tls_dir.display(),
            old = %old,
            new = %new,
            "replacing this data dir's CA with the store's: agents that pinned the old CA must join again"
        );
    }
    if write_if_changed(&cert, &ca.cert_pem)? | write_if_changed(&key, &ca.key_pem)? {
        tracing::info!(dir = %tls_dir.display(), "took the CA every supervisor sharing the store uses");
    }
    Ok(())
}

/// Writes `text` to `path` unless it holds it already; `true` when it wrote.
fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|held| held == text) {
        return Ok(false);
    }
    write_private(path, text)?;
    Ok(true)
}
