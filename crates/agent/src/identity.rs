//! The host's identity: the stable host id and the module number, both kept in the data dir.
//!
//! The supervisor recognises a host by its id (same id → same module number), so the id is
//! generated once and never changes. The module number is kept so a headless agent (and
//! `vemcmd show card`) can still say which module it is before the supervisor answers.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fs_atomic::write_atomically;

/// Who this host is, as told to the supervisor on register and shown by `vemcmd show card`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    /// The card name: the host's name.
    pub host_name: String,
    /// Stable identity (persisted in `host-id`).
    pub host_id: String,
    /// e.g. `Linux 6.1.0-18-amd64 x86_64`.
    pub hardware: String,
    /// Non-loopback addresses, as text.
    pub addresses: Vec<String>,
    /// The VXLAN tunnel endpoint's address (`--vtep`), if any.
    pub vtep: Option<std::net::Ipv4Addr>,
    /// The agent's software version.
    pub version: String,
    /// The host NICs it offers the switch as uplinks (`--uplink`), in order.
    pub uplinks: Vec<crate::uplinks::UplinkSpec>,
}

/// Longest host id accepted from the file; anything longer is not one we wrote.
const MAX_HOST_ID_LEN: usize = 128;

/// A failure reading or writing identity files.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read host id from {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "{path} does not hold a host id (expected one line of at most {MAX_HOST_ID_LEN} \
         printable characters); fix or delete it"
    )]
    Invalid { path: PathBuf },
}

/// Reads the host id from `path`, or generates a uuid v4 and persists it there on first start.
///
/// A file with garbage in it is an error rather than silently replaced: a new id would make the
/// supervisor see a new host and hand out a new module number.
pub fn load_or_create_host_id(path: &Path) -> Result<String, IdentityError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let id = text.trim();
            let valid =
                !id.is_empty() && id.len() <= MAX_HOST_ID_LEN && id.chars().all(|c| c.is_ascii_graphic());
            if valid { Ok(id.to_owned()) } else { Err(IdentityError::Invalid { path: path.to_owned() }) }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let id = uuid::Uuid::new_v4().to_string();
            write_atomically(path, format!("{id}\n").as_bytes())
                .map_err(|source| IdentityError::Write { path: path.to_owned(), source })?;
            Ok(id)
        }
        Err(source) => Err(IdentityError::Read { path: path.to_owned(), source }),
    }
}

/// The module number last persisted at `path`; `None` if there is none or it is unreadable
/// (the supervisor will tell us again on register, so this is never fatal).
pub fn load_module(path: &Path) -> Option<u32> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!("cannot read module number from {}: {err}", path.display());
            return None;
        }
    };
    match text.trim().parse() {
        Ok(module) => Some(module),
        Err(_) => {
            tracing::warn!(
                "{} does not hold a module number; ignoring it until the supervisor assigns one",
                path.display()
            );
            None
        }
    }
}

/// Persists the module number the supervisor assigned.
pub fn save_module(path: &Path, module: u32) -> Result<(), IdentityError> {
    write_atomically(path, format!("{module}\n").as_bytes())
        .map_err(|source| IdentityError::Write { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_id_is_generated_once_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host-id");
        let first = load_or_create_host_id(&path).expect("create");
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
        let second = load_or_create_host_id(&path).expect("reload");
        assert_eq!(first, second);
    }

    #[test]
    fn garbage_host_id_is_an_error_not_a_new_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host-id");
        fs::write(&path, "two\nlines").expect("write");
        let err = load_or_create_host_id(&path).expect_err("garbage accepted");
        assert!(err.to_string().contains("does not hold a host id"), "{err}");
        assert_eq!(fs::read_to_string(&path).expect("read"), "two\nlines");
    }

    #[test]
    fn module_round_trips_and_garbage_reads_as_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("module");
        assert_eq!(load_module(&path), None);
        save_module(&path, 3).expect("save");
        assert_eq!(load_module(&path), Some(3));
        fs::write(&path, "three").expect("write");
        assert_eq!(load_module(&path), None);
    }
}
