//! REST bearer tokens (`POST /api/v1/tokens`): random, expiring, and kept in the store only as
//! their SHA-256 — so every supervisor on the store accepts them, and a copy of the store gives
//! no one a usable token. A token carries its user, never a role: the account's role at the
//! time of each request applies, and a removed account's tokens stop working.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::{Store, StoreError};

use crate::layout::token_key;

/// What a token's text starts with (so it is recognisable in a leak scanner).
const TOKEN_PREFIX: &str = "sy_";

/// One token as stored under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The account it authenticates as.
    pub user: String,
    /// When it was issued and when it stops working, in seconds since the Unix epoch.
    pub created: u64,
    pub expires: u64,
}

/// A newly issued token: the secret (shown once) and how to name it later.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub id: String,
    pub record: TokenRecord,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no randomness for a token: {0}")]
    Random(String),
    #[error("cannot encode the token record: {0}")]
    Encode(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The id of a token: the hex SHA-256 of its text (what the store keys it by).
pub fn token_id(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues a token for `user`, valid for `ttl` from `now`.
pub async fn issue(
    store: &dyn Store,
    user: &str,
    ttl: Duration,
    now: SystemTime,
) -> Result<IssuedToken, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let created = unix_seconds(now);
    let record =
        TokenRecord { user: user.to_owned(), created, expires: created.saturating_add(ttl.as_secs()) };
    let id = token_id(&token);
    let value = serde_json::to_vec(&record).map_err(|e| TokenError::Encode(e.to_string()))?;
    store.put(&token_key(&id), value).await?;
    Ok(IssuedToken { token, id, record })
}

/// The record of a token presented at `now`, if it exists and has not expired. An expired one
/// is deleted on the way.
pub async fn lookup(
    store: &dyn Store,
    token: &str,
    now: SystemTime,
) -> Result<Option<TokenRecord>, StoreError> {
    let id = token_id(token);
    let Some(record) = get(store, &id).await? else { return Ok(None) };
    if record.expires <= unix_seconds(now) {
        store.delete(&token_key(&id)).await?;
        return Ok(None);
    }
    Ok(Some(record))
}

/// The record stored under `id`, expired or not. An unreadable record counts as absent.
pub async fn get(store: &dyn Store, id: &str) -> Result<Option<TokenRecord>, StoreError> {
    let Some(kv) = store.get(&token_key(id)).await? else { return Ok(None) };
    Ok(serde_json::from_slice(&kv.value).ok())
}

/// Deletes the token with this id; whether there was one.
pub async fn revoke(store: &dyn Store, id: &str) -> Result<bool, StoreError> {
    Ok(store.delete(&token_key(id)).await?.is_some())
}

/// Seconds since the Unix epoch (0 before it).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
