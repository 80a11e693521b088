//! Where the agent keeps its state inside `--data-dir`.
//!
//! One place names every file so the agent and `vemcmd` (a separate process) agree on them.

use std::path::{Path, PathBuf};

/// The agent's data directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Wraps `root` (typically `/var/lib/switchyard`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `host-id`: the host's stable identity, a uuid generated on first start.
    pub fn host_id_file(&self) -> PathBuf {
        self.root.join("host-id")
    }

    /// `module`: the module number the supervisor last gave this host.
    pub fn module_file(&self) -> PathBuf {
        self.root.join("module")
    }

    /// `policies.json`: the last policy snapshot, what a headless agent runs on.
    pub fn policies_file(&self) -> PathBuf {
        self.root.join("policies.json")
    }

    /// `ports.json`: the ports attached on this host, what a restarted agent restores.
    pub fn ports_file(&self) -> PathBuf {
        self.root.join("ports.json")
    }

    /// `overlay.json`: the bridge-domain overlay last received, what a headless agent runs on.
    pub fn overlay_file(&self) -> PathBuf {
        crate::overlay::model::file_in(&self.root)
    }

    /// Every state file the agent keeps, for tightening their modes on start (they are
    /// written 0600; an older build wrote them world-readable).
    pub fn state_files(&self) -> [PathBuf; 5] {
        [
            self.host_id_file(),
            self.module_file(),
            self.policies_file(),
            self.ports_file(),
            self.overlay_file(),
        ]
    }

    /// `agent.sock`: the local API that `vemcmd` talks to.
    pub fn socket(&self) -> PathBuf {
        agent_api::socket_path(&self.root)
    }
}
