//! Agent enrolment: join tokens, the certificates issued for them, and the check every agent
//! request goes through — is this certificate still an enrolled host's?
//!
//! All state is in the store (another supervisor on the same store accepts the same tokens and
//! certificates): `/switchyard/join-tokens/<id>` and `/switchyard/enrolments/<host-id>`.

pub mod record;
pub mod token;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pki::{Authority, CaHash, PeerCertificate};
use store::{Compare, Op, Store, StoreError, Txn};

use crate::clock::unix_ms_now;
use crate::layout::{ENROLMENTS_PREFIX, JOIN_TOKENS_PREFIX, enrolment_key, join_token_key};
pub use record::{CertificateRefused, EnrolmentRecord};
pub use token::{JoinToken, TokenRecord};

/// The longest a join token may live.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A join token's life when none is given (kubeadm's default).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How many attempts a contended store write gets.
const ATTEMPTS: usize = 8;

/// Why an enrolment step failed. Messages are for the agent's log and the operator.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error(transparent)]
    MalformedToken(#[from] token::MalformedToken),
    #[error("join token {id} is unknown or already used")]
    UnknownToken { id: String },
    #[error("join token {id} has expired")]
    ExpiredToken { id: String },
    #[error("a join token lives between 1 second and {} seconds", MAX_TOKEN_TTL.as_secs())]
    BadTtl,
    #[error("host id {host_id} is already enrolled (as {host_name}); remove it first (no module N)")]
    HostEnrolled { host_id: String, host_name: String },
    #[error("host name {host_name} is taken by enrolled host {host_id}")]
    NameTaken { host_name: String, host_id: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("certificate request: {0}")]
    Request(#[from] pki::PkiError),
    #[error(transparent)]
    Refused(#[from] CertificateRefused),
    #[error("certificate {serial} is not half-way through its life yet: renew later")]
    NotDue { serial: String },
    #[error("the store was changed concurrently too often; try again")]
    Contended,
    #[error("stored {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an agent asks for with its token.
#[derive(Debug, Clone)]
pub struct EnrolRequest {
    pub token: String,
    pub csr_pem: String,
    pub host_id: String,
    pub host_name: String,
    pub vtep: Option<Ipv4Addr>,
}

/// A certificate just issued to an agent.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub cert_pem: String,
    pub record: EnrolmentRecord,
}

/// The enrolment service: issues, renews and checks agents' certificates.
#[derive(Debug)]
pub struct Enrolments {
    store: Arc<dyn Store>,
    authority: Authority,
    ca_pem: String,
    ca_hash: CaHash,
    cert_lifetime: Duration,
}

impl Enrolments {
    pub fn new(
        store: Arc<dyn Store>,
        authority: Authority,
        ca_pem: String,
        ca_hash: CaHash,
        cert_lifetime: Duration,
    ) -> Self {
        Self { store, authority, ca_pem, ca_hash, cert_lifetime }
    }

    /// The CA agents pin and store.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn ca_hash(&self) -> CaHash {
        self.ca_hash
    }

    /// Makes a one-time token valid for `ttl`.
    pub async fn create_token(
        &self,
        ttl: Duration,
        created_by: &str,
    ) -> Result<(JoinToken, TokenRecord), EnrolError> {
        if ttl.is_zero() || ttl > MAX_TOKEN_TTL {
            return Err(EnrolError::BadTtl);
        }
        let token = random_token()?;
        let record = TokenRecord::new(&token, unix_ms_now(), ttl, created_by, false);
        let key = join_token_key(&token.id);
        let txn = Txn {
            compare: vec![Compare::CreateRevision(key.clone(), 0)],
            success: vec![Op::Put { key, value: encode(&record)? }],
            failure: vec![],
        };
        if !self.store.txn(txn).await?.succeeded {
            return Err(EnrolError::Contended);
        }
        Ok((token, record))
    }

    /// Installs the bootstrap token in `file` (writing a new one there, 0600, when the file does
    /// not exist): reusable by any number of agents for `ttl` from its first installation (a
    /// restart keeps the expiry; an expired one is deleted on the next listing). For scripted
    /// deployments and benchmarks that cannot run `join-token create` between starting the
    /// supervisor and its agents; every enrolment with it is still logged and audited.
    pub async fn install_bootstrap_token(
        &self,
        file: &std::path::Path,
        ttl: Duration,
    ) -> Result<JoinToken, EnrolError> {
        let token: JoinToken = match std::fs::read_to_string(file) {
            Ok(text) => text.trim().parse()?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let token = random_token()?;
                crate::tls_setup::write_private(file, &format!("{token}\n")).map_err(|e| {
                    EnrolError::Invalid { field: "bootstrap token file", reason: format!("{e:#}") }
                })?;
                token
            }
            Err(error) => {
                return Err(EnrolError::Invalid { field: "bootstrap token file", reason: error.to_string() });
            }
        };
        // Installed once: a restart does not give a leaked token a new life.
        let key = join_token_key(&token.id);
        let record = TokenRecord::new(&token, unix_ms_now(), ttl, "bootstrap", true);
        let txn = Txn {
            compare: vec![Compare::CreateRevision(key.clone(), 0)],
            success: vec![Op::Put { key, value: encode(&record)? }],
            failure: vec![],
        };
        self.store.txn(txn).await?;
        Ok(token)
    }

    /// The tokens not yet used, without their digests; expired ones are deleted on the way.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, EnrolError> {
        let now = unix_ms_now();
        let mut live = Vec::new();
        for kv in self.store.range(JOIN_TOKENS_PREFIX).await?.kvs {
            let record: TokenRecord = decode(&kv.key, &kv.value)?;
            if record.expired(now) {
                self.store.delete(&kv.key).await?;
            } else {
                live.push(record.public());
            }
        }
        Ok(live)
    }

    /// Deletes a token; false when there was none.
    pub async fn delete_token(&self, id: &str) -> Result<bool, EnrolError> {
        if !token::valid_id(id) {
            return Ok(false);
        }
        Ok(self.store.delete(&join_token_key(id)).await?.is_some())
    }

    /// Spends a token on a certificate for the requesting host.
    pub async fn enrol(&self, request: &EnrolRequest, from: &str) -> Result<Certificate, EnrolError> {
        let authority = &self.authority;
        let token: JoinToken = request.token.parse()?;
        validate_host_id(&request.host_id)?;
        validate_host_name(&request.host_name)?;
        for _ in 0..ATTEMPTS {
            let token_key = join_token_key(&token.id);
            let stored = self.store.get(&token_key).await?;
            let Some(stored) = stored else { return Err(EnrolError::UnknownToken { id: token.id.clone() }) };
            let record: TokenRecord = decode(&stored.key, &stored.value)?;
            if !token.matches(&record) {
                return Err(EnrolError::UnknownToken { id: token.id.clone() });
            }
            let now = unix_ms_now();
            if record.expired(now) {
                self.store.delete(&token_key).await?;
                return Err(EnrolError::ExpiredToken { id: token.id.clone() });
            }
            let host_key = enrolment_key(&request.host_id);
            let existing = self.store.get(&host_key).await?;
            if let Some(kv) = &existing {
                let old: EnrolmentRecord = decode(&kv.key, &kv.value)?;
                if !old.revoked {
                    return Err(EnrolError::HostEnrolled { host_id: old.host_id, host_name: old.host_name });
                }
            }
            for kv in self.store.range(ENROLMENTS_PREFIX).await?.kvs {
                let other: EnrolmentRecord = decode(&kv.key, &kv.value)?;
                if other.host_name.eq_ignore_ascii_case(&request.host_name)
                    && other.host_id != request.host_id
                    && !other.revoked
                {
                    return Err(EnrolError::NameTaken { host_name: other.host_name, host_id: other.host_id });
                }
            }
            let issued = authority.issue_agent(
                &request.csr_pem,
                &request.host_id,
                SystemTime::now(),
                self.cert_lifetime,
            )?;
            let enrolled = EnrolmentRecord {
                host_id: request.host_id.clone(),
                host_name: request.host_name.clone(),
                vtep: request.vtep,
                serials: vec![issued.serial.clone()],
                not_after_ms: unix_ms(issued.not_after),
                enrolled_ms: now,
                enrolled_from: from.to_owned(),
                token_id: token.id.clone(),
                revoked: false,
            };
            // One transaction spends the token and records the host, so a token enrols once.
            let txn = Txn {
                compare: vec![
                    Compare::ModRevision(token_key.clone(), stored.mod_revision),
                    Compare::ModRevision(host_key.clone(), existing.as_ref().map_or(0, |kv| kv.mod_revision)),
                ],
                success: if record.reusable {
                    vec![Op::Put { key: host_key, value: encode(&enrolled)? }]
                } else {
                    vec![Op::Delete { key: token_key }, Op::Put { key: host_key, value: encode(&enrolled)? }]
                },
                failure: vec![],
            };
            if self.store.txn(txn).await?.succeeded {
                return Ok(Certificate { cert_pem: issued.cert_pem, record: enrolled });
            }
        }
        Err(EnrolError::Contended)
    }

    /// A fresh certificate for the host `peer` identifies, which must still be enrolled.
    pub async fn renew(&self, peer: &PeerCertificate, csr_pem: &str) -> Result<Certificate, EnrolError> {
        // Agents renew at two thirds of the life; earlier than half is a loop, not a renewal.
        let life = peer.not_after.duration_since(peer.not_before).unwrap_or_default();
        if SystemTime::now() < peer.not_before + life / 2 {
            return Err(EnrolError::NotDue { serial: peer.serial.clone() });
        }
        let authority = &self.authority;
        for _ in 0..ATTEMPTS {
            let (record, mod_revision) = self.lookup(peer).await?;
            let issued =
                authority.issue_agent(csr_pem, &record.host_id, SystemTime::now(), self.cert_lifetime)?;
            let renewed = record.renewed(issued.serial.clone(), unix_ms(issued.not_after));
            let key = enrolment_key(&record.host_id);
            let txn = Txn {
                compare: vec![Compare::ModRevision(key.clone(), mod_revision)],
                success: vec![Op::Put { key, value: encode(&renewed)? }],
                failure: vec![],
            };
            if self.store.txn(txn).await?.succeeded {
                return Ok(Certificate { cert_pem: issued.cert_pem, record: renewed });
            }
        }
        Err(EnrolError::Contended)
    }

    /// The enrolled host a verified client certificate speaks for.
    pub async fn identify(&self, peer: &PeerCertificate) -> Result<EnrolmentRecord, EnrolError> {
        Ok(self.lookup(peer).await?.0)
    }

    async fn lookup(&self, peer: &PeerCertificate) -> Result<(EnrolmentRecord, i64), EnrolError> {
        let host_id = &peer.common_name;
        let not_enrolled =
            || CertificateRefused::NotEnrolled { host_id: crate::agent_input::bounded(host_id) };
        if validate_host_id(host_id).is_err() {
            return Err(not_enrolled().into());
        }
        let kv = self.store.get(&enrolment_key(host_id)).await?.ok_or_else(not_enrolled)?;
        let record: EnrolmentRecord = decode(&kv.key, &kv.value)?;
        record.accepts(&peer.serial)?;
        Ok((record, kv.mod_revision))
    }

    /// Whether `host_id` is still enrolled and not revoked.
    pub async fn still_enrolled(&self, host_id: &str) -> Result<bool, EnrolError> {
        let key = enrolment_key(host_id);
        let Some(kv) = self.store.get(&key).await? else { return Ok(false) };
        let record: EnrolmentRecord = decode(&kv.key, &kv.value)?;
        Ok(!record.revoked)
    }

    /// Revokes a host: its certificates stop working at once. False when it was not enrolled.
    pub async fn revoke(&self, host_id: &str) -> Result<bool, EnrolError> {
        for _ in 0..ATTEMPTS {
            let key = enrolment_key(host_id);
            let Some(kv) = self.store.get(&key).await? else { return Ok(false) };
            let record: EnrolmentRecord = decode(&kv.key, &kv.value)?;
            let revoked = EnrolmentRecord { revoked: true, ..record };
            let txn = Txn {
                compare: vec![Compare::ModRevision(key.clone(), kv.mod_revision)],
                success: vec![Op::Put { key, value: encode(&revoked)? }],
                failure: vec![],
            };
            if self.store.txn(txn).await?.succeeded {
                return Ok(true);
            }
        }
        Err(EnrolError::Contended)
    }

    /// Forgets a host (its module was removed): its certificates stop working, and its id and
    /// name may enrol again with a new token.
    pub async fn remove(&self, host_id: &str) -> Result<bool, EnrolError> {
        if validate_host_id(host_id).is_err() {
            return Ok(false);
        }
        Ok(self.store.delete(&enrolment_key(host_id)).await?.is_some())
    }

    /// Every enrolled host.
    pub async fn records(&self) -> Result<Vec<EnrolmentRecord>, EnrolError> {
        self.store.range(ENROLMENTS_PREFIX).await?.kvs.iter().map(|kv| decode(&kv.key, &kv.value)).collect()
    }
}

/// A new token from the system's secure random source.
fn random_token() -> Result<JoinToken, EnrolError> {
    let mut random = [0u8; 22];
    getrandom::fill(&mut random)
        .map_err(|e| EnrolError::Invalid { field: "randomness", reason: e.to_string() })?;
    Ok(JoinToken::from_random(&random))
}

/// Host ids become store keys and certificate names: short, and only `[A-Za-z0-9._:-]`.
pub fn validate_host_id(host_id: &str) -> Result<(), EnrolError> {
    let ok = (1..=64).contains(&host_id.len())
        && host_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(EnrolError::Invalid {
            field: "host id",
            reason: "1-64 letters, digits, '.', '_', ':' or '-'".to_owned(),
        })
    }
}

/// Host names are shown to operators: short, printable, no spaces.
pub fn validate_host_name(host_name: &str) -> Result<(), EnrolError> {
    let ok = (1..=64).contains(&host_name.chars().count()) && host_name.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(EnrolError::Invalid {
            field: "host name",
            reason: "1-64 printable characters, no spaces".to_owned(),
        })
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, EnrolError> {
    serde_json::to_vec(value).map_err(|e| EnrolError::Corrupt { key: String::new(), reason: e.to_string() })
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, value: &[u8]) -> Result<T, EnrolError> {
    serde_json::from_slice(value)
        .map_err(|e| EnrolError::Corrupt { key: key.to_owned(), reason: e.to_string() })
}
