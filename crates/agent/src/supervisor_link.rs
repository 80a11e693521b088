//! The thin tokio driver of the supervisor link: register, heartbeat, watch; reconnect with
//! backoff. Policy logic lives in [`PolicySync`]; this file only moves messages and time.

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
use crate::identity::{HostIdentity, save_module};
use crate::paths::DataDir;
use crate::persist;
use crate::policy_sync::{PolicySync, SyncError};
use crate::snapshot::PolicySnapshot;
use crate::status::{AgentStatus, ConnectionState};
use crate::trust::SupervisorEndpoint;

/// Reconnect delays: first retry after 100 ms, never more than 5 s apart.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long a unary call may take before the supervisor counts as gone.
const RPC_TIMEOUT: Duration = Duration::from_secs(3);
/// Between attempts the supervisor refused for good (a used token, a revoked certificate):
/// retrying faster would only fill its event log.
const REFUSED_RETRY: Duration = Duration::from_secs(30);
/// Used when the supervisor does not say (`heartbeat_interval_ms` = 0).
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);

/// Why a session with the supervisor ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{}", crate::trust::channel_error(.0))]
    Connect(crate::trust::ConnectError),
    #[error("cannot enrol: {0}")]
    Enrol(String),
    #[error("the supervisor refused this agent: {why}")]
    Refused { why: String, rejoining: bool },
    #[error("{call} failed: {}: {}", .status.code(), .status.message())]
    Rpc { call: &'static str, status: Box<tonic::Status> },
    #[error("{call} got no answer within {RPC_TIMEOUT:?}")]
    Timeout { call: &'static str },
    #[error("the supervisor closed the watch stream")]
    StreamEnded,
    #[error("refused a policy update: {0}")]
    Protocol(#[from] SyncError),
}

/// The agent's side of the supervisor protocol, run as one task.
#[derive(Debug)]
pub(crate) struct SupervisorLink {
    endpoint: SupervisorEndpoint,
    identity: Arc<HostIdentity>,
    module_file: PathBuf,
    policies_file: PathBuf,
    sync: PolicySync,
    backoff: Backoff,
    policies: watch::Sender<Arc<PolicySnapshot>>,
    status: watch::Sender<AgentStatus>,
}

impl SupervisorLink {
    /// A link starting from `sync`'s snapshot, publishing on `policies` and `status`.
    pub(crate) fn new(
        endpoint: SupervisorEndpoint,
        identity: Arc<HostIdentity>,
        data_dir: &DataDir,
        sync: PolicySync,
        policies: watch::Sender<Arc<PolicySnapshot>>,
        status: watch::Sender<AgentStatus>,
    ) -> Self {
        Self {
            endpoint,
            identity,
            module_file: data_dir.module_file(),
            policies_file: data_dir.policies_file(),
            sync,
            backoff: Backoff::new(BACKOFF_MIN, BACKOFF_MAX),
            policies,
            status,
        }
    }

    /// Connects, and reconnects after every failure, forever. Between sessions the agent is
    /// headless and keeps its snapshot.
    pub(crate) async fn run(mut self) {
        let url = self.endpoint.url().to_owned();
        let mut failures_in_a_row = 0u32;
        loop {
            let Err(err) = self.session().await;
            self.sync.stream_closed();
            let was_connected = self.status.borrow().state == ConnectionState::Connected;
            if was_connected {
                failures_in_a_row = 0;
                self.status.send_modify(|status| status.state = ConnectionState::Headless);
                let snapshot = self.sync.snapshot();
                tracing::warn!(
                    "lost supervisor {url}: {err}; headless on revision {} with {} policies",
                    snapshot.revision,
                    snapshot.len()
                );
            } else if failures_in_a_row == 0 {
                tracing::warn!("cannot reach supervisor {url}: {err}; retrying");
            } else {
                tracing::debug!("cannot reach supervisor {url}: {err}");
            }
            failures_in_a_row = failures_in_a_row.saturating_add(1);
            let delay = if err.refused() { REFUSED_RETRY } else { self.backoff.next_delay(random_unit()) };
            tokio::time::sleep(delay).await;
        }
    }

    /// One connection: register, open the watch stream, then heartbeat and apply updates until
    /// something fails.
    async fn session(&mut self) -> Result<Infallible, LinkError> {
        self.enrol_if_needed().await?;
        let channel = self.endpoint.connect().await.map_err(LinkError::Connect)?;
        let mut client = SupervisorClient::new(channel);
        let registered = match call("Register", client.register(self.register_request())).await {
            Err(LinkError::Rpc { status, .. }) if status.code() == tonic::Code::Unauthenticated => {
                let rejoin =
                    self.endpoint.credentials().is_some_and(|credentials| credentials.forget_if_rejoinable());
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
                    self.renew_if_due(&mut client).await;
                }
                message = updates.message() => {
                    let update = message
                        .map_err(|status| LinkError::Rpc { call: "Watch", status: Box::new(status) })?
                        .ok_or(LinkError::StreamEnded)?;
                    self.apply(update, module).await?;
                }
            }
        }
    }

    async fn enrol_if_needed(&self) -> Result<(), LinkError> {
        crate::trust::enrol::enrol_if_needed(&self.endpoint, &self.identity).await.map_err(LinkError::Enrol)
    }

    async fn renew_if_due(&self, client: &mut SupervisorClient<Channel>) {
        crate::trust::enrol::renew_if_due(&self.endpoint, client, &self.identity.host_id).await;
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
        let reply = call("Heartbeat", client.heartbeat(request)).await?;
        self.status.send_modify(|status| {
            status.last_heartbeat_ack = Some(Instant::now());
            status.supervisor_revision = Some(reply.revision);
        });
        Ok(())
    }

    /// Applies one update; a changed snapshot is persisted, then published, so what a datapath
    /// runs on is always on disk for the next start.
    async fn apply(&mut self, update: proto::PolicyUpdate, module: u32) -> Result<(), LinkError> {
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
            self.backoff.reset();
            self.status.send_modify(|status| status.state = ConnectionState::Connected);
            tracing::info!(
                "module {module} connected to supervisor {}: in sync at revision {} with {} policies",
                self.endpoint.url(),
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
    match tokio::time::timeout(RPC_TIMEOUT, request).await {
        Err(_) => Err(LinkError::Timeout { call: name }),
        Ok(Err(status)) => Err(LinkError::Rpc { call: name, status: Box::new(status) }),
        Ok(Ok(response)) => Ok(response.into_inner()),
    }
}
