//! The thin tokio driver of the supervisor link: register, heartbeat, watch; move to another
//! supervisor when the one it holds breaks, reconnect with backoff when none answers. Policy
//! logic lives in [`PolicySync`], the order of the supervisors in [`crate::failover`]; this
//! file only moves messages and time.
//!
//! A move to another supervisor is a reconnect like any other: the datapath keeps forwarding on
//! the snapshot it has, the agent registers (its module number is the host's, in the store all
//! supervisors share), resumes its policy watch from the revisions it holds, and its ports
//! re-assert their bindings.

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto::supervisor_client::SupervisorClient;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tonic::transport::Channel;

use crate::backoff::{Backoff, random_unit};
use crate::failover::{Rotation, RoundEnd};
use crate::identity::{HostIdentity, save_module};
use crate::paths::DataDir;
use crate::persist;
use crate::policy_sync::{PolicySync, SyncError};
use crate::snapshot::PolicySnapshot;
use crate::status::{AgentStatus, ConnectionState};
use crate::trust::{SupervisorTarget, Supervisors};

/// Reconnect delays between rounds: first after 100 ms, never more than 5 s apart.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a unary call may take before the supervisor counts as gone.
const RPC_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a heartbeat may take: a supervisor that does not answer one within this is left for
/// another (with the heartbeat interval, a silent supervisor is noticed within 3 s).
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// Used when the supervisor does not say (`heartbeat_interval_ms` = 0).
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);

/// Why a session with a supervisor ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{}", crate::trust::channel_error(.0))]
    Connect(crate::trust::ConnectError),
    #[error(transparent)]
    Resolve(#[from] crate::trust::ResolveError),
    #[error("cannot enrol: {0}")]
    Enrol(String),
    #[error("the supervisor refused this agent: {why}")]
    Refused { why: String, rejoining: bool },
    #[error("{call} failed: {}: {}", .status.code(), .status.message())]
    Rpc { call: &'static str, status: Box<tonic::Status> },
    #[error("{call} got no answer within {timeout:?}")]
    Timeout { call: &'static str, timeout: Duration },
    #[error("the supervisor closed the watch stream")]
    StreamEnded,
    #[error("refused a policy update: {0}")]
    Protocol(#[from] SyncError),
}

/// The agent's side of the supervisor protocol, run as one task.
#[derive(Debug)]
pub(crate) struct SupervisorLink {
    supervisors: Arc<Supervisors>,
    identity: Arc<HostIdentity>,
    module_file: PathBuf,
    policies_file: PathBuf,
    sync: PolicySync,
    backoff: Backoff,
    policies: watch::Sender<Arc<PolicySnapshot>>,
    status: watch::Sender<AgentStatus>,
    /// When the current session got in sync.
    in_sync_since: Option<Instant>,
}

/// How one attempt on one supervisor address ended.
enum Attempt {
    /// The session had been in sync (for this long) and broke.
    Lost(Duration),
    /// It never got in sync.
    Failed,
    /// The supervisor refused this agent for good.
    Refused,
}

impl SupervisorLink {
    /// A link starting from `sync`'s snapshot, publishing on `policies` and `status`.
    pub(crate) fn new(
        supervisors: Arc<Supervisors>,
        identity: Arc<HostIdentity>,
        data_dir: &DataDir,
        sync: PolicySync,
        policies: watch::Sender<Arc<PolicySnapshot>>,
        status: watch::Sender<AgentStatus>,
    ) -> Self {
        Self {
            supervisors,
            identity,
            module_file: data_dir.module_file(),
            policies_file: data_dir.policies_file(),
            sync,
            backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX),
            policies,
            status,
            in_sync_since: None,
        }
    }

    /// Connects, and reconnects after every failure, forever: round after round over the
    /// supervisors. Between sessions the agent is headless and keeps its snapshot.
    pub(crate) async fn run(mut self) {
        let mut rotation = Rotation::new(self.supervisors.endpoints().len());
        let mut failed_rounds = 0u32;
        loop {
            let end = self.round(&mut rotation, failed_rounds == 0).await;
            if matches!(end, RoundEnd::Lost { .. }) {
                failed_rounds = 0;
            } else {
                if failed_rounds == 0 && self.supervisors.endpoints().len() > 1 {
                    tracing::warn!("no supervisor answers ({}); retrying", self.supervisors.describe());
                }
                failed_rounds = failed_rounds.saturating_add(1);
            }
            let pause = end.pause(&mut self.backoff, random_unit());
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Tries each supervisor of the round, each of its addresses, until a session that was in
    /// sync breaks (or a supervisor refuses the agent). `loud`: the failures of this round are
    /// news (the first after a success), worth a warning each.
    async fn round(&mut self, rotation: &mut Rotation, loud: bool) -> RoundEnd {
        for index in rotation.round() {
            let targets = match self.supervisors.resolve(index).await {
                Ok(targets) => targets,
                Err(err) => {
                    note_failure(&err.to_string(), loud);
                    continue;
                }
            };
            for target in targets {
                match self.attempt(&target, loud).await {
                    Attempt::Lost(in_sync_for) => {
                        rotation.lost(index);
                        return RoundEnd::Lost { in_sync_for };
                    }
                    Attempt::Refused => return RoundEnd::Refused,
                    Attempt::Failed => {}
                }
            }
        }
        RoundEnd::Unreachable
    }

    /// One session with `target`, and what its end means.
    async fn attempt(&mut self, target: &SupervisorTarget, loud: bool) -> Attempt {
        let Err(err) = self.session(target).await;
        self.sync.stream_closed();
        self.supervisors.set_current(None);
        let in_sync_since = self.in_sync_since.take();
        let was_connected = self.status.borrow().state == ConnectionState::Connected;
        if was_connected {
            self.status.send_modify(|status| status.state = ConnectionState::Headless);
            let snapshot = self.sync.snapshot();
            let others = if self.supervisors.endpoints().len() > 1 { "; trying the others" } else { "" };
            tracing::warn!(
                "lost supervisor {target}: {err}; headless on revision {} with {} policies{others}",
                snapshot.revision,
                snapshot.len()
            );
            return Attempt::Lost(in_sync_since.map_or(Duration::ZERO, |since| since.elapsed()));
        }
        match &err {
            // It names the supervisor already.
            LinkError::Connect(_) => note_failure(&err.to_string(), loud),
            _ => note_failure(&format!("supervisor {target}: {err}"), loud),
        }
        if err.refused() { Attempt::Refused } else { Attempt::Failed }
    }

    /// One connection: register, open the watch stream, then heartbeat and apply updates until
    /// something fails.
    async fn session(&mut self, target: &SupervisorTarget) -> Result<Infallible, LinkError> {
        self.enrol_if_needed(target).await?;
        let channel = target.connect().await.map_err(LinkError::Connect)?;
        let mut client = SupervisorClient::new(channel);
        let registered = match call("Register", client.register(self.register_request())).await {
            Err(LinkError::Rpc { status, .. }) if status.code() == tonic::Code::Unauthenticated => {
                let rejoin =
                    target.credentials().is_some_and(|credentials| credentials.forget_if_rejoinable());
                let advice = if rejoin {
                    "enrolling again with --join-token"
                } else {
                    "an operator must issue a join token (join-token create); restart the agent with it"
                };
                let why = format!("{}; {advice}", status.message());
                return Err(LinkError::Refused { why, rejoining: rejoin });
            }
            other => other?,
        };
        let module = registered.module;
        self.adopt_module(module).await;
        // The port calls and the overlay stream go where the link is registered.
        self.supervisors.set_current(Some(target.clone()));

        self.sync.stream_opened();
        let watch_request =
            proto::WatchRequest { module, host_id: self.identity.host_id.clone(), known: self.sync.known() };
        let mut updates = call("Watch", client.watch(watch_request)).await?;

        let interval = match registered.heartbeat_interval_ms {
            0 => DEFAULT_HEARTBEAT,
            ms => Duration::from_millis(u64::from(ms)),
        };
        let mut heartbeat = tokio::time::interval(interval);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => {
                    self.heartbeat(&mut client, module).await?;
                    self.renew_if_due(target, &mut client).await;
                }
                message = updates.message() => {
                    let update = message
                        .map_err(|status| LinkError::Rpc { call: "Watch", status: Box::new(status) })?
                        .ok_or(LinkError::StreamEnded)?;
                    self.apply(update, module, target).await?;
                }
            }
        }
    }

    async fn enrol_if_needed(&self, target: &SupervisorTarget) -> Result<(), LinkError> {
        crate::trust::enrol::enrol_if_needed(target, &self.identity).await.map_err(LinkError::Enrol)
    }

    async fn renew_if_due(&self, target: &SupervisorTarget, client: &mut SupervisorClient<Channel>) {
        crate::trust::enrol::renew_if_due(target, client, &self.identity.host_id).await;
    }

    fn register_request(&self) -> proto::RegisterRequest {
        let identity = &self.identity;
        proto::RegisterRequest {
            host_name: identity.host_name.clone(),
            host_id: identity.host_id.clone(),
            version: identity.version.clone(),
            addresses: identity.addresses.clone(),
            vtep: identity.vtep.map(|vtep| vtep.to_string()).unwrap_or_default(),
            hardware: identity.hardware.clone(),
            uplinks: crate::uplinks::spec::register_uplinks(&identity.uplinks),
        }
    }

    /// Records the module number the supervisor assigned, persisting it when it is new.
    async fn adopt_module(&mut self, module: u32) {
        let previous = self.status.borrow().module;
        if previous == Some(module) {
            return;
        }
        match previous {
            None => tracing::info!("registered as module {module}"),
            Some(old) => tracing::warn!("the supervisor moved this host from module {old} to {module}"),
        }
        self.status.send_modify(|status| status.module = Some(module));
        let path = self.module_file.clone();
        let saved = tokio::task::spawn_blocking(move || save_module(&path, module)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!("{err}"),
            Err(err) => tracing::error!("persisting the module number panicked: {err}"),
        }
    }

    async fn heartbeat(
        &mut self,
        client: &mut SupervisorClient<Channel>,
        module: u32,
    ) -> Result<(), LinkError> {
        let request = proto::HeartbeatRequest { module, host_id: self.identity.host_id.clone() };
        let reply = call_within("Heartbeat", HEARTBEAT_TIMEOUT, client.heartbeat(request)).await?;
        self.status.send_modify(|status| {
            status.last_heartbeat_ack = Some(Instant::now());
            status.supervisor_revision = Some(reply.revision);
        });
        Ok(())
    }

    /// Applies one update; a changed snapshot is persisted, then published, so what a datapath
    /// runs on is always on disk for the next start.
    async fn apply(
        &mut self,
        update: proto::PolicyUpdate,
        module: u32,
        target: &SupervisorTarget,
    ) -> Result<(), LinkError> {
        let was_in_sync = self.sync.in_sync();
        let applied = self.sync.handle_update(update)?;
        let snapshot = Arc::clone(self.sync.snapshot());
        if applied.changed() {
            self.persist(Arc::clone(&snapshot)).await;
            self.policies.send_replace(Arc::clone(&snapshot));
            tracing::debug!(
                "policies at revision {}: upserted {:?}, removed {:?}",
                snapshot.revision,
                applied.upserted,
                applied.removed
            );
        }
        if applied.sync && !was_in_sync {
            self.in_sync_since = Some(Instant::now());
            self.status.send_modify(|status| {
                status.state = ConnectionState::Connected;
                status.session = status.session.wrapping_add(1);
            });
            tracing::info!(
                "module {module} connected to supervisor {target}: in sync at revision {} with {} policies",
                snapshot.revision,
                snapshot.len()
            );
        }
        Ok(())
    }

    async fn persist(&self, snapshot: Arc<PolicySnapshot>) {
        let path = self.policies_file.clone();
        let saved = tokio::task::spawn_blocking(move || persist::save(&path, &snapshot)).await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!("{err}; the agent keeps running on memory"),
            Err(err) => tracing::error!("persisting policies panicked: {err}"),
        }
    }
}

impl LinkError {
    /// Whether the supervisor refused this agent for good (retrying soon would not help).
    fn refused(&self) -> bool {
        match self {
            // With a join token it enrols again at once.
            Self::Refused { rejoining, .. } => !rejoining,
            Self::Enrol(message) => message.starts_with("the supervisor refused"),
            _ => false,
        }
    }
}

/// Awaits a unary or stream-opening call with [`RPC_TIMEOUT`].
async fn call<T>(
    name: &'static str,
    request: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, LinkError> {
    call_within(name, RPC_TIMEOUT, request).await
}

/// Awaits a call for at most `timeout`.
async fn call_within<T>(
    name: &'static str,
    timeout: Duration,
    request: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, LinkError> {
    match tokio::time::timeout(timeout, request).await {
        Err(_) => Err(LinkError::Timeout { call: name, timeout }),
        Ok(Err(status)) => Err(LinkError::Rpc { call: name, status: Box::new(status) }),
        Ok(Ok(response)) => Ok(response.into_inner()),
    }
}

/// A failed attempt: a warning when it is news, else a debug line.
fn note_failure(message: &str, loud: bool) {
    if loud {
        tracing::warn!("cannot reach supervisor: {message}");
    } else {
        tracing::debug!("cannot reach supervisor: {message}");
    }
}
