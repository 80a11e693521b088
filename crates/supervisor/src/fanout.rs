//! Policy fan-out: one store watch of the config feeds the evaluated-policy table; every change
//! becomes one [`Delta`], shared (`Arc`) by all agent streams through a bounded broadcast ring.
//!
//! Memory is bounded by the ring, whatever the agents do: a stream that falls more than the ring
//! behind is ended with an error (the agent reconnects and resyncs from its `known` map), and a
//! stream nobody polls just stops reading — it never blocks the feed or the other streams.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};

use config::{Config, EffectivePolicy};
use futures::{Stream, StreamExt as _};
use store::{Revision, Store, StoreError};
use tokio::sync::{broadcast, watch};
use tonic::Status;

use crate::config_store::{ConfigMirror, evaluate};
use crate::layout::CONFIG_PREFIX;
use crate::policy_table::{Delta, PolicyTable};
use crate::server::stopped;

/// Whether a policy concerns the agent on `module`. Every agent gets every profile: a port may be
/// bound to any profile at any moment (and a bind reply carries the port's policy anyway), and
/// agents serve `vemcmd` and headless restarts from the whole set. Narrowing it to "a port bound
/// on that module uses the profile" is a change of this function alone, plus removes when the
/// last such port goes.
pub fn concerns(module: u32, policy: &proto::Policy) -> bool {
    let _ = (module, policy);
    true
}

/// An agent's stream of policy updates.
pub type UpdateStream = Pin<Box<dyn Stream<Item = Result<proto::PolicyUpdate, Status>> + Send>>;

/// The evaluated policies and the broadcast of their deltas.
#[derive(Debug)]
pub struct Fanout {
    table: RwLock<PolicyTable>,
    sender: broadcast::Sender<Arc<Delta>>,
}

impl Fanout {
    /// A fan-out whose streams may fall `buffer` deltas behind before they are ended.
    pub fn new(buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        Self { table: RwLock::new(PolicyTable::default()), sender }
    }

    /// The config revision the policies reflect.
    pub fn revision(&self) -> Revision {
        self.table.read().unwrap_or_else(PoisonError::into_inner).revision()
    }

    /// One evaluated policy and its wire form, as agent streams carry it.
    pub fn policy(&self, name: &str) -> Option<(EffectivePolicy, Arc<proto::Policy>)> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.entry(name).map(|(policy, wire)| (policy.clone(), wire.clone()))
    }

    /// The evaluated policies of `names` that exist.
    pub fn policies<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, EffectivePolicy> {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        names.into_iter().filter_map(|name| Some((name.to_owned(), table.get(name)?.clone()))).collect()
    }

    /// How many agent streams are open.
    pub fn streams(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Evaluates `config` (as of `revision`) and broadcasts what changed. Changed policies
    /// get `revision_of(name)`. Broadcasting under the table lock keeps subscribers consistent:
    /// each sees a delta either in its sync or on its receiver, never both or neither.
    fn publish(&self, config: &Config, revision: Revision, revision_of: impl Fn(&str) -> Revision) {
        let evaluated = evaluate(config);
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        let delta = table.update(evaluated, revision, revision_of);
        // No receivers is fine: nobody is watching yet.
        let _ = self.sender.send(Arc::new(delta));
    }

    /// Opens an agent stream: first the sync (what differs from `known`), then deltas.
    pub fn subscribe(
        &self,
        module: u32,
        known: &HashMap<String, Revision>,
        shutdown: watch::Receiver<bool>,
    ) -> UpdateStream {
        let (sync, receiver) = {
            let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
            (table.sync(known, |policy| concerns(module, policy)), self.sender.subscribe())
        };
        let first = update_for(module, &sync, true);
        let follow = Follow { module, after: sync.revision, receiver, shutdown, ended: false };
        Box::pin(
            futures::stream::once(async move { Ok(first) })
                .chain(futures::stream::unfold(follow, Follow::next)),
        )
    }
}

/// The live part of one agent stream.
struct Follow {
    module: u32,
    /// Deltas up to this revision are already in the sync.
    after: Revision,
    receiver: broadcast::Receiver<Arc<Delta>>,
    shutdown: watch::Receiver<bool>,
    ended: bool,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<proto::PolicyUpdate, Status>, Self)> {
        if self.ended {
            return None;
        }
        let item = loop {
            let received = tokio::select! {
                () = stopped(&mut self.shutdown) => None,
                received = self.receiver.recv() => Some(received),
            };
            match received {
                None => {
                    self.ended = true;
                    break Err(Status::unavailable("the supervisor is shutting down"));
                }
                Some(Ok(delta)) if delta.revision <= self.after => continue,
                Some(Ok(delta)) => break Ok(update_for(self.module, &delta, false)),
                Some(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    self.ended = true;
                    let message = format!("watch stream fell {missed} updates behind; reconnect to resync");
                    break Err(Status::resource_exhausted(message));
                }
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        };
        Some((item, self))
    }
}

/// The part of a delta that concerns one module. Removes are passed on unfiltered: a removed
/// policy can no longer be asked about, and an agent ignores names it does not hold.
fn update_for(module: u32, delta: &Delta, sync: bool) -> proto::PolicyUpdate {
    proto::PolicyUpdate {
        revision: delta.revision,
        sync,
        upserts: delta
            .upserts
            .iter()
            .filter(|policy| concerns(module, policy))
            .map(|policy| (**policy).clone())
            .collect(),
        removes: delta.removes.iter().map(|name| name.to_string()).collect(),
    }
}

/// Loads the policies from the store: run before serving so that no agent syncs against an
/// empty table. Returns the revision to watch from.
pub async fn load(store: &dyn Store, fanout: &Fanout) -> Result<(ConfigMirror, Revision), StoreError> {
    let range = store.range(CONFIG_PREFIX).await?;
    let mirror = ConfigMirror::from_kvs(&range.kvs);
    fanout.publish(mirror.config(), range.revision, |name| mirror.chain_revision(name));
    Ok((mirror, range.revision))
}

/// Follows the config in the store until shutdown, publishing a delta per committed change.
/// If the watch breaks (store closed, history compacted) it re-reads and watches again.
pub async fn follow(
    store: Arc<dyn Store>,
    fanout: Arc<Fanout>,
    mut mirror: ConfigMirror,
    mut revision: Revision,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match store.watch(CONFIG_PREFIX, revision + 1).await {
            Ok(mut events) => loop {
                tokio::select! {
                    () = stopped(&mut shutdown) => return,
                    batch = events.recv() => match batch {
                        Some(Ok(batch)) => {
                            if let Some(at) = mirror.apply(&batch) {
                                revision = at;
                                fanout.publish(mirror.config(), at, |_| at);
                            }
                        }
                        Some(Err(error)) => {
                            tracing::warn!(%error, "config watch failed; re-reading the config");
                            break;
                        }
                        None => {
                            tracing::warn!("config watch closed; re-reading the config");
                            break;
                        }
                    },
                }
            },
            Err(error) => tracing::warn!(%error, "cannot watch the config; retrying"),
        }
        tokio::select! {
            () = stopped(&mut shutdown) => return,
            () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
        }
        match store.range(CONFIG_PREFIX).await {
            Ok(range) => {
                mirror = ConfigMirror::from_kvs(&range.kvs);
                revision = range.revision;
                let at = range.revision;
                fanout.publish(mirror.config(), at, |_| at);
            }
            Err(error) => tracing::warn!(%error, "cannot re-read the config"),
        }
    }
}
