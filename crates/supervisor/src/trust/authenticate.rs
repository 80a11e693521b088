//! Who is asking: the one place REST credentials are checked. Basic passwords are verified
//! against the account's argon2id hash (remembered for a short while on success), bearer tokens
//! are looked up by hash; failures are counted per source address and, past the limit, the
//! source is refused before anything is verified.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::config_store::{self, ConfigWriteError};
use crate::journal::Journal;
use crate::trust::cache::VerifiedCache;
use crate::trust::credentials::{self, Credentials, CredentialsError};
use crate::trust::limiter::FailureLimiter;
use crate::trust::{Caller, password, tokens};

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginMethod {
    /// User name and password.
    Basic,
    /// A bearer token, by id.
    Bearer { id: String },
}

/// An authenticated request: who, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub caller: Caller,
    pub method: LoginMethod,
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "authentication required: HTTP Basic (user name and password) or a bearer token from POST /api/v1/tokens"
    )]
    Missing,
    #[error("{0}")]
    Malformed(#[from] CredentialsError),
    #[error("wrong user name or password")]
    /// `user` is the account tried when it exists; never the text of an unknown one (it may be a
    /// password typed in the wrong field, or megabytes of garbage).
    WrongPassword { user: Option<String> },
    #[error("the bearer token is unknown or has expired; get a new one with POST /api/v1/tokens")]
    BadToken,
    #[error("too many failed logins from this address; try again in {} s", retry_after.as_secs().max(1))]
    TooManyFailures { retry_after: Duration },
    #[error("cannot read the accounts: {reason}")]
    Store {
        reason: String,
        /// The store could not be reached (a client may try another supervisor, or later).
        unavailable: bool,
    },
}

impl AuthError {
    /// Whether this was a failed attempt to log in (counted and audited), as opposed to none.
    pub fn is_failed_login(&self) -> bool {
        matches!(self, Self::Malformed(_) | Self::WrongPassword { .. } | Self::BadToken)
    }

    /// The user name the attempt claimed, for the audit log.
    pub fn claimed_user(&self) -> &str {
        match self {
            Self::WrongPassword { user: Some(user) } => user,
            Self::WrongPassword { user: None } => "(unknown account)",
            Self::BadToken => "(token)",
            _ => "(unknown)",
        }
    }
}

impl From<ConfigWriteError> for AuthError {
    fn from(error: ConfigWriteError) -> Self {
        let unavailable = matches!(error, ConfigWriteError::Store(store::StoreError::Unavailable(_)));
        Self::Store { reason: error.to_string(), unavailable }
    }
}

impl From<store::StoreError> for AuthError {
    fn from(error: store::StoreError) -> Self {
        let unavailable = matches!(error, store::StoreError::Unavailable(_));
        Self::Store { reason: error.to_string(), unavailable }
    }
}

/// The supervisor's authenticator: its memory of verified passwords and of failures.
#[derive(Debug, Default)]
pub struct Authenticator {
    verified: Mutex<VerifiedCache>,
    failures: Mutex<FailureLimiter>,
}

impl Authenticator {
    /// Authenticates a request with this `Authorization` header from `source`.
    pub async fn authenticate(
        &self,
        journal: &Journal,
        authorization: Option<&[u8]>,
        source: Option<IpAddr>,
    ) -> Result<Login, AuthError> {
        let authorization = authorization.ok_or(AuthError::Missing)?;
        self.limiter()
            .check(source, Instant::now())
            .map_err(|retry_after| AuthError::TooManyFailures { retry_after })?;
        let result = match credentials::parse(authorization) {
            Ok(Credentials::Basic { user, password }) => self.basic(journal, user, password, source).await,
            Ok(Credentials::Bearer(token)) => bearer(journal, &token).await,
            Err(error) => Err(error.into()),
        };
        // Basic counts its own failures (see `basic`).
        if matches!(result, Err(AuthError::Malformed(_) | AuthError::BadToken)) {
            self.limiter().fail(source, Instant::now());
        }
        result
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, FailureLimiter> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn basic(
        &self,
        journal: &Journal,
        user: String,
        password: String,
        source: Option<IpAddr>,
    ) -> Result<Login, AuthError> {
        let wrong = || AuthError::WrongPassword { user: Some(user.clone()) };
        // A name no account can have is not looked up (nor recorded).
        let account = if config::validate::is_user_name(&user) {
            config_store::read_user(journal, &user).await?
        } else {
            None
        };
        let hash = account.as_ref().and_then(|account| account.password.hash()).map(str::to_owned);
        if let (Some(account), Some(hash)) = (&account, &hash)
            && self.verified.lock().unwrap_or_else(PoisonError::into_inner).hit(
                &user,
                &password,
                hash,
                Instant::now(),
            )
        {
            return Ok(Login {
                caller: Caller::Operator { user: user.clone(), role: account.role },
                method: LoginMethod::Basic,
            });
        }
        // A password to check: counted as a failure until it matches, so that concurrent
        // guesses cannot overtake the limit while argon2 works.
        let reserved = Instant::now();
        self.limiter()
            .reserve(source, reserved)
            .map_err(|retry_after| AuthError::TooManyFailures { retry_after })?;
        let Some(account) = account else {
            // As slow as a wrong password, so that the answer's time tells no one which accounts
            // exist.
            let _ = tokio::task::spawn_blocking(move || password::verify(decoy_hash(), &password)).await;
            return Err(AuthError::WrongPassword { user: None });
        };
        let hash = hash.ok_or_else(wrong)?;
        let login = Login {
            caller: Caller::Operator { user: user.clone(), role: account.role },
            method: LoginMethod::Basic,
        };
        // Tens of milliseconds of CPU: off the async workers.
        let (checked_hash, checked_password) = (hash.clone(), password.clone());
        let matches = tokio::task::spawn_blocking(move || password::verify(&checked_hash, &checked_password))
            .await
            .unwrap_or(false);
        if !matches {
            return Err(wrong());
        }
        self.limiter().forgive(source, reserved);
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).remember(
            &user,
            &password,
            &hash,
            Instant::now(),
        );
        Ok(login)
    }
}

/// A hash no password matches in practice, for unknown accounts (made once, on first use).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 32];
        let _ = getrandom::fill(&mut random);
        password::hash(&format!("{random:?}")).unwrap_or_default()
    })
}

async fn bearer(journal: &Journal, token: &str) -> Result<Login, AuthError> {
    let record = tokens::lookup(journal.store().as_ref(), token, SystemTime::now())
        .await?
        .ok_or(AuthError::BadToken)?;
    // The account's current role applies; a removed account's tokens are dead.
    let account = config_store::read_user(journal, &record.user).await?.ok_or(AuthError::BadToken)?;
    Ok(Login {
        caller: Caller::Operator { user: record.user, role: account.role },
        method: LoginMethod::Bearer { id: tokens::token_id(token) },
    })
}
