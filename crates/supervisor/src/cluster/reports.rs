//! Agents' port reports, shared: the supervisor serving a module keeps its latest report under
//! `live/reports/<N>` (on its lease), and every other supervisor mirrors it into its own view, so
//! `show interface`, `show mac address-table` and the ACL counters answer the same on every
//! supervisor, and a supervisor taking a module over after a failover knows which ports were up
//! (it logs no second `IF_UP`).
//!
//! A report is written when what it says changes (ports up or down, MACs, secure ports, DHCP
//! bindings, uplinks) and otherwise at most every [`REFRESH`]: counters and rates on the other
//! supervisors lag by up to that much, and the store takes one write per module per
//! [`REFRESH`] rather than one per report.

use std::collections::HashMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use store::{Op, Store, StoreError, Txn};

use super::lease::SupervisorLease;
use crate::layout::live_report_key;

/// The longest a shared report's counters lag the agent's.
pub const REFRESH: Duration = Duration::from_secs(10);
/// The least time between two writes of one module's report, however often what it says
/// changes: an agent (broken, or hostile) reporting as fast as it can costs the store at most one
/// write per module per gap; a change within the gap goes with the agent's next report.
pub const MIN_GAP: Duration = Duration::from_secs(1);

/// What a `live/reports/` key holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct SharedReport {
    /// The supervisor that took the report from the agent.
    pub supervisor: String,
    /// The `proto::PortReport`, protobuf-encoded, in base64.
    pub report: String,
}

impl SharedReport {
    /// The report, if it decodes.
    pub fn decode(value: &[u8]) -> Option<(String, proto::PortReport)> {
        let shared: SharedReport = serde_json::from_slice(value).ok()?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(shared.report).ok()?;
        Some((shared.supervisor, proto::PortReport::decode(bytes.as_slice()).ok()?))
    }
}

/// The reports this supervisor shares.
#[derive(Debug)]
pub struct SharedReports {
    store: Arc<dyn Store>,
    lease: Arc<SupervisorLease>,
    me: String,
    /// Per module: when its report was last written, and a digest of what it said.
    written: Mutex<HashMap<u32, (Instant, u64)>>,
}

impl SharedReports {
    pub fn new(store: Arc<dyn Store>, lease: Arc<SupervisorLease>, me: &str) -> Self {
        Self { store, lease, me: me.to_owned(), written: Mutex::new(HashMap::new()) }
    }

    /// Shares `report` (accepted from its module's agent) if it says something new or the last
    /// one is older than [`REFRESH`].
    pub async fn share(&self, report: &proto::PortReport, now: Instant) -> Result<(), StoreError> {
        let module = report.module;
        let digest = digest(report);
        let due = match self.written().get(&module) {
            Some(&(at, said)) => {
                let since = now.saturating_duration_since(at);
                (said != digest && since >= MIN_GAP) || since >= REFRESH
            }
            None => true,
        };
        if !due {
            return Ok(());
        }
        let shared = SharedReport {
            supervisor: self.me.clone(),
            report: base64::engine::general_purpose::STANDARD.encode(report.encode_to_vec()),
        };
        let value = serde_json::to_vec(&shared).map_err(|e| StoreError::Io(e.to_string()))?;
        let op = Op::PutLeased { key: live_report_key(module), value, lease: self.lease.id() };
        self.store.txn(Txn { compare: Vec::new(), success: vec![op], failure: Vec::new() }).await?;
        self.written().insert(module, (now, digest));
        Ok(())
    }

    /// This supervisor's id.
    pub fn me(&self) -> &str {
        &self.me
    }

    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<u32, (Instant, u64)>> {
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A digest of what a report says, counters and ages aside.
fn digest(report: &proto::PortReport) -> u64 {
    let mut said = report.clone();
    for port in &mut said.ports {
        port.counters = None;
    }
    for uplink in &mut said.uplinks {
        uplink.counters = None;
    }
    for mac in &mut said.macs {
        mac.age_seconds = 0;
    }
    if let Some(policy) = &mut said.policy {
        policy.acl_hits.clear();
        policy.exporters.clear();
        policy.conntrack = None;
        for binding in &mut policy.dhcp_bindings {
            binding.lease_seconds = 0;
        }
    }
    said.held_addresses.clear();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    said.encode_to_vec().hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn report(mac: &str) -> proto::PortReport {
        let entry = proto::MacEntry { mac: mac.to_owned(), age_seconds: 7, ..Default::default() };
        proto::PortReport { module: 3, macs: vec![entry], ..Default::default() }
    }

    #[tokio::test]
    async fn a_report_changing_every_time_costs_one_write_per_gap() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = store::RedbStore::open(dir.path()).unwrap();
        let lease = SupervisorLease::grant(store.clone(), Duration::from_secs(5)).await.unwrap();
        let shared = SharedReports::new(store.clone(), lease, "me");
        let start = Instant::now();
        shared.share(&report("02:00:00:00:00:01"), start).await.unwrap();
        let first = store.revision().await.unwrap();
        // A hostile agent reporting a new MAC every 10 ms: nothing more for a second.
        for i in 2..50u32 {
            let at = start + Duration::from_millis(u64::from(i) * 10);
            shared.share(&report(&format!("02:00:00:00:00:{i:02x}")), at).await.unwrap();
        }
        assert_eq!(store.revision().await.unwrap(), first);
        shared.share(&report("02:00:00:00:01:00"), start + MIN_GAP).await.unwrap();
        let second = store.revision().await.unwrap();
        assert!(second > first, "a change after the gap is written");
        // Only the age moved: not a change; written again only after REFRESH.
        let mut aged = report("02:00:00:00:01:00");
        aged.macs[0].age_seconds = 99;
        shared.share(&aged, start + MIN_GAP * 3).await.unwrap();
        assert_eq!(store.revision().await.unwrap(), second);
        shared.share(&aged, start + MIN_GAP + REFRESH).await.unwrap();
        assert!(store.revision().await.unwrap() > second);
        let kv = store.get(&live_report_key(3)).await.unwrap().unwrap();
        let (by, back) = SharedReport::decode(&kv.value).unwrap();
        assert_eq!((by.as_str(), back.macs[0].age_seconds), ("me", 99));
    }
}
