//! Password hashing: argon2id with a random salt, in PHC form (`$argon2id$v=19$m=…`), which is
//! what `username … password 5 HASH` holds. Hashing and verifying cost tens of milliseconds by
//! design; callers run them on a blocking thread and cache successes (see `cache`).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("no randomness for a salt: {0}")]
    Random(String),
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// A new argon2id hash of `clear` with a random salt.
pub fn hash(clear: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(clear.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `clear` is the password `phc` is a hash of. A hash that does not parse matches
/// nothing.
pub fn verify(phc: &str, clear: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| Argon2::default().verify_password(clear.as_bytes(), &hash).is_ok())
}

/// A random password for the first admin: 24 characters of unpadded base64url (144 bits).
pub fn generate() -> Result<String, PasswordError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| PasswordError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let start = std::time::Instant::now();
        let first = hash("s3cret").unwrap();
        eprintln!("one hash: {:?}", start.elapsed());
        assert!(first.starts_with(config::validate::ARGON2ID_PREFIX), "{first}");
        assert!(verify(&first, "s3cret"));
        assert!(!verify(&first, "s3cret "));
        assert_ne!(hash("s3cret").unwrap(), first, "a fresh salt each time");
        assert!(!verify("not a hash", "s3cret"));
        let generated = generate().unwrap();
        assert_eq!(generated.len(), 24);
        assert_ne!(generate().unwrap(), generated);
    }
}
