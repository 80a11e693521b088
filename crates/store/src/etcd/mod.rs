//! The etcd backend: the same data model, on an etcd cluster shared by several supervisors.
//!
//! Layout: every key is stored as `prefix + key` (the keys are the ones the redb backend
//! uses), so one etcd can hold several installations side by side; reads and watches strip the
//! prefix again. Revisions, leases and compaction are etcd's own.
//!
//! Every request is bounded by [`EtcdOptions::request_timeout`]. Requests go to one member at a
//! time ([`members`]); one that could not reach its member, or that its member refused for want
//! of a leader, goes to the next, and reads also move on after any failure. What still fails
//! (no quorum anywhere, the timeout) is [`StoreError::Unavailable`] — for writes. Reads then
//! come from a member's local copy ([`degraded`]).

mod degraded;
mod errors;
mod keys;
mod members;
mod options;
mod status;
mod txn;
mod watch;

use std::future::Future;
use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{CompactionOptions, GetOptions};

use crate::{
    KeyValue, LeaseId, RangeResponse, Revision, Store, StoreError, StoreHealth, Txn, TxnResponse, WatchStream,
};
use keys::Keyspace;
use members::{Member, Members};
pub use options::{EtcdOptions, EtcdTls};
use status::Health;

/// The pause after every member failed in turn, before trying them again.
const ROUND_PAUSE: Duration = Duration::from_millis(100);

/// Whether a request may be sent again after a failure that may have reached etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Reads, and requests whose repetition changes nothing more (renewing, revoking).
    Safe,
    /// Writes: sent again only if they cannot have reached a member.
    OnlyIfUnsent,
}

/// A store on an etcd cluster. Cheap to share as `Arc<dyn Store>`.
pub struct EtcdStore {
    members: Members,
    /// The same members on connections that do not require a leader: for reads from a
    /// member's local copy while the cluster has no quorum ([`degraded`]).
    local_members: Members,
    keys: Keyspace,
    request_timeout: Duration,
    health: Health,
    degraded: degraded::Degraded,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("keys", &self.keys)
            .field("request_timeout", &self.request_timeout)
            .field("health", &self.health.tracker().snapshot())
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to the cluster and checks that it answers (a linearizable read, so a cluster
    /// without quorum fails here with [`StoreError::Unavailable`] rather than at the first
    /// request).
    pub async fn connect(options: EtcdOptions) -> Result<EtcdStore, StoreError> {
        let (endpoints, connect) = options::client_settings(&options)?;
        let store = EtcdStore {
            members: Members::new(&endpoints, &connect).await?,
            local_members: Members::new(&endpoints, &connect.clone().with_require_leader(false)).await?,
            keys: Keyspace::new(options.prefix.clone()),
            request_timeout: options.request_timeout,
            health: Health::new(endpoints.join(",")),
            degraded: degraded::Degraded::default(),
        };
        store.revision().await?;
        Ok(store)
    }

    /// Runs `request` on the current member, moving on to the next ones as [`Repeat`] allows,
    /// all within the request timeout; maps the error and records health.
    async fn call<T, F, Fut>(&self, what: &str, repeat: Repeat, request: F) -> Result<T, StoreError>
    where
        F: Fn(Member) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        // A write while reads already know the cluster has no quorum fails fast.
        let budget = match repeat {
            Repeat::OnlyIfUnsent => {
                self.degraded.write_budget(std::time::Instant::now(), self.request_timeout)
            }
            Repeat::Safe => self.request_timeout,
        };
        self.call_on(&self.members, what, repeat, budget, request).await
    }

    /// A read from a member's local copy, leader or not.
    async fn call_local<T, F, Fut>(&self, request: F) -> Result<T, StoreError>
    where
        F: Fn(Member) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        self.call_on(&self.local_members, "local read", Repeat::Safe, self.request_timeout, request).await
    }

    /// [`EtcdStore::call`] on `members`, within `budget` rather than the request timeout.
    async fn call_on<T, F, Fut>(
        &self,
        members: &Members,
        what: &str,
        repeat: Repeat,
        budget: Duration,
        request: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(Member) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let deadline = tokio::time::Instant::now() + budget;
        let mut failures = 0;
        let mut last: Option<etcd_client::Error> = None;
        let result = loop {
            let (member, client) = members.current();
            match tokio::time::timeout_at(deadline, request(client)).await {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err(error)) if errors::worth_another_member(&error, repeat == Repeat::Safe) => {
                    members.failed(member);
                    last = Some(error);
                    failures += 1;
                    let round_done = failures % members.len() == 0;
                    if round_done
                        && tokio::time::timeout_at(deadline, tokio::time::sleep(ROUND_PAUSE)).await.is_err()
                    {
                        break Err(self.timed_out(what, last.take()));
                    }
                }
                Ok(Err(error)) => break Err(errors::from_etcd(error)),
                Err(_) => {
                    members.failed(member);
                    break Err(self.timed_out(what, last.take()));
                }
            }
        };
        self.health.observe(&result);
        result
    }

    fn timed_out(&self, what: &str, last: Option<etcd_client::Error>) -> StoreError {
        let last = match last.map(errors::from_etcd) {
            Some(StoreError::Unavailable(reason)) => format!(" (last: {reason})"),
            Some(other) => format!(" (last: {other})"),
            None => String::new(),
        };
        StoreError::Unavailable(format!(
            "etcd did not complete a {what} within {:?}{last}",
            self.request_timeout
        ))
    }

    /// A read: linearizable while the cluster has quorum, else from a member's local copy.
    async fn read(&self, key: Vec<u8>, options: GetOptions) -> Result<etcd_client::GetResponse, StoreError> {
        let get = |options: GetOptions| {
            let key = key.clone();
            move |client: Member| {
                let (key, options) = (key.clone(), options.clone());
                async move { client.kv().get(key, Some(options)).await }
            }
        };
        let now = std::time::Instant::now();
        let budget = match self.degraded.mode(now, self.request_timeout) {
            degraded::ReadMode::Local => {
                let response = self.call_local(get(options.with_serializable())).await;
                self.health.observe_error(&no_quorum());
                return response;
            }
            degraded::ReadMode::Linearizable(budget) => budget,
        };
        match self.call_on(&self.members, "read", Repeat::Safe, budget, get(options.clone())).await {
            Ok(response) => {
                if self.degraded.recovered() {
                    tracing::warn!("etcd has quorum again: reads are linearizable again");
                }
                Ok(response)
            }
            Err(StoreError::Unavailable(reason)) => {
                let response = self.call_local(get(options.with_serializable())).await?;
                self.health.observe_error(&no_quorum());
                if self.degraded.fell_back(std::time::Instant::now()) {
                    tracing::error!(%reason, "etcd has no quorum: writes fail, reads come from a member's local copy and may be stale");
                }
                Ok(response)
            }
            Err(other) => Err(other),
        }
    }

    async fn get_range(&self, key: Vec<u8>, options: GetOptions) -> Result<RangeResponse, StoreError> {
        let response = self.read(key, options).await?;
        Ok(RangeResponse {
            kvs: self.keys.key_values(response.kvs())?,
            revision: response.header().map_or(0, etcd_client::ResponseHeader::revision),
        })
    }

    /// Which of a failed transaction's leases is gone (etcd's error does not say).
    async fn dead_lease(&self, leases: &[LeaseId]) -> LeaseId {
        if let [only] = leases {
            return *only;
        }
        for &lease in leases {
            let ttl = self
                .call("lease lookup", Repeat::Safe, |client| async move {
                    client.lease().time_to_live(lease, None).await
                })
                .await;
            if ttl.is_ok_and(|response| response.ttl() < 0) {
                return lease;
            }
        }
        leases.first().copied().unwrap_or(0)
    }
}

/// What health says while reads come from local copies.
fn no_quorum() -> StoreError {
    StoreError::Unavailable("etcd has no quorum: writes fail; reads come from a member's local copy".into())
}

#[async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let response = self.read(self.keys.etcd_key(key), GetOptions::new()).await?;
        response.kvs().first().map(|found| self.keys.key_value(found)).transpose()
    }

    async fn range(&self, prefix: &str) -> Result<RangeResponse, StoreError> {
        self.get_range(self.keys.etcd_key(prefix), GetOptions::new().with_prefix()).await
    }

    async fn range_between(&self, keys: Range<&str>) -> Result<RangeResponse, StoreError> {
        if keys.start >= keys.end {
            return Ok(RangeResponse { kvs: Vec::new(), revision: self.revision().await? });
        }
        let options = GetOptions::new().with_range(self.keys.etcd_key(keys.end));
        self.get_range(self.keys.etcd_key(keys.start), options).await
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, StoreError> {
        let key = self.keys.etcd_key(key);
        let response = self
            .call("write", Repeat::OnlyIfUnsent, |client| {
                let (key, value) = (key.clone(), value.clone());
                async move { client.kv().put(key, value, None).await }
            })
            .await?;
        Ok(response.header().map_or(0, etcd_client::ResponseHeader::revision))
    }

    async fn delete(&self, key: &str) -> Result<Option<Revision>, StoreError> {
        let key = self.keys.etcd_key(key);
        let response = self
            .call("write", Repeat::OnlyIfUnsent, |client| {
                let key = key.clone();
                async move { client.kv().delete(key, None).await }
            })
            .await?;
        let revision = response.header().map_or(0, etcd_client::ResponseHeader::revision);
        Ok((response.deleted() > 0).then_some(revision))
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse, StoreError> {
        let request = txn::to_etcd(&self.keys, &txn);
        let result = self
            .call("transaction", Repeat::OnlyIfUnsent, |client| {
                let request = request.clone();
                async move { client.kv().txn(request).await }
            })
            .await;
        match result {
            Ok(response) => txn::from_etcd(&self.keys, &response),
            Err(StoreError::LeaseNotFound { .. }) => {
                Err(StoreError::LeaseNotFound { lease: self.dead_lease(&txn::leases_used(&txn)).await })
            }
            Err(error) => Err(error),
        }
    }

    async fn watch(&self, prefix: &str, start_revision: Revision) -> Result<WatchStream, StoreError> {
        watch::start(self, prefix, start_revision).await
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        // A count-only read of one key: the header carries the store's revision. (An empty
        // key is refused; a lone NUL byte is a key nobody uses.)
        let probe = match self.keys.etcd_key("") {
            key if key.is_empty() => vec![0],
            key => key,
        };
        Ok(self.get_range(probe, GetOptions::new().with_count_only()).await?.revision)
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        let seconds = crate::lease_ttl_seconds(ttl);
        let response = self
            .call("lease grant", Repeat::OnlyIfUnsent, |client| async move {
                client.lease().grant(seconds, None).await
            })
            .await?;
        Ok(response.id())
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        // One renewal is one round trip on a keep-alive stream of its own, closed right after.
        let result =
            self.call("lease keep-alive", Repeat::Safe, |client| async move {
                client.lease().keep_alive(lease).await
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(StoreError::LeaseNotFound { .. }) => Err(StoreError::LeaseNotFound { lease }),
            Err(error) => Err(error),
        }
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError> {
        let result = self
            .call("lease revoke", Repeat::Safe, |client| async move { client.lease().revoke(lease).await })
            .await;
        match result {
            Ok(_) | Err(StoreError::LeaseNotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        // Physical: return once the member has dropped the history, not merely scheduled it.
        let result = self
            .call("compaction", Repeat::Safe, |client| async move {
                client.kv().compact(revision, Some(CompactionOptions::new().with_physical())).await
            })
            .await;
        match result {
            Ok(_) | Err(StoreError::Compacted { .. }) => Ok(()),
            Err(StoreError::FutureRevision { .. }) => {
                Err(StoreError::FutureRevision { requested: revision, current: self.revision().await? })
            }
            Err(error) => Err(error),
        }
    }

    fn health(&self) -> StoreHealth {
        self.health.tracker().snapshot()
    }
}
