//! `policies.json`: the snapshot on disk, so a restarted agent can run headless on it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fs_atomic::write_atomically;
use crate::snapshot::{PolicyEntry, PolicySnapshot};

/// The on-disk format version; bump it when the layout changes incompatibly.
const FORMAT: u32 = 1;

/// A failure reading or writing the persisted snapshot.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a policy snapshot: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path} has format {found}; this agent reads format {FORMAT}")]
    UnsupportedFormat { path: PathBuf, found: u32 },
    #[error("{path}: entry {key:?} holds the policy of port-profile {name:?}")]
    MisfiledPolicy { path: PathBuf, key: String, name: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

#[derive(Serialize)]
struct OnDiskRef<'a> {
    format: u32,
    revision: i64,
    policies: &'a BTreeMap<String, PolicyEntry>,
}

#[derive(Deserialize)]
struct OnDisk {
    format: u32,
    revision: i64,
    policies: BTreeMap<String, PolicyEntry>,
}

/// Writes `snapshot` to `path` atomically and durably.
pub fn save(path: &Path, snapshot: &PolicySnapshot) -> Result<(), PersistError> {
    let on_disk = OnDiskRef { format: FORMAT, revision: snapshot.revision, policies: &snapshot.policies };
    let mut bytes = serde_json::to_vec_pretty(&on_disk)
        .map_err(|source| PersistError::Write { path: path.to_owned(), source: source.into() })?;
    bytes.push(b'\n');
    write_atomically(path, &bytes).map_err(|source| PersistError::Write { path: path.to_owned(), source })
}

/// Reads the snapshot at `path`; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<PolicySnapshot>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read { path: path.to_owned(), source });
        }
    };
    let on_disk: OnDisk = serde_json::from_slice(&bytes)
        .map_err(|source| PersistError::Parse { path: path.to_owned(), source })?;
    if on_disk.format != FORMAT {
        return Err(PersistError::UnsupportedFormat { path: path.to_owned(), found: on_disk.format });
    }
    if let Some((key, entry)) = on_disk.policies.iter().find(|(key, entry)| **key != entry.policy.name) {
        return Err(PersistError::MisfiledPolicy {
            path: path.to_owned(),
            key: key.clone(),
            name: entry.policy.name.clone(),
        });
    }
    Ok(Some(PolicySnapshot { revision: on_disk.revision, policies: on_disk.policies }))
}

/// The snapshot to start from: what `path` holds, or empty when there is nothing usable.
///
/// An unreadable or corrupt file is logged and otherwise ignored: the agent starts empty and
/// the supervisor's sync (which sees `known` empty) sends everything again.
pub fn load_or_empty(path: &Path) -> PolicySnapshot {
    match load(path) {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) => PolicySnapshot::default(),
        Err(err) => {
            tracing::error!("{err}; starting with no policies until the supervisor syncs");
            PolicySnapshot::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::testing::access_policy;

    fn sample() -> PolicySnapshot {
        let mut snapshot = PolicySnapshot { revision: 12, ..PolicySnapshot::default() };
        for (name, vlan, revision) in [("vlan100", 100, 3), ("vlan200", 200, 12)] {
            snapshot
                .policies
                .insert(name.to_owned(), PolicyEntry { revision, policy: access_policy(name, vlan) });
        }
        snapshot
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policies.json");
        assert_eq!(load(&path).expect("absent is fine"), None);
        save(&path, &sample()).expect("save");
        assert_eq!(load(&path).expect("load"), Some(sample()));
        assert_eq!(load_or_empty(&path), sample());
    }

    #[test]
    fn corrupt_file_is_a_clear_error_and_starts_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policies.json");
        for garbage in [&b"\x00\xffnot json"[..], b"{\"format\":1,\"revision\":3", b"[]", b""] {
            std::fs::write(&path, garbage).expect("write");
            let err = load(&path).expect_err("garbage accepted");
            assert!(err.to_string().contains("is not a policy snapshot"), "{err}");
            assert_eq!(load_or_empty(&path), PolicySnapshot::default());
        }
    }

    #[test]
    fn unknown_format_and_misfiled_entries_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policies.json");
        std::fs::write(&path, r#"{"format": 99, "revision": 1, "policies": {}}"#).expect("write");
        assert!(matches!(load(&path), Err(PersistError::UnsupportedFormat { found: 99, .. })));

        let mut snapshot = sample();
        let entry = snapshot.policies.remove("vlan100").expect("entry");
        snapshot.policies.insert("elsewhere".into(), entry);
        save(&path, &snapshot).expect("save");
        assert!(matches!(load(&path), Err(PersistError::MisfiledPolicy { .. })));
    }
}
