//! What every request handler shares.

use std::sync::Arc;

use store::Store;
use tokio::sync::watch;

use crate::SupervisorOptions;
use crate::audit::Audit;
use crate::enrolment::Enrolments;
use crate::fanout::Fanout;
use crate::journal::Journal;
use crate::modules::Modules;
use crate::ports::Ports;
use crate::trust::authenticate::Authenticator;

/// The running supervisor: its store, registries and fan-out.
#[derive(Debug)]
pub struct SupervisorState {
    pub store: Arc<dyn Store>,
    pub options: SupervisorOptions,
    pub journal: Journal,
    /// The accounting log.
    pub audit: Audit,
    /// Join tokens and agents' certificates; `None` when running `--insecure`.
    pub enrolments: Option<Enrolments>,
    /// The names the server certificate carries (REST's Host check accepts them).
    pub tls_names: Vec<String>,
    /// Switches that end a revoked or removed module's open streams.
    pub kills: crate::module_kill::ModuleKills,
    /// Agents refused, per source: what bounds the events and accounting entries they cause.
    pub agent_refusals: crate::agent_auth::AgentRefusals,
    /// Configuration sessions (`configure session NAME`), in memory.
    pub config_sessions: crate::config_sessions::ConfigSessions,
    /// REST authentication: verified passwords and failed logins, in memory.
    pub auth: Authenticator,
    pub modules: Modules,
    /// This supervisor's membership among those sharing the store.
    pub members: crate::cluster::members::Members,
    /// The agents' reports this supervisor shares with the others.
    pub reports: crate::cluster::reports::SharedReports,
    /// This supervisor's lease (its `live/` keys hang on it).
    pub lease: std::sync::Arc<crate::cluster::lease::SupervisorLease>,
    pub ports: Ports,
    pub fanout: Arc<Fanout>,
    /// Turns true when the supervisor is shutting down; long-lived streams end on it.
    pub shutdown: watch::Receiver<bool>,
}
