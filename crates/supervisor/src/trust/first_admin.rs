//! The first account: on a store with no `username`, `admin` (network-admin) is created with
//! the password given (`--admin-password-file`) or a random one, written to
//! `<data-dir>/admin-password` (mode 0600) for root on this host to read. Only the path is ever
//! logged.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config_store::{self, FIRST_ADMIN};
use crate::journal::Journal;
use crate::trust::{Secret, password};

/// Where a generated admin password is written, under the data dir.
pub const ADMIN_PASSWORD_FILE: &str = "admin-password";

/// The path of the generated admin password in `data_dir`.
pub fn admin_password_path(data_dir: &Path) -> PathBuf {
    data_dir.join(ADMIN_PASSWORD_FILE)
}

/// Creates `admin` if the config has no account; does nothing otherwise.
pub async fn ensure(journal: &Journal, data_dir: &Path, given: Option<&Secret>) -> anyhow::Result<()> {
    let (config, _) = config_store::read(journal).await?;
    if !config.users.is_empty() {
        if given.is_some() {
            tracing::info!("accounts exist already; the admin password given is not used");
        }
        return Ok(());
    }
    let (clear, file) = match given {
        Some(secret) => (secret.expose().to_owned(), None),
        None => {
            let clear = password::generate()?;
            // Written before the account exists, so that a password nobody can read never
            // guards it.
            let path = admin_password_path(data_dir);
            write_private(&path, &clear)?;
            (clear, Some(path))
        }
    };
    let hash = tokio::task::spawn_blocking(move || password::hash(&clear)).await??;
    let created = config_store::create_first_admin(journal, &hash).await?;
    match (created, file) {
        (true, Some(path)) => tracing::warn!(
            "%SECURITYD-2-FIRST_ADMIN: account '{FIRST_ADMIN}' created; its password is in {} (readable by root only)",
            path.display()
        ),
        (true, None) => {
            tracing::info!(
                "%SECURITYD-5-FIRST_ADMIN: account '{FIRST_ADMIN}' created with the password given"
            );
        }
        // Another supervisor on the same store created the accounts first.
        (false, Some(path)) => {
            let _ = std::fs::remove_file(path);
        }
        (false, None) => {}
    }
    Ok(())
}

/// Writes `text` to `path` readable and writable by its owner only, whole or not at all (a
/// reader polling for the file never sees it half written).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::tls_setup::write_private(path, &format!("{text}\n"))
        .with_context(|| format!("writing the admin password to {}", path.display()))
}
