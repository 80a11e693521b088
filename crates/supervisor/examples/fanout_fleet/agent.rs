//! One simulated agent: what a real agent says to its supervisor, without a datapath. It
//! registers, binds one port on the fleet's profile (once: the binding lives in the store,
//! which every supervisor shares), opens its Watch stream with the policies it already holds,
//! and heartbeats at the interval the supervisor asks for. When its session breaks it moves on
//! to the next supervisor, with a real agent's timeouts and rule (crates/agent/src/failover.rs,
//! supervisor_link.rs): after a session in sync for 2 s, at once; after a round in which no
//! supervisor answered, or a session that broke sooner, an exponential delay from 100 ms to 5 s,
//! jittered (the agent's `ovsdb::backoff::Backoff`, repeated here in [`Backoff`]).
//!
//! It tells the fleet what happens through [`Report`]s: sessions opened and lost, and every
//! update of the watched profile, each with the instant it was seen.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use proto::supervisor_client::SupervisorClient;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{MissedTickBehavior, timeout};
use tonic::transport::{Channel, Endpoint};

// A real agent's limits (crates/agent/src/trust/channel.rs, supervisor_link.rs, failover.rs).
/// How long connecting to one supervisor may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a unary call or a stream's opening may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// A heartbeat not answered in this time ends the session.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// Used when the supervisor names no heartbeat interval.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);
/// A session in sync this long that breaks is a failover: the next supervisor at once.
const STABLE_SESSION: Duration = Duration::from_secs(2);
/// The reconnect delays' range.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What every agent of a fleet shares.
#[derive(Debug)]
pub struct FleetSpec {
    /// The supervisors' base URLs (`http://ADDR`: the supervisors run `--insecure`).
    pub supervisors: Vec<String>,
    /// The port-profile each agent's port is bound on, and whose updates are reported.
    pub profile: String,
    /// Prefix of the agents' host names and ids, so that several fleets can share a domain.
    pub prefix: String,
}

/// Something that happened to agent `agent`.
#[derive(Debug)]
pub enum Report {
    /// A session is in sync (its first Watch message arrived) with supervisor `supervisor`.
    Session { agent: usize, supervisor: usize, module: u32, wall: SystemTime },
    /// The session with supervisor `supervisor` broke.
    Lost { agent: usize, supervisor: usize, why: String, wall: SystemTime },
    /// An update carrying the profile's policy at `revision` arrived.
    Policy { agent: usize, revision: i64, at: Instant },
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("bad supervisor URL {url}: {source}")]
    Url { url: String, source: tonic::transport::Error },
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: tonic::transport::Error },
    #[error("{call} timed out")]
    Timeout { call: &'static str },
    #[error("{call}: {status}")]
    Rpc { call: &'static str, status: Box<tonic::Status> },
    #[error("the Watch stream ended")]
    StreamEnded,
    #[error("the first Watch message was not a sync")]
    NoSync,
    #[error("the fleet stopped listening")]
    FleetGone,
}

/// One simulated agent.
#[derive(Debug)]
pub struct SimAgent {
    index: usize,
    spec: Arc<FleetSpec>,
    reports: UnboundedSender<Report>,
    /// Policy name → revision: what this agent holds (sent with each Watch).
    known: HashMap<String, i64>,
    bound: bool,
    /// When the current session got its sync.
    in_sync_since: Option<Instant>,
}

impl SimAgent {
    pub fn new(index: usize, spec: Arc<FleetSpec>, reports: UnboundedSender<Report>) -> Self {
        Self { index, spec, reports, known: HashMap::new(), bound: false, in_sync_since: None }
    }

    fn host_id(&self) -> String {
        format!("{}-host-{}", self.spec.prefix, self.index)
    }

    /// Sessions, one after another, starting with supervisor `first`, until the fleet stops
    /// listening.
    pub async fn run(mut self, first: usize) {
        let count = self.spec.supervisors.len().max(1);
        let mut next = first % count;
        let mut failed_in_round = 0;
        let mut backoff = Backoff::new();
        loop {
            let supervisor = next;
            next = (supervisor + 1) % count;
            let Err(error) = self.session(supervisor).await;
            if matches!(error, SessionError::FleetGone) {
                return;
            }
            let wall = SystemTime::now();
            let in_sync_for = self.in_sync_since.take().map(|since| since.elapsed());
            let why = error.to_string();
            if self.reports.send(Report::Lost { agent: self.index, supervisor, why, wall }).is_err() {
                return;
            }
            let pause = match in_sync_for {
                // A failover: the next supervisor at once.
                Some(in_sync_for) if in_sync_for >= STABLE_SESSION => {
                    backoff.reset();
                    failed_in_round = 0;
                    None
                }
                Some(_) => {
                    failed_in_round = 0;
                    Some(backoff.next_delay())
                }
                None => {
                    failed_in_round += 1;
                    (failed_in_round >= count).then(|| {
                        failed_in_round = 0;
                        backoff.next_delay()
                    })
                }
            };
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// One session with supervisor `supervisor`; ends only with an error.
    async fn session(&mut self, supervisor: usize) -> Result<Infallible, SessionError> {
        let url = &self.spec.supervisors[supervisor];
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|source| SessionError::Url { url: url.clone(), source })?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        let channel = timeout(CONNECT_TIMEOUT, endpoint.connect())
            .await
            .map_err(|_| SessionError::Timeout { call: "connect" })?
            .map_err(|source| SessionError::Connect { url: url.clone(), source })?;
        let mut client = SupervisorClient::new(channel);
        let host_id = self.host_id();
        let registered = call("Register", client.register(self.register_request())).await?;
        let module = registered.module;
        if !self.bound {
            call("BindPort", client.bind_port(self.port(module))).await?;
            self.bound = true;
        }
        let request = proto::WatchRequest { module, host_id: host_id.clone(), known: self.known.clone() };
        let mut updates = call("Watch", client.watch(request)).await?;
        let first = self.next_update(&mut updates).await?;
        if !first.sync {
            return Err(SessionError::NoSync);
        }
        self.take(&first, Instant::now())?;
        self.in_sync_since = Some(Instant::now());
        let wall = SystemTime::now();
        self.send(Report::Session { agent: self.index, supervisor, module, wall })?;

        let interval = match registered.heartbeat_interval_ms {
            0 => DEFAULT_HEARTBEAT,
            ms => Duration::from_millis(u64::from(ms)),
        };
        let mut heartbeat = tokio::time::interval(interval);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                _ = heartbeat.tick() => self.heartbeat(&mut client, module, &host_id).await?,
                update = self.next_update(&mut updates) => {
                    let update = update?;
                    self.take(&update, Instant::now())?;
                }
            }
        }
    }

    async fn next_update(
        &self,
        updates: &mut tonic::Streaming<proto::PolicyUpdate>,
    ) -> Result<proto::PolicyUpdate, SessionError> {
        updates
            .message()
            .await
            .map_err(|status| SessionError::Rpc { call: "Watch", status: Box::new(status) })?
            .ok_or(SessionError::StreamEnded)
    }

    /// Keeps what an update brings and reports the watched profile's new policy.
    fn take(&mut self, update: &proto::PolicyUpdate, at: Instant) -> Result<(), SessionError> {
        for removed in &update.removes {
            self.known.remove(removed);
        }
        for policy in &update.upserts {
            self.known.insert(policy.name.clone(), policy.revision);
            if policy.name == self.spec.profile && !update.sync {
                self.send(Report::Policy { agent: self.index, revision: update.revision, at })?;
            }
        }
        Ok(())
    }

    async fn heartbeat(
        &self,
        client: &mut SupervisorClient<Channel>,
        module: u32,
        host_id: &str,
    ) -> Result<(), SessionError> {
        let request = proto::HeartbeatRequest { module, host_id: host_id.to_owned() };
        timeout(HEARTBEAT_TIMEOUT, client.heartbeat(request))
            .await
            .map_err(|_| SessionError::Timeout { call: "Heartbeat" })?
            .map_err(|status| SessionError::Rpc { call: "Heartbeat", status: Box::new(status) })?;
        Ok(())
    }

    fn send(&self, report: Report) -> Result<(), SessionError> {
        self.reports.send(report).map_err(|_| SessionError::FleetGone)
    }

    fn register_request(&self) -> proto::RegisterRequest {
        proto::RegisterRequest {
            host_name: format!("{}{}", self.spec.prefix, self.index),
            host_id: self.host_id(),
            version: "fanout_fleet".into(),
            addresses: vec!["127.0.0.1".into()],
            hardware: "simulated agent (fanout_fleet)".into(),
            ..Default::default()
        }
    }

    /// The agent's one port, on the fleet's profile; its MAC is unique within the fleet.
    fn port(&self, module: u32) -> proto::BindPortRequest {
        let i = self.index;
        proto::BindPortRequest {
            module,
            host_id: self.host_id(),
            iface_id: format!("{}-port-{i}", self.spec.prefix),
            profile: self.spec.profile.clone(),
            adapter: format!("sim{i}"),
            container_ifname: "eth0".into(),
            mac: format!("02:5f:{:02x}:{:02x}:{:02x}:01", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
            owner_uuid: String::new(),
            owner_name: format!("{}-container-{i}", self.spec.prefix),
            ltl: 49,
        }
    }
}

/// A unary call, bounded by [`CALL_TIMEOUT`].
async fn call<T>(
    name: &'static str,
    reply: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, SessionError> {
    timeout(CALL_TIMEOUT, reply)
        .await
        .map_err(|_| SessionError::Timeout { call: name })?
        .map(tonic::Response::into_inner)
        .map_err(|status| SessionError::Rpc { call: name, status: Box::new(status) })
}

/// Reconnect delays as a real agent's: the ceiling doubles from [`BACKOFF_MIN`] to
/// [`BACKOFF_MAX`], each delay uniform in its upper half, so agents that lost the same
/// supervisor spread out.
#[derive(Debug)]
struct Backoff {
    ceiling: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self { ceiling: BACKOFF_MIN }
    }

    fn reset(&mut self) {
        self.ceiling = BACKOFF_MIN;
    }

    fn next_delay(&mut self) -> Duration {
        let half = self.ceiling / 2;
        let delay = (half + half.mul_f64(random_unit())).max(BACKOFF_MIN);
        self.ceiling = (self.ceiling * 2).min(BACKOFF_MAX);
        delay
    }
}

/// A number in [0, 1), from the standard library's per-process random hasher keys.
fn random_unit() -> f64 {
    use std::hash::BuildHasher as _;
    let bits = std::collections::hash_map::RandomState::new().hash_one(SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
