//! The shell's commands, run on the supervisor (`POST /api/v1/exec`): parse one line with the
//! shell's grammar, gather the state it shows, render it — or, for `no module N`, remove a
//! module.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use cli::BridgeDomainView as View;
use store::StoreError;

use crate::audit::{AuditEntry, AuditKind, AuditQuery};
use crate::bridge_domain_views::{BridgeDomainView, bridge_domain_views};
use crate::policy_views;
use crate::trust_ops;
use config::Family;

use crate::config_store::{self, ConfigWriteError};
use crate::enrolment::{DEFAULT_TOKEN_TTL, EnrolError};
use crate::module_removal::{self, RemoveError};
use crate::modules::{ModuleError, ModuleStatus};
use crate::overlay::{OverlayMap, bridge_domain_of};
use crate::port_views::{self, InterfaceView};
use crate::ports::{PortError, Ports};
use crate::render;
use crate::state::SupervisorState;
use crate::trust::Caller;
use crate::uplink_views::UplinkView;

/// Why a command produced no output.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The line is not a command; `column` (1-based) is where it went wrong.
    #[error("{message}")]
    Parse { column: usize, message: String, detail: Option<String> },
    /// A command of the shell's session (`configure terminal`, `end`, `exit`, and those of
    /// configuration sessions): it has no output here; config text goes to
    /// `POST /api/v1/config`, configuration sessions are `/api/v1/config/sessions/…`.
    #[error(
        "'{0}' is a shell session command; post configuration text to /api/v1/config, or use /api/v1/config/sessions"
    )]
    SessionCommand(String),
    /// A configuration session operation was refused.
    #[error(transparent)]
    ConfigSession(#[from] crate::config_sessions::SessionError),
    /// The caller's role may not run the command (a network-operator, a command that changes
    /// something).
    #[error("permission denied: '{command}' needs network-admin")]
    Forbidden { caller: Caller, command: String },
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
    Remove(#[from] RemoveError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Members(#[from] crate::cluster::members::MembersError),
    #[error(transparent)]
    Enrolment(#[from] EnrolError),
    /// `interface vethernet N` … `[no] shutdown` on a vEthernet that is not attached to a module
    /// (a `port-binding static` number kept after detach): there is no port to act on.
    #[error("Vethernet{0} is not attached to any module: no port to act on")]
    NotAttached(u32),
    /// Join tokens need TLS.
    #[error("the supervisor runs --insecure: agents join without tokens")]
    Insecure,
    /// The address allocations could not be read.
    #[error(transparent)]
    Ipam(#[from] crate::ipam::IpamError),
}

/// Runs one command line for `caller` (connected from `source`, for the accounting log) and
/// returns its output.
pub async fn execute(
    state: &SupervisorState,
    caller: &Caller,
    source: &str,
    line: &str,
) -> Result<String, ExecError> {
    use cli::ExecCommand;

    let command = cli::parse_exec(line).map_err(|error| ExecError::Parse {
        column: error.column,
        message: error.message,
        detail: error.detail,
    })?;
    let asker = trust_ops::Asker { caller, source: source.to_owned() };
    if !only_reads(&command) && !caller.may_write() {
        return Err(ExecError::Forbidden { caller: caller.clone(), command: command.to_string() });
    }
    match command {
        ExecCommand::ShowModule => {
            let ports = port_views::ports_per_module(&Ports::records(&state.journal).await?);
            let supervisors = state.members.list().await?;
            Ok(render::show_module(&supervisors, &state.modules.list(&state.journal).await?, &ports))
        }
        ExecCommand::ShowSystemRedundancyStatus => {
            let supervisors = state.members.list().await?;
            let online = state.modules.presence().online();
            Ok(render::show_system_redundancy_status(&supervisors, &online, &state.store.health()))
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
            Ok(render::show_port_profile_virtual_usage(&interfaces(state).await?, &uplinks(state).await?))
        }
        ExecCommand::ShowInterfaceVirtual => Ok(render::show_interface_virtual(&interfaces(state).await?)),
        ExecCommand::ShowInterfaceBrief => {
            Ok(render::show_interface_brief(&uplinks(state).await?, &interfaces(state).await?))
        }
        ExecCommand::ShowInterfaceEthernet { module, port } => uplinks(state)
            .await?
            .iter()
            .find(|view| view.module == module && view.index == port)
            .map(render::show_interface_ethernet)
            .ok_or_else(|| ExecError::NotFound(format!("Ethernet{module}/{port} does not exist"))),
        ExecCommand::ShowBridgeDomain { name: None, .. } => {
            Ok(render::show_bridge_domain(&bridge_domains(state).await?))
        }
        ExecCommand::ShowBridgeDomain { name: Some(name), view } => {
            let domain = bridge_domains(state)
                .await?
                .into_iter()
                .find(|domain| domain.name == name)
                .ok_or_else(|| ExecError::NotFound(format!("bridge-domain {name} does not exist")))?;
            Ok(match view {
                View::Summary => render::show_bridge_domain(std::slice::from_ref(&domain)),
                View::Vteps => render::show_bridge_domain_vteps(&domain),
                View::Mac => render::show_bridge_domain_mac(&domain),
            })
        }
        ExecCommand::ShowInterfaceVethernet { number } => interfaces(state)
            .await?
            .iter()
            .find(|view| view.binding.veth == number)
            .map(render::show_interface_vethernet)
            .ok_or_else(|| ExecError::NotFound(format!("Vethernet{number} does not exist"))),
        ExecCommand::ShowPortSecurity => Ok(render::show_port_security(&state.ports.secure_ports())),
        ExecCommand::ShowIpDhcpSnoopingBinding => {
            Ok(render::show_ip_dhcp_snooping_binding(&state.ports.dhcp_bindings()))
        }
        ExecCommand::ShowFlowExporter => {
            let (config, _) = config_store::read(&state.journal).await?;
            Ok(render::show_flow_exporter(&config.flow_exporters, &state.ports.exporters()))
        }
        ExecCommand::ShowIpAccessLists { name } => access_lists(state, Family::Ipv4, name).await,
        ExecCommand::ShowIpv6AccessLists { name } => access_lists(state, Family::Ipv6, name).await,
        ExecCommand::ShowFlowMonitor { name } => {
            let (config, _) = config_store::read(&state.journal).await?;
            let evaluated = config_store::evaluate(&config);
            let assigned = port_views::ports_per_profile(&Ports::records(&state.journal).await?);
            let monitors = policy_views::flow_monitor_views(&config, &evaluated, &assigned, name.as_deref());
            match name {
                Some(name) if monitors.is_empty() => {
                    Err(ExecError::NotFound(format!("flow monitor {name} does not exist")))
                }
                _ => Ok(render::show_flow_monitor(&monitors)),
            }
        }
        ExecCommand::ShowIpPool { name } => {
            let (config, _) = config_store::read(&state.journal).await?;
            let allocations = crate::ipam::allocator::read_all(state.store.as_ref()).await?;
            let ports = Ports::records(&state.journal).await?;
            match name {
                None => Ok(render::show_ip_pools(&crate::ipam::pool_views(&config, &allocations, &ports))),
                Some(name) => crate::ipam::pool_view(&config, &allocations, &ports, &name)
                    .map(|view| render::show_ip_pool(&view))
                    .ok_or_else(|| ExecError::NotFound(format!("ip pool {name} does not exist"))),
            }
        }
        ExecCommand::InterfaceVethernetShutdown { number, shutdown } => {
            interface_shutdown(state, &asker, number, shutdown).await?;
            Ok(String::new())
        }
        ExecCommand::ShowMacAddressTable { vlan } => {
            let entries = state.ports.mac_table(&state.journal, &state.modules, vlan.map(u32::from)).await?;
            Ok(render::show_mac_address_table(&entries))
        }
        ExecCommand::ShowRunningConfig => {
            let (config, _) = config_store::read(&state.journal).await?;
            Ok(config_store::running_config(&config, caller))
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
        ExecCommand::ShowAccountingLog { last } => {
            let query = AuditQuery { since: None, limit: last.map(u64::from) };
            Ok(render::show_accounting_log(&state.audit.read(query).await?))
        }
        ExecCommand::ShowLoggingLogfile => {
            Ok(render::show_logging_logfile(&state.journal.read().await?, &state.options.switch_name))
        }
        ExecCommand::ShowJoinTokens => {
            Ok(render::show_join_tokens(&trust_ops::enrolments(state)?.tokens().await?))
        }
        ExecCommand::JoinTokenCreate { ttl_seconds } => {
            let ttl =
                ttl_seconds.map_or(DEFAULT_TOKEN_TTL, |seconds| Duration::from_secs(u64::from(seconds)));
            let (token, record) = trust_ops::create_join_token(state, ttl, &asker).await?;
            let ca_hash = state.enrolments.as_ref().map(|e| e.ca_hash().to_string()).unwrap_or_default();
            let url = format!("https://{}", state.options.listen);
            Ok(render::join_token_created(&token.to_string(), &record, &ca_hash, &url))
        }
        ExecCommand::NoJoinToken { id } => {
            trust_ops::delete_join_token(state, &id, &asker).await?;
            Ok(String::new())
        }
        ExecCommand::RevokeModule { module } => {
            let host = trust_ops::revoke(state, module, &asker).await?;
            Ok(format!(
                "Module {module} ({host}) revoked: its certificates are refused; it needs a new join token to return.\n"
            ))
        }
        ExecCommand::NoModule { module } => {
            Ok(module_removal::remove_module(state, module, caller, source).await?.summary())
        }
        ExecCommand::ShowConfigurationSession { name: None } => {
            Ok(render::show_configuration_session(&state.config_sessions.views_of(&caller.audit_name())))
        }
        ExecCommand::ShowConfigurationSession { name: Some(name) } => {
            let view = state.config_sessions.view(&name, &caller.audit_name())?;
            Ok(render::show_configuration_session(&[view]))
        }
        ExecCommand::ShowConfigurationSessionSummary => {
            Ok(render::show_configuration_session_summary(&state.config_sessions.summaries()))
        }
        ExecCommand::ConfigureTerminal
        | ExecCommand::ConfigureSession { .. }
        | ExecCommand::Verify
        | ExecCommand::Commit
        | ExecCommand::Abort
        | ExecCommand::End
        | ExecCommand::InterfaceVethernet { .. }
        | ExecCommand::Exit => Err(ExecError::SessionCommand(command.to_string())),
    }
}

/// The role check of exec commands: whether `command` only reads (any operator may run it)
/// or changes something (network-admin only). No wildcard: a new command must say which.
fn only_reads(command: &cli::ExecCommand) -> bool {
    use cli::ExecCommand as C;
    match command {
        C::ShowModule
        | C::ShowSystemRedundancyStatus
        | C::ShowPortProfile { .. }
        | C::ShowPortProfileBrief
        | C::ShowRunningConfig
        | C::ShowRunningConfigPortProfile { .. }
        | C::ShowLoggingLogfile
        | C::ShowInterfaceVirtual
        | C::ShowInterfaceVethernet { .. }
        | C::ShowInterfaceBrief
        | C::ShowPortProfileVirtualUsage
        | C::ShowMacAddressTable { .. }
        | C::ShowBridgeDomain { .. }
        | C::ShowInterfaceEthernet { .. }
        | C::ShowJoinTokens
        | C::ShowAccountingLog { .. }
        | C::ShowIpAccessLists { .. }
        | C::ShowIpv6AccessLists { .. }
        | C::ShowPortSecurity
        | C::ShowIpDhcpSnoopingBinding
        | C::ShowFlowExporter
        | C::ShowFlowMonitor { .. }
        | C::ShowIpPool { .. }
        | C::ShowConfigurationSession { .. }
        | C::ShowConfigurationSessionSummary => true,
        C::JoinTokenCreate { .. }
        | C::NoJoinToken { .. }
        | C::RevokeModule { .. }
        | C::NoModule { .. }
        | C::InterfaceVethernetShutdown { .. }
        | C::InterfaceVethernet { .. }
        | C::ConfigureTerminal
        | C::ConfigureSession { .. }
        | C::Verify
        | C::Commit
        | C::Abort
        | C::End
        | C::Exit => false,
    }
}

/// `show ip access-lists [NAME]` / `show ipv6 access-lists [NAME]`.
async fn access_lists(
    state: &SupervisorState,
    family: Family,
    name: Option<String>,
) -> Result<String, ExecError> {
    let (config, _) = config_store::read(&state.journal).await?;
    let lists =
        policy_views::access_list_views(&config, &state.ports.acl_hits(), Some(family), name.as_deref());
    match name {
        Some(name) if lists.is_empty() => {
            Err(ExecError::NotFound(format!("{} access-list {name} does not exist", family.keyword())))
        }
        _ => Ok(render::show_access_lists(&lists)),
    }
}

/// `shutdown` / `no shutdown` under `interface vethernet N`: the request waits for the port's
/// module's next report (see [`crate::port_commands`]). In the accounting log either way.
async fn interface_shutdown(
    state: &SupervisorState,
    asker: &trust_ops::Asker<'_>,
    number: u32,
    shutdown: bool,
) -> Result<(), ExecError> {
    let records = Ports::records(&state.journal).await;
    let found = records.map_err(ExecError::from).and_then(|records| {
        let record = records
            .iter()
            .find(|record| record.veth == number)
            .ok_or_else(|| ExecError::NotFound(format!("Vethernet{number} does not exist")))?;
        if !record.attached {
            return Err(ExecError::NotAttached(number));
        }
        Ok(record.module)
    });
    let result = match found {
        // Its agent is served here, or by nobody now (it gets the command when it comes back).
        Ok(module) if state.modules.presence().serves(module) || !state.modules.is_online(module) => {
            state.ports.request_port_command(module, number, shutdown);
            Ok(module)
        }
        Ok(module) => {
            let forwarded = crate::cluster::commands::forward(
                state.store.as_ref(),
                &state.lease,
                module,
                number,
                shutdown,
            )
            .await;
            forwarded.map(|()| module).map_err(ExecError::from)
        }
        Err(error) => Err(error),
    };
    let command = cli::ExecCommand::InterfaceVethernetShutdown { number, shutdown }.to_string();
    let entry = AuditEntry::outcome(
        AuditKind::Port,
        asker.caller.audit_name(),
        asker.source.clone(),
        command,
        &result,
        |module| format!("sent to module {module} with its next report"),
    );
    state.audit.record(entry).await;
    result.map(|_| ())
}

async fn interfaces(state: &SupervisorState) -> Result<Vec<InterfaceView>, ExecError> {
    Ok(state.ports.interfaces(&state.journal, &state.modules, &state.fanout).await?)
}

async fn uplinks(state: &SupervisorState) -> Result<Vec<UplinkView>, ExecError> {
    Ok(state.ports.uplinks(&state.journal, &state.modules, &state.fanout).await?)
}

/// Every configured bridge-domain with its members, computed from the store (config, bindings,
/// module records) as any supervisor sharing it would.
pub async fn bridge_domains(state: &SupervisorState) -> Result<Vec<BridgeDomainView>, ExecError> {
    let (config, _) = config_store::read(&state.journal).await?;
    let evaluated = config_store::evaluate(&config);
    let records = Ports::records(&state.journal).await?;
    let modules = state.modules.list(&state.journal).await?;
    let vteps: HashMap<u32, std::net::Ipv4Addr> =
        modules.iter().filter_map(|view| Some((view.record.module, view.record.vtep?))).collect();
    let offline: BTreeSet<u32> = modules
        .iter()
        .filter(|view| view.status == ModuleStatus::Offline)
        .map(|view| view.record.module)
        .collect();
    let map = OverlayMap::compute(
        &OverlayMap::default(),
        &records,
        |profile| evaluated.get(profile).and_then(bridge_domain_of),
        &vteps,
        &offline,
    );
    Ok(bridge_domain_views(&config, &map, &modules))
}

fn no_such_profile(name: Option<String>) -> ExecError {
    ExecError::NotFound(format!("port-profile {} does not exist", name.unwrap_or_default()))
}
