//! Successful password verifications, remembered for a short while: argon2 costs tens of
//! milliseconds by design, and a shell session or script authenticates every request.
//!
//! An entry is keyed by a SHA-256 of the user name and password (never the password itself)
//! and holds the hash it was verified against: a hit counts only while the account still has
//! that hash, so a changed or removed account invalidates it at once — also when another
//! supervisor on the same store made the change. Pure: the caller passes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a verification is remembered.
pub const TTL: Duration = Duration::from_secs(60);
/// Entries kept at most.
const CAPACITY: usize = 4096;

#[derive(Debug)]
struct Entry {
    hash: String,
    expires: Instant,
}

/// Remembered verifications.
#[derive(Debug, Default)]
pub struct VerifiedCache {
    entries: HashMap<[u8; 32], Entry>,
}

impl VerifiedCache {
    /// Whether `password` was verified against `hash` (the account's current one) for `user`
    /// within the TTL.
    pub fn hit(&self, user: &str, password: &str, hash: &str, now: Instant) -> bool {
        self.entries.get(&key(user, password)).is_some_and(|entry| entry.hash == hash && now < entry.expires)
    }

    /// Remembers that `password` matched `hash` for `user`.
    pub fn remember(&mut self, user: &str, password: &str, hash: &str, now: Instant) {
        if self.entries.len() >= CAPACITY {
            self.entries.retain(|_, entry| now < entry.expires);
            if self.entries.len() >= CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(key(user, password), Entry { hash: hash.to_owned(), expires: now + TTL });
    }
}

fn key(user: &str, password: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(user.as_bytes());
    // A separator that neither a user name nor the split of Basic credentials can contain.
    digest.update([0]);
    digest.update(password.as_bytes());
    digest.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_for_the_same_hash_within_the_ttl() {
        let mut cache = VerifiedCache::default();
        let now = Instant::now();
        assert!(!cache.hit("alice", "pw", "h1", now));
        cache.remember("alice", "pw", "h1", now);
        assert!(cache.hit("alice", "pw", "h1", now + Duration::from_secs(1)));
        assert!(!cache.hit("alice", "pw2", "h1", now), "another password");
        assert!(!cache.hit("bob", "pw", "h1", now), "another user");
        assert!(!cache.hit("alice", "pw", "h2", now), "the account's hash changed");
        assert!(!cache.hit("alice", "pw", "h1", now + TTL), "expired");
    }
}
