//! The protocol core of the Watch stream: applies sync and delta messages to the snapshot.
//!
//! Deterministic and I/O-free (quinn style): the driver in `supervisor_link` feeds it the
//! messages it receives and acts on what comes back (publish the new snapshot, persist it, or
//! drop the connection on a protocol error). An update is validated whole before anything is
//! applied, so a bad message leaves the snapshot exactly as it was.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use config::EffectivePolicy;

use crate::snapshot::{PolicyEntry, PolicySnapshot};

/// Why an update from the supervisor was refused (the agent reconnects and resyncs).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("policy update received with no watch stream open")]
    NoStream,
    #[error("the first message of a watch stream must be a sync; got a delta to revision {revision}")]
    DeltaBeforeSync { revision: i64 },
    #[error("delta goes back from revision {current} to {got}")]
    RevisionWentBack { current: i64, got: i64 },
    #[error("policy {name:?} is not a valid effective policy: {source}")]
    BadPolicy { name: String, source: serde_json::Error },
    #[error("policy sent as {name:?} describes port-profile {json_name:?}")]
    NameMismatch { name: String, json_name: String },
    #[error("policy {name:?} is both upserted and removed in one update")]
    UpsertAndRemove { name: String },
}

/// What one applied update changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// This update was a sync: the agent is now in step with the supervisor.
    pub sync: bool,
    /// The snapshot's revision before and after, when it moved.
    pub revision: Option<(i64, i64)>,
    /// Policies added or changed, by name.
    pub upserted: Vec<String>,
    /// Policies the agent no longer holds.
    pub removed: Vec<String>,
}

impl Applied {
    /// True when the snapshot changed and must be published and persisted.
    pub fn changed(&self) -> bool {
        self.revision.is_some() || !self.upserted.is_empty() || !self.removed.is_empty()
    }
}

/// Where the current watch stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamPhase {
    /// Disconnected: the agent is headless on its last snapshot.
    Closed,
    /// A stream is open; its first message (the sync) has not arrived.
    AwaitingSync,
    /// The stream's sync has been applied; deltas follow.
    InSync,
}

/// The agent's policy state machine: current snapshot plus where the watch stream is.
#[derive(Debug)]
pub struct PolicySync {
    current: Arc<PolicySnapshot>,
    phase: StreamPhase,
}

impl PolicySync {
    /// Starts from `snapshot` (what was persisted, or empty), disconnected.
    pub fn new(snapshot: PolicySnapshot) -> Self {
        Self { current: Arc::new(snapshot), phase: StreamPhase::Closed }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> &Arc<PolicySnapshot> {
        &self.current
    }

    /// What to send as `WatchRequest.known` when opening a stream.
    pub fn known(&self) -> HashMap<String, i64> {
        self.current.known()
    }

    /// True when a stream is open and its sync has been applied.
    pub fn in_sync(&self) -> bool {
        self.phase == StreamPhase::InSync
    }

    /// A new watch stream was opened: its first message must be a sync.
    pub fn stream_opened(&mut self) {
        self.phase = StreamPhase::AwaitingSync;
    }

    /// The stream is gone: keep the snapshot (headless) until the next stream syncs.
    pub fn stream_closed(&mut self) {
        self.phase = StreamPhase::Closed;
    }

    /// Applies one `PolicyUpdate`: all of it or, on error, none of it.
    ///
    /// A sync is authoritative about the revision (the supervisor may have been rebuilt with a
    /// lower one); a delta may not move the revision backwards.
    pub fn handle_update(&mut self, update: proto::PolicyUpdate) -> Result<Applied, SyncError> {
        match (self.phase, update.sync) {
            (StreamPhase::Closed, _) => return Err(SyncError::NoStream),
            (StreamPhase::AwaitingSync, false) => {
                return Err(SyncError::DeltaBeforeSync { revision: update.revision });
            }
            (StreamPhase::InSync, false) if update.revision < self.current.revision => {
                return Err(SyncError::RevisionWentBack {
                    current: self.current.revision,
                    got: update.revision,
                });
            }
            _ => {}
        }
        let upserts = decode_upserts(&update)?;

        let mut next = PolicySnapshot::clone(&self.current);
        let mut applied = Applied { sync: update.sync, ..Applied::default() };
        if next.revision != update.revision {
            applied.revision = Some((next.revision, update.revision));
            next.revision = update.revision;
        }
        for entry in upserts {
            if next.policies.get(&entry.policy.name) != Some(&entry) {
                applied.upserted.push(entry.policy.name.clone());
                next.policies.insert(entry.policy.name.clone(), entry);
            }
        }
        for name in update.removes {
            if next.policies.remove(&name).is_some() {
                applied.removed.push(name);
            }
        }

        if update.sync {
            self.phase = StreamPhase::InSync;
        }
        if applied.changed() {
            self.current = Arc::new(next);
        }
        Ok(applied)
    }
}

/// Parses and checks every upsert of `update` before anything is applied.
fn decode_upserts(update: &proto::PolicyUpdate) -> Result<Vec<PolicyEntry>, SyncError> {
    let removes: BTreeSet<&str> = update.removes.iter().map(String::as_str).collect();
    update
        .upserts
        .iter()
        .map(|wire| {
            if removes.contains(wire.name.as_str()) {
                return Err(SyncError::UpsertAndRemove { name: wire.name.clone() });
            }
            let policy: EffectivePolicy = serde_json::from_str(&wire.json)
                .map_err(|source| SyncError::BadPolicy { name: wire.name.clone(), source })?;
            if policy.name != wire.name {
                return Err(SyncError::NameMismatch { name: wire.name.clone(), json_name: policy.name });
            }
            Ok(PolicyEntry { revision: wire.revision, policy })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::testing::{access_policy, wire_policy};

    fn update(
        revision: i64,
        sync: bool,
        upserts: Vec<proto::Policy>,
        removes: &[&str],
    ) -> proto::PolicyUpdate {
        proto::PolicyUpdate {
            revision,
            sync,
            upserts,
            removes: removes.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A core with a stream open and synced to `vlan100`@5 and `vlan200`@5.
    fn synced() -> PolicySync {
        let mut sync = PolicySync::new(PolicySnapshot::default());
        sync.stream_opened();
        sync.handle_update(update(
            5,
            true,
            vec![wire_policy("vlan100", 100, 5), wire_policy("vlan200", 200, 5)],
            &[],
        ))
        .expect("sync");
        sync
    }

    #[test]
    fn sync_fills_an_empty_agent_and_reports_it() {
        let mut sync = PolicySync::new(PolicySnapshot::default());
        sync.stream_opened();
        assert!(!sync.in_sync());
        let applied =
            sync.handle_update(update(5, true, vec![wire_policy("vlan100", 100, 5)], &[])).expect("sync");
        assert_eq!(
            applied,
            Applied { sync: true, revision: Some((0, 5)), upserted: vec!["vlan100".into()], removed: vec![] }
        );
        assert!(sync.in_sync());
        assert_eq!(sync.snapshot().get("vlan100"), Some(&access_policy("vlan100", 100)));
        assert_eq!(sync.known(), HashMap::from([("vlan100".to_string(), 5)]));
    }

    #[test]
    fn deltas_upsert_and_remove() {
        let mut sync = synced();
        let applied = sync
            .handle_update(update(7, false, vec![wire_policy("vlan100", 101, 7)], &["vlan200"]))
            .expect("delta");
        assert_eq!(applied.upserted, vec!["vlan100".to_string()]);
        assert_eq!(applied.removed, vec!["vlan200".to_string()]);
        assert_eq!(sync.snapshot().revision, 7);
        assert_eq!(sync.snapshot().get("vlan100").map(|p| p.access_vlan), Some(101));
        assert_eq!(sync.known(), HashMap::from([("vlan100".to_string(), 7)]));
    }

    #[test]
    fn an_empty_sync_for_an_agent_already_current_changes_nothing() {
        let mut sync = synced();
        let before = Arc::clone(sync.snapshot());
        sync.stream_closed();
        sync.stream_opened();
        let applied = sync.handle_update(update(5, true, vec![], &[])).expect("sync");
        assert!(!applied.changed());
        assert!(sync.in_sync());
        assert!(Arc::ptr_eq(&before, sync.snapshot()), "unchanged snapshot must not be replaced");
    }

    #[test]
    fn resync_after_reconnect_applies_only_the_difference() {
        let mut sync = synced();
        sync.stream_closed();
        // While headless the supervisor removed vlan200 and changed vlan100.
        sync.stream_opened();
        let applied = sync
            .handle_update(update(9, true, vec![wire_policy("vlan100", 150, 9)], &["vlan200"]))
            .expect("resync");
        assert!(applied.sync);
        assert_eq!(applied.revision, Some((5, 9)));
        assert_eq!(sync.snapshot().len(), 1);
        assert_eq!(sync.snapshot().get("vlan100").map(|p| p.access_vlan), Some(150));
    }

    #[test]
    fn resending_an_identical_policy_is_not_a_change() {
        let mut sync = synced();
        let applied = sync
            .handle_update(update(5, false, vec![wire_policy("vlan100", 100, 5)], &["nope"]))
            .expect("delta");
        assert!(!applied.changed(), "{applied:?}");
    }

    #[test]
    fn a_sync_may_lower_the_revision_but_a_delta_may_not() {
        let mut sync = synced();
        let err = sync.handle_update(update(4, false, vec![], &[])).expect_err("went back");
        assert!(matches!(err, SyncError::RevisionWentBack { current: 5, got: 4 }), "{err}");

        // A rebuilt supervisor starts its revisions again: its sync is authoritative.
        sync.stream_closed();
        sync.stream_opened();
        sync.handle_update(update(2, true, vec![], &[])).expect("sync");
        assert_eq!(sync.snapshot().revision, 2);
    }

    #[test]
    fn delta_before_sync_and_update_without_stream_are_refused() {
        let mut sync = PolicySync::new(PolicySnapshot::default());
        assert!(matches!(sync.handle_update(update(1, true, vec![], &[])), Err(SyncError::NoStream)));
        sync.stream_opened();
        assert!(matches!(
            sync.handle_update(update(1, false, vec![], &[])),
            Err(SyncError::DeltaBeforeSync { revision: 1 })
        ));
    }

    #[test]
    fn a_bad_policy_rejects_the_whole_update() {
        let mut sync = synced();
        let before = PolicySnapshot::clone(sync.snapshot());
        let garbage = proto::Policy {
            name: "web".into(),
            revision: 6,
            json: "{\"name\": \"web\", \"mode\": 7}".into(),
        };
        let err = sync
            .handle_update(update(6, false, vec![wire_policy("db", 300, 6), garbage], &["vlan200"]))
            .expect_err("garbage accepted");
        assert!(err.to_string().starts_with("policy \"web\" is not a valid effective policy"), "{err}");
        assert_eq!(**sync.snapshot(), before);
    }

    #[test]
    fn mismatched_names_and_contradictions_are_refused() {
        let mut sync = synced();
        let mut renamed = wire_policy("vlan300", 300, 6);
        renamed.name = "other".into();
        assert!(matches!(
            sync.handle_update(update(6, false, vec![renamed], &[])),
            Err(SyncError::NameMismatch { .. })
        ));
        assert!(matches!(
            sync.handle_update(update(6, false, vec![wire_policy("x", 3, 6)], &["x"])),
            Err(SyncError::UpsertAndRemove { .. })
        ));
        assert_eq!(sync.snapshot().revision, 5);
    }
}
