//! The agent's connection to the supervisor as the local API reports it.

use std::time::Instant;

pub use agent_api::ConnectionState;

/// The live state of the supervisor link, published by its driver on a `watch` channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatus {
    pub state: ConnectionState,
    /// The module number: from the supervisor, or persisted from an earlier run.
    pub module: Option<u32>,
    /// When the supervisor last answered a heartbeat.
    pub last_heartbeat_ack: Option<Instant>,
    /// The config revision the supervisor reported in its last heartbeat reply.
    pub supervisor_revision: Option<i64>,
    /// The sessions that got in sync so far: a new number is a new connection (to the same
    /// supervisor or another), after which the ports re-assert their bindings, even when the
    /// headless moment between the two was too short to be seen.
    pub session: u64,
}

impl AgentStatus {
    /// The status of an agent that has not reached its supervisor yet.
    pub fn headless(module: Option<u32>) -> Self {
        Self {
            state: ConnectionState::Headless,
            module,
            last_heartbeat_ack: None,
            supervisor_revision: None,
            session: 0,
        }
    }
}
