//! vEthernet ports: the bindings in the store and the agents' reports in memory.
//!
//! A bind or an unbind is ONE journal write: the binding, the `ports-generation` guard (see
//! [`crate::layout`]) and the `IF_ATTACHED` / `IF_DETACHED` line. Plans are made on a copy of the
//! bindings kept here and refreshed whenever the guard shows another writer (a second supervisor
//! sharing the store) changed them; the guard makes a plan on stale bindings fail and re-plan.
//! Every change to the copy goes to the fan-out too: the profiles of a module's attached ports
//! are what its agent's Watch stream carries ([`crate::interest`]).
//!
//! Reports are memory only ([`PortLive`]); their `IF_UP` / `IF_DOWN` lines are logged as they come.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use store::{Compare, KeyValue, Op, Revision, Store, StoreError};

use crate::agent_input::{self, InputError};
use crate::fanout::Fanout;
use crate::journal::{Journal, MAX_ATTEMPTS, Write};
use crate::layout::{PORTS_GENERATION_KEY, PORTS_PREFIX, parse_counter, port_key};
use crate::modules::ModuleRecord;
use crate::modules::{ModuleError, Modules};
use crate::port_binding::{self, BindError, BindRequest, PortRecord, UnbindPlan};
use crate::port_commands::PortCommands;
use crate::port_state::PortLive;
use crate::port_views::{self, InterfaceView, MacView};
use crate::render;
use crate::segment::Segments;
use crate::uplink_views::{self, UplinkView};

/// Why a port operation failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error(transparent)]
    Module(#[from] ModuleError),
    /// A report with a field that breaks [`agent_input`]'s rules (nothing of it was taken).
    #[error(transparent)]
    Report(#[from] InputError),
    #[error("port bindings changed concurrently {MAX_ATTEMPTS} times; try again")]
    Contended,
    #[error("stored port binding {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A committed (or unchanged) bind.
#[derive(Debug, Clone)]
pub struct Bound {
    pub record: PortRecord,
    /// The port's policy as agent streams carry it; `None` when the profile does not exist.
    pub policy: Option<Arc<proto::Policy>>,
    /// The config revision from which the module's Watch stream is sure to carry the profile
    /// (see [`Fanout::policy_for_port`]): until the agent's snapshot reaches it, the port runs
    /// on `policy`.
    pub streamed_from: Revision,
    /// The bind wrote something (a new or changed binding); false for an agent re-asserting a
    /// binding as it stands (a resync), which is not worth an accounting entry.
    pub changed: bool,
}

/// The bindings as of one `ports-generation` revision.
#[derive(Debug, Default)]
struct Bindings {
    /// The guard key's mod revision the copy reflects (0: absent; -1: unknown, re-read).
    generation: Revision,
    records: BTreeMap<String, PortRecord>,
}

/// The port registry.
#[derive(Debug)]
pub struct Ports {
    bindings: RwLock<Bindings>,
    live: Mutex<PortLive>,
    /// Operators' requests for single ports, until their module's next report.
    commands: Mutex<PortCommands>,
}

impl Ports {
    /// Loads the bindings, and with them what concerns each module's stream.
    pub async fn load(store: &dyn Store, fanout: &Fanout) -> Result<Self, PortError> {
        let generation = store.get(PORTS_GENERATION_KEY).await?.map_or(0, |kv| kv.mod_revision);
        let records = read_bindings(store).await?;
        fanout.ports_reloaded(records.values());
        Ok(Self {
            bindings: RwLock::new(Bindings { generation, records }),
            live: Mutex::new(PortLive::default()),
            commands: Mutex::new(PortCommands::default()),
        })
    }

    /// Every binding in the store, by vEthernet number.
    pub async fn records(journal: &Journal) -> Result<Vec<PortRecord>, PortError> {
        let mut records: Vec<PortRecord> =
            read_bindings(journal.store().as_ref()).await?.into_values().collect();
        records.sort_by_key(|record| record.veth);
        Ok(records)
    }

    /// Binds a port (see [`port_binding::plan_bind`]) and logs `IF_ATTACHED` when the binding
    /// changed; the profile joins the module's interest. The caller has checked that the module
    /// belongs to the host.
    pub async fn bind(
        &self,
        journal: &Journal,
        fanout: &Fanout,
        request: &BindRequest,
    ) -> Result<Bound, PortError> {
        request.validate()?;
        let policy = fanout.policy(&request.profile);
        let mut writer = journal.writer().await;
        for _ in 0..MAX_ATTEMPTS {
            let (generation, count) = self.refresh(writer.store().as_ref(), fanout).await?;
            let plan = {
                let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
                port_binding::plan_bind(
                    &bindings.records,
                    policy.as_ref().map(|(policy, _)| policy),
                    request,
                    |profile| fanout.policy(profile).map(|(policy, _)| Segments::of(&policy)),
                )?
            };
            let Some(event) = plan.attached_event else { return Ok(bound(plan.record, fanout, false)) };
            let put = Op::Put { key: port_key(&plan.record.iface_id), value: encode(&plan.record)? };
            match writer.try_commit(guarded(generation, count, put, event)).await? {
                Some(revision) => {
                    let before = self.committed(revision, |records| {
                        records.insert(plan.record.iface_id.clone(), plan.record.clone())
                    });
                    fanout.port_rebound(before.as_ref(), Some(&plan.record));
                    self.live().attached(&request.iface_id);
                    return Ok(bound(plan.record, fanout, true));
                }
                None => self.invalidate(),
            }
        }
        Err(PortError::Contended)
    }

    /// Unbinds `iface_id` from `module` (see [`port_binding::plan_unbind`]) and logs
    /// `IF_DETACHED`; the profile leaves the module's interest with its last port. Returns
    /// whether the iface-id keeps its number. Unbinding a port that is not bound (a retried
    /// detach) does nothing and succeeds.
    pub async fn unbind(
        &self,
        journal: &Journal,
        fanout: &Fanout,
        module: u32,
        iface_id: &str,
    ) -> Result<bool, PortError> {
        let mut writer = journal.writer().await;
        for _ in 0..MAX_ATTEMPTS {
            let (generation, count) = self.refresh(writer.store().as_ref(), fanout).await?;
            let plan = {
                let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
                let binding = bindings
                    .records
                    .get(iface_id)
                    .and_then(|record| fanout.policy(&record.profile))
                    .map(|(policy, _)| policy.port_binding);
                port_binding::plan_unbind(&bindings.records, module, iface_id, binding)
            };
            let (after, event) = match plan {
                UnbindPlan::Nothing { kept } => return Ok(kept),
                UnbindPlan::Keep { record, event } => (Some(record), event),
                UnbindPlan::Release { event, .. } => (None, event),
            };
            let op = match &after {
                Some(record) => Op::Put { key: port_key(iface_id), value: encode(record)? },
                None => Op::Delete { key: port_key(iface_id) },
            };
            let kept = after.is_some();
            match writer.try_commit(guarded(generation, count, op, event)).await? {
                Some(revision) => {
                    let before = self.committed(revision, |records| match &after {
                        Some(record) => records.insert(iface_id.to_owned(), record.clone()),
                        None => records.remove(iface_id),
                    });
                    fanout.port_rebound(before.as_ref(), after.as_ref());
                    self.live().detached(iface_id);
                    return Ok(kept);
                }
                None => self.invalidate(),
            }
        }
        Err(PortError::Contended)
    }

    /// Plans releasing every port attached on `module` (it is being removed), each per its
    /// profile's port-binding as a detach would ([`port_binding::plan_unbind`]): static bindings
    /// kept detached, others deleted. The caller commits [`Release::write`] with the module's own
    /// removal, then calls [`Ports::released`]. Hold the journal's writer from here to there.
    pub async fn plan_release(
        &self,
        store: &dyn Store,
        fanout: &Fanout,
        module: u32,
    ) -> Result<Release, PortError> {
        let (generation, count) = self.refresh(store, fanout).await?;
        let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
        let mut changes = bindings
            .records
            .values()
            .filter(|record| record.attached && record.module == module)
            .filter_map(|record| {
                let binding = fanout.policy(&record.profile).map(|(policy, _)| policy.port_binding);
                let (after, event) =
                    match port_binding::plan_unbind(&bindings.records, module, &record.iface_id, binding) {
                        UnbindPlan::Nothing { .. } => return None,
                        UnbindPlan::Keep { record, event } => (Some(record), event),
                        UnbindPlan::Release { event, .. } => (None, event),
                    };
                let port = ReleasedPort {
                    veth: record.veth,
                    iface_id: record.iface_id.clone(),
                    kept: after.is_some(),
                };
                Some(Released { port, after, event })
            })
            .collect::<Vec<_>>();
        changes.sort_by_key(|change| change.port.veth);
        Ok(Release { generation, count, changes })
    }

    /// A [`Release`] was committed at `revision`: the copy, the fan-out and the reports follow.
    pub fn released(&self, revision: Revision, release: &Release, module: u32, fanout: &Fanout) {
        for Released { port, after, .. } in &release.changes {
            let before = self.committed(revision, |records| match after {
                Some(record) => records.insert(port.iface_id.clone(), record.clone()),
                None => records.remove(&port.iface_id),
            });
            fanout.port_rebound(before.as_ref(), after.as_ref());
            self.live().detached(&port.iface_id);
        }
        self.committed(revision, |_| ());
        self.live().module_removed(module);
        self.commands().forget(module);
    }

    /// Takes a module's report as its latest and logs the ports and uplinks that went up or
    /// down. A report that breaks [`agent_input::check_report`] is refused whole.
    pub async fn report(
        &self,
        journal: &Journal,
        report: proto::PortReport,
        now: Instant,
    ) -> Result<(), PortError> {
        agent_input::check_report(&report)?;
        let events = {
            let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
            self.live().report(&bindings.records, report, now)
        };
        journal.log(events).await;
        Ok(())
    }

    /// A module registered: its uplinks' first reports are logged.
    pub fn uplinks_registered(&self, record: &ModuleRecord) {
        self.live().uplinks_registered(record);
    }

    /// A module went offline: drops its report; its ports that were up go down, logged if `log`
    /// (the supervisor that logged `MOD_OFFLINE`: every supervisor holds the report).
    pub async fn module_offline(&self, journal: &Journal, module: u32, log: bool) {
        let events = {
            let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
            self.live().module_offline(&bindings.records, module)
        };
        if log {
            journal.log(events).await;
        }
    }

    /// A report another supervisor took from its agent: the views follow; the events were that
    /// supervisor's to log.
    pub fn peer_report(&self, report: proto::PortReport, now: Instant) {
        let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
        let _events = self.live().report(&bindings.records, report, now);
    }

    /// Every vEthernet, by number, as `show interface` shows it.
    pub async fn interfaces(
        &self,
        journal: &Journal,
        modules: &Modules,
        fanout: &Fanout,
    ) -> Result<Vec<InterfaceView>, PortError> {
        let records = Self::records(journal).await?;
        let modules = modules.list(journal).await?;
        let policies = fanout.policies(records.iter().map(|record| record.profile.as_str()));
        Ok(port_views::interface_views(&records, &modules, &policies, &self.live()))
    }

    /// Every module's uplinks, by module and index, as `show interface` shows them.
    pub async fn uplinks(
        &self,
        journal: &Journal,
        modules: &Modules,
        fanout: &Fanout,
    ) -> Result<Vec<UplinkView>, PortError> {
        let modules = modules.list(journal).await?;
        let profiles = modules.iter().flat_map(|view| view.record.uplinks.iter().map(|u| u.profile.as_str()));
        let policies = fanout.policies(profiles);
        Ok(uplink_views::uplink_views(&modules, &policies, &self.live()))
    }

    /// The online modules' MAC tables, only `vlan`'s if given.
    pub async fn mac_table(
        &self,
        journal: &Journal,
        modules: &Modules,
        vlan: Option<u32>,
    ) -> Result<Vec<MacView>, PortError> {
        let modules = modules.list(journal).await?;
        Ok(port_views::mac_views(&self.live(), &modules, vlan))
    }

    /// Every vEthernet with port security, as its module last reported it, by number.
    pub fn secure_ports(&self) -> Vec<render::SecurePortView> {
        let mut ports: Vec<render::SecurePortView> = self
            .live()
            .policies()
            .flat_map(|(_, policy)| policy.secure_ports.iter())
            .map(|port| render::SecurePortView {
                veth: port.veth,
                maximum: port.maximum,
                current: port.macs.len(),
                violations: port.violations,
                action: port.action.clone(),
                err_disabled: port.err_disabled,
            })
            .collect();
        ports.sort_by_key(|port| port.veth);
        ports
    }

    /// Every DHCP snooping binding of every module, by vEthernet then address.
    pub fn dhcp_bindings(&self) -> Vec<render::DhcpBindingView> {
        let mut bindings: Vec<render::DhcpBindingView> = self
            .live()
            .policies()
            .flat_map(|(_, policy)| policy.dhcp_bindings.iter())
            .map(|binding| render::DhcpBindingView {
                mac: binding.mac.clone(),
                ip: binding.ip.clone(),
                lease_seconds: binding.lease_seconds,
                vlan: binding.vlan,
                veth: binding.veth,
            })
            .collect();
        bindings.sort_by(|a, b| (a.veth, &a.ip).cmp(&(b.veth, &b.ip)));
        bindings
    }

    /// Every flow exporter of every module, by name then module.
    pub fn exporters(&self) -> Vec<render::ExporterView> {
        let mut exporters: Vec<render::ExporterView> = self
            .live()
            .policies()
            .flat_map(|(module, policy)| {
                policy
                    .exporters
                    .iter()
                    .map(move |status| render::ExporterView { module, status: status.clone() })
            })
            .collect();
        exporters.sort_by(|a, b| (&a.status.name, a.module).cmp(&(&b.status.name, b.module)));
        exporters
    }

    /// Matches of every access-list entry, summed over the modules' latest reports: by
    /// (list, IPv6, sequence; 0 for the implicit deny).
    pub fn acl_hits(&self) -> BTreeMap<(String, bool, u32), u64> {
        let mut hits = BTreeMap::new();
        for (_, policy) in self.live().policies() {
            for entry in &policy.acl_hits {
                *hits.entry((entry.list.clone(), entry.ipv6, entry.sequence)).or_insert(0u64) +=
                    entry.matches;
            }
        }
        hits
    }

    /// Asks `module` to shut down (`true`) or recover (`false`) its port `veth`, in the reply
    /// to its next report (see [`PortCommands`]).
    pub fn request_port_command(&self, module: u32, veth: u32, shutdown: bool) {
        self.commands().request(module, veth, shutdown);
    }

    /// The requests for `module`'s ports, delivered now (forgotten here).
    pub fn take_port_commands(&self, module: u32) -> Vec<proto::PortCommand> {
        self.commands().take(module)
    }

    fn commands(&self) -> std::sync::MutexGuard<'_, PortCommands> {
        self.commands.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self) -> std::sync::MutexGuard<'_, PortLive> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the bindings if another writer changed them (and the interest with them);
    /// returns the guard's mod revision and value to plan against.
    async fn refresh(&self, store: &dyn Store, fanout: &Fanout) -> Result<(Revision, u64), PortError> {
        let guard = store.get(PORTS_GENERATION_KEY).await?;
        let generation = guard.as_ref().map_or(0, |kv| kv.mod_revision);
        let count = parse_counter(guard.as_ref().map(|kv| kv.value.as_slice()), 0)
            .map_err(|reason| PortError::Corrupt { key: PORTS_GENERATION_KEY.into(), reason })?;
        let current = self.bindings.read().unwrap_or_else(PoisonError::into_inner).generation;
        if current != generation {
            // Read after the guard: a write in between fails the commit's compare.
            let records = read_bindings(store).await?;
            let mut bindings = self.bindings.write().unwrap_or_else(PoisonError::into_inner);
            *bindings = Bindings { generation, records };
            fanout.ports_reloaded(bindings.records.values());
        }
        Ok((generation, count))
    }

    /// Applies a committed write to the copy; returns what `change` returns (the binding it
    /// replaced).
    fn committed<T>(
        &self,
        revision: Revision,
        change: impl FnOnce(&mut BTreeMap<String, PortRecord>) -> T,
    ) -> T {
        let mut bindings = self.bindings.write().unwrap_or_else(PoisonError::into_inner);
        let replaced = change(&mut bindings.records);
        bindings.generation = revision;
        replaced
    }

    /// Re-reads the bindings now if they changed (after an invalidation).
    pub async fn reload(&self, store: &dyn Store, fanout: &Fanout) -> Result<(), PortError> {
        self.refresh(store, fanout).await.map(|_| ())
    }

    /// A binding change seen in the store, made by this supervisor or another: the copy and the
    /// fan-out follow (an agent's stream here carries a profile bound on another supervisor). A
    /// change the copy already holds does nothing.
    pub fn mirror(&self, event: &store::Event, fanout: &Fanout) {
        let (iface_id, after) = match event {
            store::Event::Put { kv } => match decode(kv) {
                Ok(record) => (iface_id(kv).to_owned(), Some(record)),
                Err(error) => {
                    tracing::warn!(%error, "skipping an unreadable port binding");
                    return;
                }
            },
            store::Event::Delete { prev, .. } => (iface_id(prev).to_owned(), None),
        };
        let before = {
            let mut bindings = self.bindings.write().unwrap_or_else(PoisonError::into_inner);
            if bindings.records.get(&iface_id) == after.as_ref() {
                return;
            }
            match &after {
                Some(record) => bindings.records.insert(iface_id, record.clone()),
                None => bindings.records.remove(&iface_id),
            }
        };
        fanout.port_rebound(before.as_ref(), after.as_ref());
    }

    /// Forces a re-read before the next plan.
    pub(crate) fn invalidate(&self) {
        self.bindings.write().unwrap_or_else(PoisonError::into_inner).generation = -1;
    }
}

/// A bind's result. The policy is read after the binding's interest change, as the ordering
/// promise of [`Fanout::policy_for_port`] requires.
fn bound(record: PortRecord, fanout: &Fanout, changed: bool) -> Bound {
    let (policy, streamed_from) = fanout.policy_for_port(&record.profile);
    Bound { record, policy, streamed_from, changed }
}

/// A module's ports, released (see [`Ports::plan_release`]).
#[derive(Debug)]
pub struct Release {
    generation: Revision,
    count: u64,
    changes: Vec<Released>,
}

/// One port of a [`Release`]: the binding after (kept detached) or none, and `IF_DETACHED`.
#[derive(Debug)]
struct Released {
    port: ReleasedPort,
    after: Option<PortRecord>,
    event: crate::events::Event,
}

impl Release {
    /// True when the module had no attached port.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The vEthernets released, by number.
    pub fn ports(&self) -> Vec<ReleasedPort> {
        self.changes.iter().map(|change| change.port.clone()).collect()
    }

    /// The store write: the bindings, guarded by the generation they were planned on, with
    /// their `IF_DETACHED` lines. The caller adds its own compares, ops and events.
    pub fn write(&self) -> Result<Write, PortError> {
        let mut ops = Vec::with_capacity(self.changes.len() + 1);
        for Released { port, after, .. } in &self.changes {
            ops.push(match after {
                Some(record) => Op::Put { key: port_key(&port.iface_id), value: encode(record)? },
                None => Op::Delete { key: port_key(&port.iface_id) },
            });
        }
        ops.push(Op::Put {
            key: PORTS_GENERATION_KEY.into(),
            value: (self.count + 1).to_string().into_bytes(),
        });
        Ok(Write {
            compare: vec![Compare::ModRevision(PORTS_GENERATION_KEY.into(), self.generation)],
            ops,
            events: self.changes.iter().map(|change| change.event.clone()).collect(),
        })
    }
}

/// One port a module's removal released.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReleasedPort {
    /// N of `VethernetN`.
    pub veth: u32,
    pub iface_id: String,
    /// True when the binding is kept, detached (`port-binding static`): the number stays the
    /// iface-id's, and the port may attach on any module.
    pub kept: bool,
}

/// A binding write guarded by the generation it was planned on, with its event.
fn guarded(generation: Revision, count: u64, op: Op, event: crate::events::Event) -> Write {
    Write {
        compare: vec![Compare::ModRevision(PORTS_GENERATION_KEY.into(), generation)],
        ops: vec![
            op,
            Op::Put { key: PORTS_GENERATION_KEY.into(), value: (count + 1).to_string().into_bytes() },
        ],
        events: vec![event],
    }
}

async fn read_bindings(store: &dyn Store) -> Result<BTreeMap<String, PortRecord>, PortError> {
    let range = store.range(PORTS_PREFIX).await?;
    range.kvs.iter().map(|kv| Ok((iface_id(kv).to_owned(), decode(kv)?))).collect()
}

fn iface_id(kv: &KeyValue) -> &str {
    kv.key.strip_prefix(PORTS_PREFIX).unwrap_or(&kv.key)
}

fn decode(kv: &KeyValue) -> Result<PortRecord, PortError> {
    serde_json::from_slice(&kv.value)
        .map_err(|e| PortError::Corrupt { key: kv.key.clone(), reason: e.to_string() })
}

fn encode(record: &PortRecord) -> Result<Vec<u8>, PortError> {
    serde_json::to_vec(record).map_err(|e| PortError::Store(StoreError::Io(e.to_string())))
}
