//! The Switchyard supervisor as a library: the control-plane daemon that holds the config and
//! the modules, serves operators (REST, the shell's commands) and agents (gRPC), and never
//! forwards a packet.
//!
//! One address serves both: the REST API under `/api/v1` (with its OpenAPI document at
//! `/openapi.json`) over HTTP/1.1 or h2c, and the `switchyard.v1.Supervisor` gRPC service over
//! h2c. The binary calls [`run`]; tests call [`serve`] with a store and a listener of their own.
//!
//! Inside, pure cores do the deciding and thin shells do the I/O:
//!
//! | module | job | pure? |
//! |---|---|---|
//! | [`layout`] | where things live in the store | yes |
//! | [`events`], [`clock`] | NX-OS event lines and timestamps | yes |
//! | [`liveness`] | heartbeat bookkeeping (online/offline) | yes |
//! | [`agent_input`] | the rules for everything an agent sends | yes |
//! | [`port_binding`], [`segment`] | vEthernet numbers, bind and unbind plans; who may hold a port, a MAC | yes |
//! | [`port_state`], [`port_views`], [`uplink_views`] | agents' port reports, their events, `show interface` views | yes |
//! | [`bridge_domain_views`] | `show bridge-domain` views | yes |
//! | [`policy_table`] | evaluated policies, deltas, per-agent sync | yes |
//! | [`interest`] | which port-profiles concern each module | yes |
//! | [`overlay`] | bridge-domain members, their VTEPs and MACs, each agent's view | yes |
//! | [`render`] | `show …` output | yes |
//! | [`audit`] | the accounting log: records, rendering, retention (pure); its writer task | both |
//! | [`journal`] | the write path: one transaction per change, with its events | shell |
//! | [`modules`] | module numbers and liveness | shell |
//! | [`cluster`] | several supervisors on one store: leases, members, presence, mirrors | shell |
//! | [`module_removal`] | `no module N`: a module and its ports released in one write | shell |
//! | [`ports`] | port bindings in the store, reports in memory | shell |
//! | [`config_store`] | config reads and atomic config writes | shell |
//! | [`fanout`] | store watch → policy table → each agent stream, what concerns its module; the overlay streams | shell |
//! | [`stream_slots`] | how many streams each module may hold open | yes |
//! | [`module_kill`] | ending a revoked or removed module's open streams | shell |
//! | [`transfer`] | moving the durable state from one store to another (export, import) | shell |
//! | [`grpc`], [`rest`], [`exec`], [`server`] | the protocols | shell |

pub mod agent_auth;
pub mod agent_input;
pub mod audit;
pub mod bridge_domain_views;
pub mod clock;
pub mod cluster;
pub mod config_sessions;
pub mod config_store;
pub mod enrol_rpc;
pub mod enrolment;
pub mod events;
pub mod exec;
pub mod fanout;
pub mod grpc;
pub mod interest;
pub mod ipam;
pub mod journal;
pub mod layout;
pub mod liveness;
pub mod module_kill;
pub mod module_removal;
pub mod modules;
pub mod overlay;
pub mod policy_table;
pub mod policy_views;
pub mod port_binding;
pub mod port_commands;
pub mod port_state;
pub mod port_views;
pub mod ports;
pub mod render;
pub mod rest;
pub mod revoke;
pub mod segment;
pub mod server;
pub mod state;
pub mod stream_slots;
#[cfg(test)]
mod testing;
pub mod tls_setup;
pub mod transfer;
pub mod trust;
pub mod trust_ops;
pub mod uplink_views;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::fanout::Fanout;
use crate::journal::Journal;
use crate::liveness::Liveness;
use crate::modules::Modules;
use crate::ports::Ports;
use crate::state::SupervisorState;

/// The default of [`SupervisorOptions::max_modules`].
pub const DEFAULT_MAX_MODULES: usize = 4096;

/// How the supervisor runs. Build it with [`SupervisorOptions::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct SupervisorOptions {
    /// Where the embedded store lives (`<data_dir>/store.redb`); used by [`run`].
    pub data_dir: PathBuf,
    /// The one address for REST and gRPC; used by [`run`].
    pub listen: SocketAddr,
    /// The switch name in `show logging logfile` lines.
    pub switch_name: String,
    /// How often agents are told to heartbeat.
    pub heartbeat_interval: Duration,
    /// Silence after which a module goes offline (six missed heartbeats).
    pub heartbeat_timeout: Duration,
    /// Events kept in the log; the oldest are dropped past it (`--event-log-capacity`).
    pub event_log_capacity: u64,
    /// Accounting entries older than this are dropped (`--audit-max-age`).
    pub audit_max_age: Duration,
    /// Accounting entries kept at most; the oldest are dropped past it (`--audit-max-entries`).
    /// Separate from the event log's capacity: events never push accounting entries out.
    pub audit_max_entries: u64,
    /// Policy deltas an agent stream may fall behind before it is ended (the agent resyncs).
    pub watch_buffer: usize,
    /// Largest REST request body accepted, in bytes.
    pub body_limit: usize,
    /// Where the TLS material comes from (made in `<data_dir>/tls` by default).
    pub tls: tls_setup::TlsOptions,
    /// A bootstrap join token in this file (made when missing), reusable for
    /// `bootstrap_token_ttl` from start: for scripts that start a supervisor and its agents in one
    /// go. `None`: only one-time tokens from `join-token create`.
    pub bootstrap_token_file: Option<PathBuf>,
    pub bootstrap_token_ttl: Duration,
    /// How long an agent's certificate lives; agents renew at two thirds of it.
    pub agent_cert_lifetime: Duration,
    /// What a client may hold: connections, handshake and header deadlines.
    pub limits: server::ConnectionLimits,
    /// Most modules (registered hosts) the domain holds; a new host past it is refused until an
    /// operator removes modules that are gone (`no module N`).
    pub max_modules: usize,
    /// Watch (and, apart, WatchOverlay) streams one module may hold open at once; an agent needs
    /// one of each, the rest covers reconnects.
    pub streams_per_module: usize,
    /// No TLS and no authentication: anyone who reaches the address may do anything. For
    /// benchmarks only; said loudly on every start.
    pub insecure: bool,
    /// The password of `admin` when the config has no account yet (first start); `None`
    /// generates one into `<data_dir>/admin-password`.
    pub admin_password: Option<trust::Secret>,
    /// Host names REST requests may carry in `Host` besides IP literals and `localhost`
    /// (DNS-rebinding protection); the names of the server certificate belong here.
    pub allowed_hosts: Vec<String>,
    /// How long a bearer token lives when `POST /api/v1/tokens` does not say.
    pub token_ttl: Duration,
    /// The longest life a bearer token may ask for.
    pub token_ttl_max: Duration,
    /// How old an allocation must be before the leak collector may free it when its module
    /// stops reporting it ([`ipam::ADDRESS_GRACE`]; tests shorten it).
    pub address_grace: Duration,
}

impl SupervisorOptions {
    /// The defaults: 1 s heartbeats, offline after 6 s, 10,000 events, accounting entries for
    /// 90 days or 100,000 entries, 1 MiB bodies, 4,096 modules, 8 streams of each kind per module,
    /// operator tokens for 12 hours (at most a week).
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            switch_name: "switch".to_owned(),
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(6),
            event_log_capacity: 10_000,
            audit_max_age: audit::Retention::default().max_age,
            audit_max_entries: audit::Retention::default().max_entries,
            watch_buffer: 256,
            body_limit: 1 << 20,
            tls: tls_setup::TlsOptions::default(),
            bootstrap_token_file: None,
            bootstrap_token_ttl: Duration::from_secs(3600),
            agent_cert_lifetime: Duration::from_secs(30 * 24 * 3600),
            limits: server::ConnectionLimits::default(),
            max_modules: DEFAULT_MAX_MODULES,
            streams_per_module: 8,
            insecure: false,
            admin_password: None,
            allowed_hosts: Vec::new(),
            token_ttl: Duration::from_secs(12 * 3600),
            token_ttl_max: Duration::from_secs(7 * 24 * 3600),
            address_grace: ipam::ADDRESS_GRACE,
        }
    }

    /// The accounting log's retention.
    pub fn audit_retention(&self) -> audit::Retention {
        audit::Retention { max_age: self.audit_max_age, max_entries: self.audit_max_entries }
    }
}

/// Listens on `listen` and serves from `store` (the caller opened it: `--store`) until SIGTERM
/// or ctrl-c.
pub async fn run(store: Arc<dyn Store>, options: SupervisorOptions) -> anyhow::Result<()> {
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    tracing::info!(listen = %options.listen, data_dir = %options.data_dir.display(), "supervisor serving");
    if options.insecure {
        warn_insecure();
    }
    serve(store, listener, options, termination()).await
}

/// Says, as loudly as a log can, that nothing is protected.
pub fn warn_insecure() {
    tracing::warn!(
        "INSECURE: --insecure is for benchmarks only. No TLS and no authentication: anyone who reaches this \
         address can read and change every policy, register as any host and bind any port."
    );
}

/// Resolves on SIGTERM or ctrl-c.
async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut sigterm) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = sigterm.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; stopping on ctrl-c only");
            let _ = ctrl_c.await;
        }
    }
}

/// Serves REST and gRPC on `listener` from `store` until `shutdown` resolves; returns once every
/// connection and background task has ended (so the caller may reopen the store).
pub async fn serve(
    store: Arc<dyn Store>,
    listener: TcpListener,
    options: SupervisorOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let tls = if options.insecure {
        None
    } else {
        let data_dir = options.data_dir.clone();
        let tls_options = options.tls.clone();
        if tls_options.client_ca.is_none() {
            let tls_dir = tls_options.dir.clone().unwrap_or_else(|| data_dir.join("tls"));
            cluster::shared_ca::sync(store.as_ref(), &tls_dir)
                .await
                .context("sharing the CA through the store")?;
        }
        let listen = listener.local_addr().context("the listener's address")?;
        let material =
            tokio::task::spawn_blocking(move || tls_setup::load_or_create(&data_dir, &tls_options, listen))
                .await?
                .context("setting up TLS")?;
        Some(material)
    };
    let (enrolments, server_config, tls_names) = match tls {
        None => (None, None, Vec::new()),
        Some(tls_setup::TlsMaterial { server, authority, ca_pem, ca_hash, names }) => {
            let enrolments = enrolment::Enrolments::new(
                store.clone(),
                authority,
                ca_pem,
                ca_hash,
                options.agent_cert_lifetime,
            );
            (Some(enrolments), Some(server), names)
        }
    };
    if let (Some(enrolments), Some(file)) = (&enrolments, &options.bootstrap_token_file) {
        enrolments
            .install_bootstrap_token(file, options.bootstrap_token_ttl)
            .await
            .with_context(|| format!("installing the bootstrap token of {}", file.display()))?;
        tracing::warn!(
            file = %file.display(),
            "a reusable bootstrap join token is valid for {} s: any agent holding it may enrol",
            options.bootstrap_token_ttl.as_secs()
        );
    }
    let limits = options.limits;
    let (stop, stopped) = watch::channel(false);
    let journal = Journal::new(store.clone(), options.event_log_capacity);
    trust::first_admin::ensure(&journal, &options.data_dir, options.admin_password.as_ref())
        .await
        .context("creating the first admin account")?;
    let supervisor_id = cluster::identity::load_or_create(&options.data_dir)?;
    let lease = cluster::lease::SupervisorLease::grant(store.clone(), options.heartbeat_timeout)
        .await
        .context("granting the supervisor's lease")?;
    let members = cluster::members::Members::join(
        store.clone(),
        lease.clone(),
        &supervisor_id,
        &host_name(),
        &options.listen.to_string(),
    )
    .await?;
    let live = store.range(layout::LIVE_MODULES_PREFIX).await?;
    let presence = cluster::presence::Presence::new(
        store.clone(),
        lease.clone(),
        &supervisor_id,
        Liveness::new(options.heartbeat_timeout),
        &live,
    );
    let modules = Modules::load(&journal, presence, options.max_modules).await?;
    let fanout = Arc::new(Fanout::new(options.watch_buffer));
    for record in Modules::records(&journal).await? {
        fanout.module_changed(&record);
        fanout.module_liveness(record.module, || modules.is_online(record.module));
    }
    let ports = Ports::load(store.as_ref(), &fanout).await?;
    let (mirror, revision) = fanout::load(store.as_ref(), &fanout).await?;
    let (audit, audit_writer) = audit::Audit::load(store.clone(), options.audit_retention()).await?;
    let state = Arc::new(SupervisorState {
        audit,
        enrolments,
        tls_names,
        auth: trust::authenticate::Authenticator::default(),
        kills: module_kill::ModuleKills::default(),
        agent_refusals: agent_auth::AgentRefusals::default(),
        config_sessions: config_sessions::ConfigSessions::default(),
        store: store.clone(),
        options,
        journal,
        modules,
        members,
        reports: cluster::reports::SharedReports::new(store.clone(), lease.clone(), &supervisor_id),
        lease: lease.clone(),
        ports,
        fanout: fanout.clone(),
        shutdown: stopped.clone(),
    });

    let mut tasks = JoinSet::new();
    cluster::followers::spawn_all(&mut tasks, &store, &state, live.revision, &stopped);
    tasks.spawn(lease.clone().keep(stopped.clone()));
    tasks.spawn(reattach_on_new_lease(state.clone(), lease, stopped.clone()));
    tasks.spawn(fanout::follow(store, fanout, mirror, revision, stopped.clone()));
    tasks.spawn(expire_modules(state.clone(), stopped.clone()));
    tasks.spawn(audit_writer.run(stopped.clone()));
    let server =
        tokio::spawn(server::serve(listener, rest::router(state.clone()), server_config, limits, stopped));

    shutdown.await;
    tracing::info!("supervisor shutting down");
    let _ = stop.send(true);
    server.await.context("the server task failed")?;
    // Before the tasks are awaited: the audit writer ends once the last handle on it is gone.
    state.members.leave().await;
    drop(state);
    while let Some(ended) = tasks.join_next().await {
        ended.context("a background task failed")?;
    }
    Ok(())
}

/// Takes the silent modules this supervisor serves offline (their ports down, their VTEPs out
/// of the overlay), checking a few times per timeout. Modules served by a supervisor that died
/// go offline when its lease expires (see [`cluster`]); a module whose live key survived a
/// restart of this supervisor stays online until its agent's next heartbeat or that lease ends.
async fn expire_modules(state: Arc<SupervisorState>, mut shutdown: watch::Receiver<bool>) {
    let period =
        (state.options.heartbeat_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = server::stopped(&mut shutdown) => return,
            _ = ticker.tick() => {
                let now = Instant::now();
                for (module, logged) in state.modules.expire(&state.journal, now).await {
                    tracing::info!(module, "module offline");
                    state.fanout.module_liveness(module, || state.modules.is_online(module));
                    state.ports.module_offline(&state.journal, module, logged).await;
                }
            }
        }
    }
}

/// When the lease was replaced (this supervisor lost the store for longer than its TTL), says
/// again that it is up and that its modules are online.
async fn reattach_on_new_lease(
    state: Arc<SupervisorState>,
    lease: Arc<cluster::lease::SupervisorLease>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = lease.changes();
    loop {
        tokio::select! {
            () = server::stopped(&mut shutdown) => return,
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                if let Err(error) = state.members.announce().await {
                    tracing::warn!(%error, "cannot announce this supervisor on its new lease");
                }
                for module in state.modules.presence().reattach().await {
                    if let Err(error) = state.modules.presence().settle(&state.journal, module, None).await {
                        tracing::warn!(%error, module, "cannot log the module's liveness");
                    }
                }
            }
        }
    }
}

/// This machine's host name, for `show module`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
