//! Policy fan-out: one store watch of the config feeds the evaluated-policy table; every change
//! becomes one [`Delta`], shared (`Arc`) by all agent streams through a bounded broadcast ring.
//! Each stream passes on only the part that concerns its module: the policies of the
//! port-profiles its attached ports use ([`crate::interest`]).
//!
//! A module's interest is an `Arc`-swapped set on a `watch` channel: the port registry publishes
//! a new set when a bind, an unbind or a move changes it, and each stream keeps the set it
//! filters by, so filtering a delta costs one hash lookup per changed policy and takes no lock.
//! When the set changes under a live stream, the stream sends the policies that entered it
//! (those that exist) and removes for those that left, without the agent reconnecting.
//!
//! Ordering promise, which the agent relies on to run a new port on the BindPort reply's policy
//! until its own snapshot takes over: a bind changes the interest *before* it reads the table
//! (at revision T), and a stream takes in interest changes before any delta published after
//! them, so every update a stream sends at revision T + 1 or later comes after the new profile's
//! upsert (see [`Fanout::policy_for_port`]).
//!
//! The overlay (VXLAN bridge-domain membership, see [`crate::overlay`]) rides on the same inputs
//! — bindings, policies, module VTEPs — and is recomputed whenever one of them changes; each
//! agent's `WatchOverlay` stream sends its whole view again only when that view changed.
//!
//! Memory is bounded by the ring, whatever the agents do: a stream that falls more than the ring
//! behind is ended with an error (the agent reconnects and resyncs from its `known` map), and a
//! stream nobody polls just stops reading — it never blocks the feed or the other streams.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use config::{Config, EffectivePolicy};
use futures::{Stream, StreamExt as _};
use store::{Revision, Store, StoreError};
use tokio::sync::{broadcast, watch};
use tonic::Status;

use crate::config_store::{ConfigMirror, evaluate};
use crate::interest::{Interest, ProfileSet};
use crate::layout::CONFIG_PREFIX;
use crate::modules::ModuleRecord;
use crate::overlay::{OverlayMap, SentView, bridge_domain_of};
use crate::policy_table::{Delta, PolicyTable};
use crate::port_binding::PortRecord;
use crate::server::stopped;

/// An agent's stream of policy updates.
pub type UpdateStream = Pin<Box<dyn Stream<Item = Result<proto::PolicyUpdate, Status>> + Send>>;
/// An agent's stream of overlay views.
pub type OverlayStream = Pin<Box<dyn Stream<Item = Result<proto::OverlayUpdate, Status>> + Send>>;

/// The evaluated policies, the broadcast of their deltas, what concerns each module, and the
/// overlay.
#[derive(Debug)]
pub struct Fanout {
    table: Arc<RwLock<PolicyTable>>,
    sender: broadcast::Sender<Arc<Delta>>,
    interests: Mutex<Interests>,
    overlay: Mutex<OverlayInputs>,
    /// The current overlay; agent streams follow it.
    overlay_map: watch::Sender<Arc<OverlayMap>>,
}

/// What the overlay is computed from, besides the policies.
#[derive(Debug, Default)]
struct OverlayInputs {
    /// The attached bindings, by iface-id.
    ports: BTreeMap<String, PortRecord>,
    vteps: HashMap<u32, Ipv4Addr>,
    /// The modules out of everyone's view: gone offline, or not back within a heartbeat timeout
    /// of this supervisor's start (see [`Fanout::module_liveness`]).
    offline: BTreeSet<u32>,
}

/// Every module's interest, and the channel its streams follow it on.
#[derive(Debug, Default)]
struct Interests {
    counts: Interest,
    /// Made when a module's first stream opens; a module nobody watches needs no channel.
    channels: HashMap<u32, watch::Sender<Arc<ProfileSet>>>,
}

impl Interests {
    /// Tells the streams of `modules` their new sets.
    fn publish(&self, modules: &[u32]) {
        for module in modules {
            if let Some(channel) = self.channels.get(module) {
                channel.send_replace(Arc::new(self.counts.profiles(*module)));
            }
        }
    }

    /// A receiver of `module`'s interest, its current set marked seen.
    fn follow(&mut self, module: u32) -> watch::Receiver<Arc<ProfileSet>> {
        let counts = &self.counts;
        self.channels
            .entry(module)
            .or_insert_with(|| watch::Sender::new(Arc::new(counts.profiles(module))))
            .subscribe()
    }
}

impl Fanout {
    /// A fan-out whose streams may fall `buffer` deltas behind before they are ended.
    pub fn new(buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        Self {
            table: Arc::new(RwLock::new(PolicyTable::default())),
            sender,
            interests: Mutex::new(Interests::default()),
            overlay: Mutex::new(OverlayInputs::default()),
            overlay_map: watch::Sender::new(Arc::new(OverlayMap::default())),
        }
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

    /// The policy a port just bound to `name` starts on (`None`: no such profile), and the
    /// revision from which the module's stream is sure to carry that profile: T + 1 for a table
    /// read at T. Call it after the binding's interest change ([`Fanout::port_rebound`]).
    pub fn policy_for_port(&self, name: &str) -> (Option<Arc<proto::Policy>>, Revision) {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        (table.entry(name).map(|(_, wire)| wire.clone()), table.revision() + 1)
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

    /// The port-profiles that concern `module`: those its attached ports use.
    pub fn interest(&self, module: u32) -> ProfileSet {
        self.interests().counts.profiles(module)
    }

    /// A binding went from `before` to `after` (`None`: none): the streams of the modules whose
    /// interest changed are told.
    pub fn port_rebound(&self, before: Option<&PortRecord>, after: Option<&PortRecord>) {
        {
            let mut interests = self.interests();
            let changed = interests.counts.rebind(before, after);
            interests.publish(&changed);
        }
        let mut overlay = self.overlay_inputs();
        if let Some(before) = before {
            overlay.ports.remove(&before.iface_id);
        }
        if let Some(after) = after.filter(|after| after.attached) {
            overlay.ports.insert(after.iface_id.clone(), after.clone());
        }
        self.recompute_overlay(&overlay);
    }

    /// A module registered (or its record was read): its uplinks' profiles join its interest,
    /// its VTEP the overlay.
    pub fn module_changed(&self, record: &ModuleRecord) {
        {
            let mut interests = self.interests();
            let uplinks = record.uplinks.iter().map(|uplink| uplink.profile.as_str());
            if interests.counts.set_uplinks(record.module, uplinks) {
                interests.publish(&[record.module]);
            }
        }
        let mut overlay = self.overlay_inputs();
        let changed = match record.vtep {
            Some(vtep) => overlay.vteps.insert(record.module, vtep) != Some(vtep),
            None => overlay.vteps.remove(&record.module).is_some(),
        };
        if changed {
            self.recompute_overlay(&overlay);
        }
    }

    /// A module came online or went offline, as `is_online` tells (asked under the overlay's
    /// lock, so a heartbeat racing an expiry cannot leave a stale answer behind): an offline
    /// module's VTEP and MACs leave the other members' overlay views until it returns. Modules
    /// start as members, so a supervisor restart does not take every VTEP out of the views until
    /// each agent's first heartbeat; the caller takes out those not back within a heartbeat
    /// timeout.
    pub fn module_liveness(&self, module: u32, is_online: impl FnOnce() -> bool) {
        let mut overlay = self.overlay_inputs();
        let online = is_online();
        let changed = if online { overlay.offline.remove(&module) } else { overlay.offline.insert(module) };
        if changed {
            self.recompute_overlay(&overlay);
        }
    }

    /// A module was removed: its uplinks leave its interest, its VTEP the overlay. (Its ports
    /// were released with [`Fanout::port_rebound`].)
    pub fn module_removed(&self, module: u32) {
        {
            let mut interests = self.interests();
            if interests.counts.set_uplinks(module, std::iter::empty()) {
                interests.publish(&[module]);
            }
        }
        let mut overlay = self.overlay_inputs();
        let vtep = overlay.vteps.remove(&module).is_some();
        let offline = overlay.offline.remove(&module);
        if vtep || offline {
            self.recompute_overlay(&overlay);
        }
    }

    /// The current overlay.
    pub fn overlay(&self) -> Arc<OverlayMap> {
        self.overlay_map.borrow().clone()
    }

    /// Opens `module`'s overlay stream: its whole view at once, then again whenever it changes.
    pub fn subscribe_overlay(&self, module: u32, shutdown: watch::Receiver<bool>) -> OverlayStream {
        let mut receiver = self.overlay_map.subscribe();
        let (sent, first) = SentView::first(&receiver.borrow_and_update(), module);
        let follow = FollowOverlay { module, receiver, sent, shutdown, ended: false };
        Box::pin(
            futures::stream::once(async move { Ok(first) })
                .chain(futures::stream::unfold(follow, FollowOverlay::next)),
        )
    }

    fn overlay_inputs(&self) -> std::sync::MutexGuard<'_, OverlayInputs> {
        self.overlay.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Recomputes the overlay from `inputs` (held locked, so recomputations do not interleave)
    /// and the current policies; streams wake only when it changed.
    fn recompute_overlay(&self, inputs: &OverlayInputs) {
        let previous = self.overlay();
        let next = {
            let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
            OverlayMap::compute(
                &previous,
                inputs.ports.values(),
                |profile| table.get(profile).and_then(bridge_domain_of),
                &inputs.vteps,
                &inputs.offline,
            )
        };
        if next.differs(&previous) {
            self.overlay_map.send_replace(Arc::new(next));
        }
    }

    /// The bindings were (re)read whole: the interest is rebuilt from them and the streams of
    /// the modules whose interest changed are told.
    pub fn ports_reloaded<'a>(&self, records: impl IntoIterator<Item = &'a PortRecord>) {
        let records: Vec<&PortRecord> = records.into_iter().collect();
        {
            let mut interests = self.interests();
            let counts = interests.counts.with_ports(records.iter().copied());
            let changed = interests.counts.differences(&counts);
            interests.counts = counts;
            interests.publish(&changed);
        }
        let mut overlay = self.overlay_inputs();
        overlay.ports = records
            .into_iter()
            .filter(|record| record.attached)
            .map(|record| (record.iface_id.clone(), record.clone()))
            .collect();
        self.recompute_overlay(&overlay);
    }

    fn interests(&self) -> std::sync::MutexGuard<'_, Interests> {
        self.interests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Evaluates `config` (as of `revision`) and broadcasts what changed. Changed policies
    /// get `revision_of(name)`. Broadcasting under the table lock keeps subscribers consistent:
    /// each sees a delta either in its sync or on its receiver, never both or neither.
    fn publish(&self, config: &Config, revision: Revision, revision_of: impl Fn(&str) -> Revision) {
        let evaluated = evaluate(config);
        {
            let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
            let delta = table.update(evaluated, revision, revision_of);
            // No receivers is fine: nobody is watching yet.
            let _ = self.sender.send(Arc::new(delta));
        }
        // A profile's bridge-domain, or a bridge-domain's segment id, may have changed.
        self.recompute_overlay(&self.overlay_inputs());
    }

    /// Opens `module`'s agent stream: first the sync (what of its interest differs from
    /// `known`), then the deltas that concern it and its interest changes.
    pub fn subscribe(
        &self,
        module: u32,
        known: &HashMap<String, Revision>,
        shutdown: watch::Receiver<bool>,
    ) -> UpdateStream {
        let (sync, receiver, interest, profiles) = {
            let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
            // Read under the table lock: an interest change made before the table reached this
            // revision is in the sync (the ordering promise).
            let mut interest = self.interests().follow(module);
            let profiles = Arc::clone(&interest.borrow_and_update());
            (table.sync(known, &profiles), self.sender.subscribe(), interest, profiles)
        };
        let first = proto::PolicyUpdate {
            revision: sync.revision,
            sync: true,
            upserts: sync.upserts.iter().map(|policy| (**policy).clone()).collect(),
            removes: sync.removes.iter().map(|name| name.to_string()).collect(),
        };
        let follow = Follow {
            sent: sync.revision,
            receiver,
            interest,
            profiles,
            table: Arc::clone(&self.table),
            held: None,
            shutdown,
            ended: false,
        };
        Box::pin(
            futures::stream::once(async move { Ok(first) })
                .chain(futures::stream::unfold(follow, Follow::next)),
        )
    }
}

/// The live part of one agent stream.
struct Follow {
    /// The revision of the last update sent: deltas up to it are already in the stream.
    sent: Revision,
    receiver: broadcast::Receiver<Arc<Delta>>,
    /// The module's interest, as the port registry publishes it.
    interest: watch::Receiver<Arc<ProfileSet>>,
    /// The interest this stream filters by (and the agent was last told of).
    profiles: Arc<ProfileSet>,
    table: Arc<RwLock<PolicyTable>>,
    /// A delta waiting behind the interest update that must go before it.
    held: Option<proto::PolicyUpdate>,
    shutdown: watch::Receiver<bool>,
    ended: bool,
}

/// What woke a stream.
enum Wake {
    Shutdown,
    Interest(Result<(), watch::error::RecvError>),
    Delta(Result<Arc<Delta>, broadcast::error::RecvError>),
}

impl Follow {
    async fn next(mut self) -> Option<(Result<proto::PolicyUpdate, Status>, Self)> {
        if self.ended {
            return None;
        }
        if let Some(update) = self.held.take() {
            return Some((Ok(update), self));
        }
        let item = loop {
            let wake = tokio::select! {
                biased;
                () = stopped(&mut self.shutdown) => Wake::Shutdown,
                changed = self.interest.changed() => Wake::Interest(changed),
                received = self.receiver.recv() => Wake::Delta(received),
            };
            match wake {
                // The fan-out (and so the supervisor) is going away.
                Wake::Shutdown | Wake::Interest(Err(_)) => {
                    self.ended = true;
                    break Err(Status::unavailable("the supervisor is shutting down"));
                }
                Wake::Interest(Ok(())) => {
                    if let Some(update) = self.refocus() {
                        break Ok(update);
                    }
                }
                Wake::Delta(Ok(delta)) if delta.revision <= self.sent => {}
                Wake::Delta(Ok(delta)) => {
                    // An interest change made before this delta was published goes first.
                    let refocused =
                        if self.interest.has_changed().unwrap_or(false) { self.refocus() } else { None };
                    let update = self.filter(&delta);
                    self.sent = delta.revision;
                    match refocused {
                        Some(first) => {
                            self.held = Some(update);
                            break Ok(first);
                        }
                        None => break Ok(update),
                    }
                }
                Wake::Delta(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    self.ended = true;
                    let message = format!("watch stream fell {missed} updates behind; reconnect to resync");
                    break Err(Status::resource_exhausted(message));
                }
                Wake::Delta(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        };
        Some((item, self))
    }

    /// Takes in the module's new interest: an update with the policies that entered it (those
    /// that exist) and removes for those that left, at the revision already sent; `None` when
    /// the agent has nothing to learn. Removes go out whether or not the profile still exists:
    /// its deletion may be in a delta this stream will now filter out.
    fn refocus(&mut self) -> Option<proto::PolicyUpdate> {
        let next = Arc::clone(&self.interest.borrow_and_update());
        let mut removes: Vec<String> =
            self.profiles.iter().filter(|name| !next.contains(*name)).map(|name| name.to_string()).collect();
        let mut upserts: Vec<proto::Policy> = {
            let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
            next.iter()
                .filter(|name| !self.profiles.contains(*name))
                .filter_map(|name| table.entry(name).map(|(_, wire)| (**wire).clone()))
                .collect()
        };
        self.profiles = next;
        if upserts.is_empty() && removes.is_empty() {
            return None;
        }
        upserts.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        removes.sort_unstable();
        Some(proto::PolicyUpdate { revision: self.sent, sync: false, upserts, removes })
    }

    /// The part of `delta` that concerns this stream's module. Every revision makes an update,
    /// even an empty one: it still tells the agent how far the config has gone.
    fn filter(&self, delta: &Delta) -> proto::PolicyUpdate {
        let concerns = |name: &str| self.profiles.contains(name);
        proto::PolicyUpdate {
            revision: delta.revision,
            sync: false,
            upserts: delta
                .upserts
                .iter()
                .filter(|policy| concerns(&policy.name))
                .map(|policy| (**policy).clone())
                .collect(),
            removes: delta
                .removes
                .iter()
                .filter(|name| concerns(name))
                .map(|name| name.to_string())
                .collect(),
        }
    }
}

/// The live part of one overlay stream.
struct FollowOverlay {
    module: u32,
    receiver: watch::Receiver<Arc<OverlayMap>>,
    sent: SentView,
    shutdown: watch::Receiver<bool>,
    ended: bool,
}

impl FollowOverlay {
    async fn next(mut self) -> Option<(Result<proto::OverlayUpdate, Status>, Self)> {
        if self.ended {
            return None;
        }
        loop {
            tokio::select! {
                biased;
                () = stopped(&mut self.shutdown) => {
                    self.ended = true;
                    return Some((Err(Status::unavailable("the supervisor is shutting down")), self));
                }
                changed = self.receiver.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let map = Arc::clone(&self.receiver.borrow_and_update());
                    if let Some(update) = self.sent.next(&map, self.module) {
                        return Some((Ok(update), self));
                    }
                }
            }
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;
    use crate::testing::attached_port as port;

    /// A fan-out whose config is built up by [`Bench::configure`], at revisions 1, 2, …
    struct Bench {
        fanout: Fanout,
        config: Config,
        revision: Revision,
        _stop: watch::Sender<bool>,
        stopped: watch::Receiver<bool>,
    }

    impl Bench {
        fn new() -> Self {
            let (stop, stopped) = watch::channel(false);
            Self { fanout: Fanout::new(64), config: Config::default(), revision: 0, _stop: stop, stopped }
        }

        fn configure(&mut self, text: &str) -> Revision {
            self.config = config::apply(&self.config, text).unwrap().config;
            self.revision += 1;
            let at = self.revision;
            self.fanout.publish(&self.config, at, |_| at);
            at
        }

        fn watch(&self, module: u32, known: &[(&str, Revision)]) -> UpdateStream {
            let known = known.iter().map(|&(name, revision)| (name.to_owned(), revision)).collect();
            self.fanout.subscribe(module, &known, self.stopped.clone())
        }
    }

    fn profile(name: &str, vlan: u16) -> String {
        format!("port-profile type vethernet {name}\n  switchport access vlan {vlan}\n  state enabled\n")
    }

    async fn next(stream: &mut UpdateStream) -> proto::PolicyUpdate {
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("no update within 5 s")
            .expect("stream ended")
            .expect("stream failed")
    }

    /// Nothing more is waiting on the stream.
    async fn quiet(stream: &mut UpdateStream) {
        let more = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
        assert!(more.is_err(), "unexpected update {more:?}");
    }

    fn names(update: &proto::PolicyUpdate) -> Vec<(&str, Revision)> {
        update.upserts.iter().map(|policy| (policy.name.as_str(), policy.revision)).collect()
    }

    #[tokio::test]
    async fn a_stream_carries_only_its_ports_profiles() {
        let mut bench = Bench::new();
        let r1 = bench.configure(&[profile("a", 10), profile("b", 20), profile("c", 30)].concat());
        bench.fanout.port_rebound(None, Some(&port("p1", 3, "a")));
        bench.fanout.port_rebound(None, Some(&port("p2", 4, "b")));
        let (mut three, mut four) = (bench.watch(3, &[]), bench.watch(4, &[]));
        let sync = next(&mut three).await;
        assert!(sync.sync);
        assert_eq!(names(&sync), [("a", r1)]);
        assert_eq!(names(&next(&mut four).await), [("b", r1)]);

        let r2 = bench.configure(&[profile("a", 11), profile("c", 31)].concat());
        assert_eq!(names(&next(&mut three).await), [("a", r2)]);
        let other = next(&mut four).await;
        assert_eq!((other.revision, other.upserts.len(), other.removes.len()), (r2, 0, 0), "revision only");

        let r3 = bench.configure("no port-profile type vethernet b\nno port-profile type vethernet c\n");
        assert!(next(&mut three).await.removes.is_empty(), "c never concerned module 3");
        assert_eq!(next(&mut four).await.removes, ["b"], "b is gone and module 4 used it");
        assert_eq!(bench.fanout.revision(), r3);
    }

    #[tokio::test]
    async fn interest_changes_reach_a_live_stream() {
        let mut bench = Bench::new();
        let r1 = bench.configure(&[profile("a", 10), profile("b", 20)].concat());
        let mut stream = bench.watch(3, &[]);
        let sync = next(&mut stream).await;
        assert!(sync.upserts.is_empty() && sync.removes.is_empty(), "no port, nothing: {sync:?}");

        let (p1, p2) = (port("p1", 3, "a"), port("p2", 3, "a"));
        bench.fanout.port_rebound(None, Some(&p1));
        let entered = next(&mut stream).await;
        assert_eq!((entered.revision, entered.sync, names(&entered)), (r1, false, vec![("a", r1)]));
        bench.fanout.port_rebound(None, Some(&p2));
        quiet(&mut stream).await;

        // A profile that does not exist yet: nothing to send until it is created.
        let waiting = port("p3", 3, "later");
        bench.fanout.port_rebound(None, Some(&waiting));
        quiet(&mut stream).await;
        let r2 = bench.configure(&profile("later", 30));
        assert_eq!(names(&next(&mut stream).await), [("later", r2)]);

        // The last port on a profile goes: remove. A moved port leaves its old module.
        bench.fanout.port_rebound(Some(&p1), None);
        quiet(&mut stream).await;
        bench.fanout.port_rebound(Some(&p2), Some(&PortRecord { attached: false, ..p2.clone() }));
        assert_eq!(next(&mut stream).await.removes, ["a"]);
        bench.fanout.port_rebound(Some(&waiting), Some(&port("p3", 4, "later")));
        assert_eq!(next(&mut stream).await.removes, ["later"]);
        let empty = bench.fanout.interest(3);
        assert!(empty.is_empty(), "{empty:?}");
        assert_eq!(bench.fanout.interest(4).len(), 1);

        // Profile changes to what no longer concerns the module carry only the revision.
        let r3 = bench.configure(&[profile("a", 11), profile("later", 31)].concat());
        let update = next(&mut stream).await;
        assert_eq!((update.revision, update.upserts.len()), (r3, 0));
    }

    #[tokio::test]
    async fn an_interest_change_goes_before_the_deltas_published_after_it() {
        let mut bench = Bench::new();
        let r1 = bench.configure(&profile("a", 10));
        let mut stream = bench.watch(3, &[]);
        next(&mut stream).await;
        // A bind, then (before the stream runs) the profile is created and changed: the port's
        // reply promised the stream carries "new" from revision r1 + 1.
        bench.fanout.port_rebound(None, Some(&port("p1", 3, "new")));
        let (policy, from) = bench.fanout.policy_for_port("new");
        assert_eq!((policy, from), (None, r1 + 1));
        let r2 = bench.configure(&profile("new", 20));
        let r3 = bench.configure(&profile("new", 21));
        let first = next(&mut stream).await;
        assert_eq!((first.revision, names(&first)), (r1, vec![("new", r3)]), "the interest update first");
        let second = next(&mut stream).await;
        assert_eq!((second.revision, names(&second)), (r2, vec![("new", r2)]));
        let third = next(&mut stream).await;
        assert_eq!((third.revision, names(&third)), (r3, vec![("new", r3)]));
    }

    #[tokio::test]
    async fn sync_follows_the_interest_and_known() {
        let mut bench = Bench::new();
        let r1 = bench.configure(&[profile("a", 10), profile("b", 20), profile("c", 30)].concat());
        let r2 = bench.configure(&profile("a", 11));
        bench.fanout.ports_reloaded(&[port("p1", 3, "a"), port("p2", 3, "c"), port("p3", 4, "b")]);
        // Module 3 knows a stale a, a current c, b (not its concern) and a profile now gone.
        let mut stream = bench.watch(3, &[("a", r1), ("b", r1), ("c", r1), ("gone", 1)]);
        let sync = next(&mut stream).await;
        assert!(sync.sync);
        assert_eq!((sync.revision, names(&sync)), (r2, vec![("a", r2)]));
        assert_eq!(sync.removes, ["b", "gone"]);

        // Reloading the bindings (another supervisor wrote them) re-focuses live streams.
        bench.fanout.ports_reloaded(&[port("p1", 3, "a"), port("p3", 3, "b")]);
        let update = next(&mut stream).await;
        assert_eq!((update.revision, names(&update)), (r2, vec![("b", r1)]));
        assert_eq!(update.removes, ["c"]);
    }
}
