//! Supervisors as `show module` lists them: the first two to join the store are modules 1 and 2,
//! as on the Nexus 1000V; any further one takes the next free module number, as an agent's host
//! does, so no two rows of `show module` share a number. The number is kept in the store under the
//! supervisor's id (a restart keeps it); a supervisor is `active` while its lease lives.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use store::{Compare, Op, Store, StoreError, Txn};
use utoipa::ToSchema;

use super::lease::SupervisorLease;
use crate::clock::unix_ms_now;
use crate::layout::{
    LIVE_SUPERVISORS_PREFIX, NEXT_MODULE_KEY, NEXT_SUPERVISOR_KEY, SUPERVISORS_PREFIX, live_supervisor_key,
    parse_counter, supervisor_key,
};
use crate::modules::FIRST_AGENT_MODULE;

/// Attempts at taking a number before giving up (only other supervisors starting compete).
const ATTEMPTS: usize = 16;

/// What the store keeps of a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupervisorRecord {
    /// Its number in `show module` (1, 2, …).
    pub number: u32,
    /// Its id (the data dir's `supervisor-id`).
    pub id: String,
    /// The host it runs on.
    pub host_name: String,
    /// Where agents and operators reach it.
    pub address: String,
    /// Its software version.
    pub version: String,
    /// When it last started (Unix ms).
    pub started_unix_ms: u64,
}

/// A supervisor with its state (`GET /api/v1/supervisors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupervisorView {
    #[serde(flatten)]
    pub record: SupervisorRecord,
    /// Its lease lives: it is serving.
    pub active: bool,
    /// The supervisor that answered this request.
    pub this: bool,
}

/// Why a supervisor could not join or be listed.
#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    #[error("supervisors joined concurrently {ATTEMPTS} times in a row; start this one again")]
    Contended,
    #[error("stored supervisor record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// This supervisor's membership.
#[derive(Debug)]
pub struct Members {
    store: Arc<dyn Store>,
    lease: Arc<SupervisorLease>,
    me: SupervisorRecord,
}

impl Members {
    /// Joins: takes this id's number (a new one the first time) and says it is up.
    pub async fn join(
        store: Arc<dyn Store>,
        lease: Arc<SupervisorLease>,
        id: &str,
        host_name: &str,
        address: &str,
    ) -> Result<Self, MembersError> {
        let key = supervisor_key(id);
        for _ in 0..ATTEMPTS {
            let (number, compare, mut ops) = match store.get(&key).await? {
                Some(kv) => {
                    let old = decode(&kv.key, &kv.value)?;
                    (old.number, vec![Compare::ModRevision(key.clone(), kv.mod_revision)], Vec::new())
                }
                None => {
                    let supervisors = read_counter(store.as_ref(), NEXT_SUPERVISOR_KEY, 1).await?;
                    // Slots 1 and 2, then the agents' counter: module numbers stay unique.
                    let (counter_key, (number, revision)) = if supervisors.0 < FIRST_AGENT_MODULE {
                        (NEXT_SUPERVISOR_KEY, supervisors)
                    } else {
                        let modules =
                            read_counter(store.as_ref(), NEXT_MODULE_KEY, FIRST_AGENT_MODULE).await?;
                        (NEXT_MODULE_KEY, (modules.0.max(FIRST_AGENT_MODULE), modules.1))
                    };
                    let compare = vec![
                        Compare::CreateRevision(key.clone(), 0),
                        Compare::ModRevision(counter_key.into(), revision),
                    ];
                    let next = (u64::from(number) + 1).to_string().into_bytes();
                    (number, compare, vec![Op::Put { key: counter_key.into(), value: next }])
                }
            };
            let me = SupervisorRecord {
                number,
                id: id.to_owned(),
                host_name: host_name.to_owned(),
                address: address.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                started_unix_ms: unix_ms_now(),
            };
            let value = encode(&me)?;
            ops.push(Op::Put { key: key.clone(), value: value.clone() });
            ops.push(Op::PutLeased { key: live_supervisor_key(id), value, lease: lease.id() });
            if store.txn(Txn { compare, success: ops, failure: Vec::new() }).await?.succeeded {
                tracing::info!(number, id, "supervisor joined the store");
                return Ok(Self { store, lease, me });
            }
        }
        Err(MembersError::Contended)
    }

    /// Says again that this supervisor is up, on the current lease (after a new one was granted).
    pub async fn announce(&self) -> Result<(), MembersError> {
        let op = Op::PutLeased {
            key: live_supervisor_key(&self.me.id),
            value: encode(&self.me)?,
            lease: self.lease.id(),
        };
        self.store.txn(Txn { compare: Vec::new(), success: vec![op], failure: Vec::new() }).await?;
        Ok(())
    }

    /// Says this supervisor is leaving (a clean shutdown): `show module` marks it offline at once.
    /// Only this run's key goes: a successor already started with the same id keeps its own.
    pub async fn leave(&self) {
        let key = live_supervisor_key(&self.me.id);
        let left = match encode(&self.me) {
            Ok(value) => {
                let txn = Txn {
                    compare: vec![Compare::Value(key.clone(), value)],
                    success: vec![Op::Delete { key }],
                    failure: Vec::new(),
                };
                self.store.txn(txn).await.map(|_| ()).map_err(MembersError::from)
            }
            Err(error) => Err(error),
        };
        if let Err(error) = left {
            tracing::warn!(%error, "cannot mark this supervisor as gone; it will be once its lease expires");
        }
    }

    /// Every supervisor that ever joined, by number, with whether it is up.
    pub async fn list(&self) -> Result<Vec<SupervisorView>, MembersError> {
        let records = self.store.range(SUPERVISORS_PREFIX).await?;
        let live = self.store.range(LIVE_SUPERVISORS_PREFIX).await?;
        let mut views = records
            .kvs
            .iter()
            .map(|kv| {
                let record = decode(&kv.key, &kv.value)?;
                let active = live.kvs.iter().any(|kv| kv.key == live_supervisor_key(&record.id));
                let this = record.id == self.me.id;
                Ok(SupervisorView { record, active, this })
            })
            .collect::<Result<Vec<_>, MembersError>>()?;
        views.sort_by_key(|view| view.record.number);
        Ok(views)
    }
}

/// A counter's value (`default` when absent) and its mod revision (0 when absent).
async fn read_counter(
    store: &dyn Store,
    key: &str,
    default: u32,
) -> Result<(u32, store::Revision), MembersError> {
    let kv = store.get(key).await?;
    let value = parse_counter(kv.as_ref().map(|kv| kv.value.as_slice()), u64::from(default))
        .map_err(|reason| MembersError::Corrupt { key: key.into(), reason })?;
    Ok((u32::try_from(value).unwrap_or(u32::MAX).max(1), kv.map_or(0, |kv| kv.mod_revision)))
}

fn decode(key: &str, value: &[u8]) -> Result<SupervisorRecord, MembersError> {
    serde_json::from_slice(value)
        .map_err(|e| MembersError::Corrupt { key: key.to_owned(), reason: e.to_string() })
}

fn encode(record: &SupervisorRecord) -> Result<Vec<u8>, MembersError> {
    serde_json::to_vec(record).map_err(|e| MembersError::Store(StoreError::Io(e.to_string())))
}
