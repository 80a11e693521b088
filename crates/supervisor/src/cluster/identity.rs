//! A supervisor's id: random, made on first start and kept in the data dir, so a restarted
//! supervisor keeps its number (`show module`).

use std::path::Path;

/// The file under the data dir holding the id.
pub const ID_FILE: &str = "supervisor-id";

/// Why the id could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read or write the supervisor id in {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} does not hold a supervisor id (32 hex digits); delete it to make a new one")]
    Malformed { path: String },
    #[error("cannot draw a random supervisor id: {0}")]
    Random(String),
}

/// Reads the id from `data_dir`, or makes one there.
pub fn load_or_create(data_dir: &Path) -> Result<String, IdentityError> {
    let path = data_dir.join(ID_FILE);
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            if valid(id) { Ok(id.to_owned()) } else { Err(IdentityError::Malformed { path: shown }) }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| IdentityError::Random(e.to_string()))?;
            let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            store::private_fs::write_atomically(&path, format!("{id}\n").as_bytes())
                .map_err(|source| IdentityError::Io { path: shown, source })?;
            Ok(id)
        }
        Err(source) => Err(IdentityError::Io { path: shown, source }),
    }
}

fn valid(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let id = load_or_create(dir.path()).unwrap();
        assert_eq!(id.len(), 32);
        assert_eq!(load_or_create(dir.path()).unwrap(), id);
        std::fs::write(dir.path().join(ID_FILE), "not an id").unwrap();
        let error = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(error.contains("does not hold a supervisor id"), "{error}");
    }
}
