//! The shell's commands, run on the supervisor (`POST /api/v1/exec`): parse one line with the
//! shell's grammar, gather the state it shows, render it.

use store::StoreError;

use crate::config_store::{self, ConfigWriteError};
use crate::modules::ModuleError;
use crate::port_views::{self, InterfaceView};
use crate::ports::{PortError, Ports};
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
    Ports(#[from] PortError),
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
        ExecCommand::ShowModule => {
            let ports = port_views::ports_per_module(&Ports::records(&state.journal).await?);
            Ok(render::show_module(&state.modules.list(&state.journal).await?, &ports))
        }
        ExecCommand::ShowPortProfile { name } => {
            let (config, _) = config_store::read(&state.journal).await?;
            let evaluated = config_store::evaluate(&config);
            let assigned = port_views::ports_per_profile(&Ports::records(&state.journal).await?);
            render::show_port_profile(&config, &evaluated, &assigned, name.as_deref())
                .ok_or_else(|| no_such_profile(name))
        }
        ExecCommand::ShowPortProfileBrief => {
            let (config, _) = config_store::read(&state.journal).await?;
            let assigned = port_views::ports_per_profile(&Ports::records(&state.journal).await?);
            Ok(render::show_port_profile_brief(&config, &config_store::evaluate(&config), &assigned))
        }
        ExecCommand::ShowPortProfileVirtualUsage => {
            Ok(render::show_port_profile_virtual_usage(&interfaces(state).await?))
        }
        ExecCommand::ShowInterfaceVirtual => Ok(render::show_interface_virtual(&interfaces(state).await?)),
        ExecCommand::ShowInterfaceBrief => Ok(render::show_interface_brief(&interfaces(state).await?)),
        ExecCommand::ShowInterfaceVethernet { number } => interfaces(state)
            .await?
            .iter()
            .find(|view| view.binding.veth == number)
            .map(render::show_interface_vethernet)
            .ok_or_else(|| ExecError::NotFound(format!("Vethernet{number} does not exist"))),
        ExecCommand::ShowMacAddressTable { vlan } => {
            let entries = state.ports.mac_table(&state.journal, &state.modules, vlan.map(u32::from)).await?;
            Ok(render::show_mac_address_table(&entries))
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

async fn interfaces(state: &SupervisorState) -> Result<Vec<InterfaceView>, ExecError> {
    Ok(state.ports.interfaces(&state.journal, &state.modules, &state.fanout).await?)
}

fn no_such_profile(name: Option<String>) -> ExecError {
    ExecError::NotFound(format!("port-profile {} does not exist", name.unwrap_or_default()))
}
