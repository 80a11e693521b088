//! The agent's connection to the supervisor as the local API reports it.

use serde::{Deserialize, Serialize};

/// Whether the agent is talking to the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    /// Registered, watch stream synced, heartbeats answered.
    Connected,
    /// No supervisor: the agent keeps forwarding on its last snapshot.
    Headless,
}
