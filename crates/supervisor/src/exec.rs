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
    Parse { column: usize, message: String, detail: Option<String> },
    /// A command of the shell's session (`configure terminal`, `end`, `exit`): it has no output
    /// here; config text goes to `POST /api/v1/config`.
    #[error("'{0}' is a shell session command; post configuration text to /api/v1/config")]
    SessionCommand(String),
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
    use cli::ExecCommand;

    let command = cli::parse_exec(line).map_err(|error| ExecError::Parse {
        column: error.column,
        message: error.message,
        detail: error.detail,
    })?;
    match command {
        ExecCommand::ShowModule => Ok(render::show_module(&state.modules.list(&state.journal).await?)),
        ExecCommand::ShowPortProfile { name } => {
            let (config, _) = config_store::read(&state.journal).await?;
            let evaluated = config_store::evaluate(&config);
            render::show_port_profile(&config, &evaluated, name.as_deref())
                .ok_or_else(|| no_such_profile(name))
        }
        ExecCommand::ShowPortProfileBrief => {
            let (config, _) = config_store::read(&state.journal).await?;
            Ok(render::show_port_profile_brief(&config, &config_store::evaluate(&config)))
        }
        ExecCommand::ShowRunningConfig => {
            let (config, _) = config_store::read(&state.journal).await?;
            Ok(config::print_running_config(&config))
        }
        ExecCommand::ShowRunningConfigPortProfile { name: None } => {
            let (config, _) = config_store::read(&state.journal).await?;
            let blocks: Vec<String> =
                config.port_profiles.keys().filter_map(|name| config::print_profile(&config, name)).collect();
            Ok(blocks.join("\n"))
        }
        ExecCommand::ShowRunningConfigPortProfile { name: Some(name) } => {
            let (config, _) = config_store::read(&state.journal).await?;
            config::print_profile(&config, &name).ok_or_else(|| no_such_profile(Some(name)))
        }
        ExecCommand::ShowLoggingLogfile => {
            Ok(render::show_logging_logfile(&state.journal.read().await?, &state.options.switch_name))
        }
        ExecCommand::ConfigureTerminal | ExecCommand::End | ExecCommand::Exit => {
            Err(ExecError::SessionCommand(command.to_string()))
        }
    }
}

fn no_such_profile(name: Option<String>) -> ExecError {
    ExecError::NotFound(format!("port-profile {} does not exist", name.unwrap_or_default()))
}
