//! The shell's commands, run on the supervisor (`POST /api/v1/exec`): parse one line with the
//! shell's grammar, gather the state it shows, render it.

use store::StoreError;

use crate::config_store::{self, ConfigWriteError};
use crate::modules::ModuleError;
use crate::render;
use crate::state::SupervisorState;

/// Why a command produced no output.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The line is not a command; `column` (1-based) is where it went wrong.
    #[error("{message}")]
    Parse { column: usize, message: String },
    /// The command names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Config(#[from] ConfigWriteError),
    #[error(transparent)]
    Modules(#[from] ModuleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs one command line and returns its output.
pub async fn execute(state: &SupervisorState, line: &str) -> Result<String, ExecError> {
    let _ = (state, line, render::show_module, config_store::read);
    Err(ExecError::NotFound("TEMP".into()))
}
