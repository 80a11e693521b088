//! Join tokens, the kubeadm way: `abcdef.0123456789abcdef` — a public id (what `show join-tokens`
//! lists and `no join-token` names) and a secret, of which the store keeps only a SHA-256.
//! One-time: the enrolment that uses a token deletes it in the same transaction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Characters of ids and secrets: lower-case letters and digits, as kubeadm's.
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ID_LEN: usize = 6;
const SECRET_LEN: usize = 16;

/// A token as the operator sees it once.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    pub id: String,
    secret: String,
}

/// Why a token text is not a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a join token looks like abcdef.0123456789abcdef (6 and 16 lower-case letters or digits)")]
pub struct MalformedToken;

impl JoinToken {
    /// A token from 22 random bytes (one per character).
    pub fn from_random(random: &[u8; ID_LEN + SECRET_LEN]) -> Self {
        let text: String =
            random.iter().map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()])).collect();
        let (id, secret) = text.split_at(ID_LEN);
        Self { id: id.to_owned(), secret: secret.to_owned() }
    }

    /// What the store keeps instead of the secret.
    pub fn secret_sha256(&self) -> String {
        Sha256::digest(self.secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether a stored token record is this token's.
    pub fn matches(&self, record: &TokenRecord) -> bool {
        // Constant time in the digest, which is what the attacker does not know.
        let ours = self.secret_sha256();
        ours.len() == record.secret_sha256.len()
            && ours.bytes().zip(record.secret_sha256.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.id, self.secret)
    }
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinToken({}.****)", self.id)
    }
}

impl FromStr for JoinToken {
    type Err = MalformedToken;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (id, secret) = text.trim().split_once('.').ok_or(MalformedToken)?;
        let good = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| ALPHABET.contains(&b));
        if good(id, ID_LEN) && good(secret, SECRET_LEN) {
            Ok(Self { id: id.to_owned(), secret: secret.to_owned() })
        } else {
            Err(MalformedToken)
        }
    }
}

/// Whether a token id is well formed (store keys are built from it).
pub fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| ALPHABET.contains(&b))
}

/// A token in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRecord {
    pub id: String,
    #[serde(default)]
    #[schema(ignore)]
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret_sha256: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    pub expires_ms: u64,
    /// Who made it (the audit name).
    pub created_by: String,
    /// A bootstrap token (`--bootstrap-token-file`): any number of agents may enrol with it
    /// until it expires. Tokens from `join-token create` are one-time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reusable: bool,
}

impl TokenRecord {
    /// The record of `token`, made at `now_ms` (Unix ms), valid for `ttl`.
    pub fn new(
        token: &JoinToken,
        now_ms: u64,
        ttl: std::time::Duration,
        created_by: &str,
        reusable: bool,
    ) -> Self {
        Self {
            id: token.id.clone(),
            secret_sha256: token.secret_sha256(),
            created_ms: now_ms,
            expires_ms: now_ms.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            created_by: created_by.to_owned(),
            reusable,
        }
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_ms
    }

    /// The record without its digest, for showing.
    pub fn public(&self) -> Self {
        Self { secret_sha256: String::new(), ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    fn record(token: &JoinToken) -> TokenRecord {
        TokenRecord {
            id: token.id.clone(),
            secret_sha256: token.secret_sha256(),
            created_ms: 0,
            expires_ms: 10,
            created_by: "admin".into(),
            reusable: false,
        }
    }

    proptest! {
        #[test]
        fn a_token_reads_back_and_matches_only_its_record(random in any::<[u8; 22]>(), other in any::<[u8; 22]>()) {
            let token = JoinToken::from_random(&random);
            let text = token.to_string();
            prop_assert_eq!(text.parse::<JoinToken>(), Ok(token.clone()));
            prop_assert!(token.matches(&record(&token)));
            let other = JoinToken::from_random(&other);
            if other.secret != token.secret {
                prop_assert!(!other.matches(&record(&token)));
            }
        }

        #[test]
        fn only_the_token_shape_parses(text in "[a-z0-9]{5,7}\\.[a-z0-9A-Z]{15,17}") {
            let shaped = text.len() == 23
                && text.as_bytes()[6] == b'.'
                && !text.bytes().any(|b| b.is_ascii_uppercase());
            prop_assert_eq!(text.parse::<JoinToken>().is_ok(), shaped, "{}", text);
        }
    }

    #[test]
    fn the_secret_never_prints_in_debug() {
        let token = JoinToken::from_random(&[7; 22]);
        assert!(!format!("{token:?}").contains(&token.secret));
        assert!(token.to_string().contains(&token.secret));
    }

    #[test]
    fn expiry() {
        let token = JoinToken::from_random(&[1; 22]);
        assert!(!record(&token).expired(9));
        assert!(record(&token).expired(10));
    }
}
