//! Where an agent's local API listens: `agent.sock` in its data dir.

use std::path::{Path, PathBuf};

/// The socket's file name in the agent's data dir.
pub const SOCKET_NAME: &str = "agent.sock";

/// The local API socket of the agent whose data dir is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}
