//! Exec commands (`switch#`): the `show` family and the mode commands, as grammar tables.
//!
//! Each row's action builds the [`ExecCommand`] from the row's parameters, so a new command
//! (`show interface vethernet N`, `show mac address-table`, `show port-profile virtual usage`) is
//! one variant and one row; parsing, `?` and completion follow.

use std::fmt;

use config::grammar::{self, Arg, Command, Param, Token, Value, kw, param, plain};

use crate::error::CliError;

/// A parsed exec command: what the supervisor renders, or a mode command for the session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExecCommand {
    /// `show module`
    ShowModule,
    /// `show system redundancy status`: every supervisor sharing the store, and the store.
    ShowSystemRedundancyStatus,
    /// `show port-profile` (all) or `show port-profile name NAME`.
    ShowPortProfile { name: Option<String> },
    /// `show port-profile brief`
    ShowPortProfileBrief,
    /// `show running-config`
    ShowRunningConfig,
    /// `show running-config port-profile [NAME]`
    ShowRunningConfigPortProfile { name: Option<String> },
    /// `show logging logfile`
    ShowLoggingLogfile,
    /// `show accounting log [last N]`: the accounting log, or its newest N entries.
    ShowAccountingLog { last: Option<u32> },
    /// `show interface virtual`: the vEthernets with their adapter, owner, module and host.
    ShowInterfaceVirtual,
    /// `show interface vethernet N`: one vEthernet in detail.
    ShowInterfaceVethernet { number: u32 },
    /// `show interface brief`: one line per interface.
    ShowInterfaceBrief,
    /// `show port-profile virtual usage`: the vEthernets of every port-profile.
    ShowPortProfileVirtualUsage,
    /// `show mac address-table [vlan N]`
    ShowMacAddressTable { vlan: Option<u16> },
    /// `show bridge-domain [NAME [vteps|mac]]`: every bridge-domain (`name` `None`, always the
    /// summary) or one of them, as a summary, its member VTEPs or its MAC table.
    ShowBridgeDomain { name: Option<String>, view: BridgeDomainView },
    /// `show interface ethernet M/K`: uplink K of module M in detail.
    ShowInterfaceEthernet { module: u32, port: u32 },
    /// `show join-tokens`: the join tokens not yet used.
    ShowJoinTokens,
    /// `join-token create [ttl SECONDS]`: a one-time token for enrolling an agent.
    JoinTokenCreate { ttl_seconds: Option<u32> },
    /// `no join-token ID`: deletes an unused token.
    NoJoinToken { id: String },
    /// `revoke module N`: the module's certificates are refused from now on.
    RevokeModule { module: u32 },
    /// `no module N`: remove module N (an agent host that is gone): its record, and its ports
    /// per their port-binding. Refused while the module is online.
    NoModule { module: u32 },
    /// `show ip access-lists [NAME]`: every IPv4 access list (or one), each entry with its
    /// matches summed over every module.
    ShowIpAccessLists { name: Option<String> },
    /// `show ipv6 access-lists [NAME]`: the same for IPv6 access lists.
    ShowIpv6AccessLists { name: Option<String> },
    /// `show port-security`: the vEthernets with port security, their secure MACs and violations.
    ShowPortSecurity,
    /// `show ip dhcp snooping binding`: the addresses DHCP snooping bound, on every module.
    ShowIpDhcpSnoopingBinding,
    /// `show flow exporter`: each flow exporter, with what every module sent.
    ShowFlowExporter,
    /// `show flow monitor [NAME]`: each flow monitor (or one), its record, exporters, timeouts
    /// and the port-profiles that apply it.
    ShowFlowMonitor { name: Option<String> },
    /// `show ip pool [NAME]`: each address pool with its size and use, or one pool's lines and
    /// allocations.
    ShowIpPool { name: Option<String> },
    /// `interface vethernet N` (configuration modes): enter the interface's sub-mode
    /// (`switch(config-if)#`); a session command, no output.
    InterfaceVethernet { number: u32 },
    /// `shutdown` / `no shutdown` in `interface vethernet N`, sent as `interface vethernet N
    /// shutdown` / `interface vethernet N no shutdown`: asks the port's module to keep the port
    /// down / to recover it from error-disabled (port security's `violation shutdown`).
    InterfaceVethernetShutdown { number: u32, shutdown: bool },
    /// `configure terminal`: enter configuration mode (a session command; no output).
    ConfigureTerminal,
    /// `configure session NAME`: enter (making it if need be) configuration session NAME, whose
    /// lines are recorded, not applied, until `commit`.
    ConfigureSession { name: String },
    /// `show configuration session [NAME]`: the caller's sessions (or one) with their lines.
    ShowConfigurationSession { name: Option<String> },
    /// `show configuration session summary`: every session with its owner.
    ShowConfigurationSessionSummary,
    /// `verify` (in a configuration session): check the session against the running config.
    Verify,
    /// `commit` (in a configuration session): apply the session as one transaction; it ends.
    Commit,
    /// `abort` (in a configuration session): discard the session.
    Abort,
    /// `end`: back to exec mode (a session command; no output).
    End,
    /// `exit`: leave the current mode; in exec mode, leave the shell.
    Exit,
}

/// What `show bridge-domain NAME …` shows of one bridge-domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BridgeDomainView {
    /// Name, segment id, state, MAC learning, member ports (`show bridge-domain [NAME]`).
    Summary,
    /// The VTEP addresses with members (`show bridge-domain NAME vteps`).
    Vteps,
    /// The MAC table (`show bridge-domain NAME mac`).
    Mac,
}

impl ExecCommand {
    /// Whether this is a command the supervisor runs (a `show`, or `no module`), as opposed to
    /// a mode command the session handles itself.
    pub fn is_show(&self) -> bool {
        !matches!(
            self,
            Self::ConfigureTerminal
                | Self::ConfigureSession { .. }
                | Self::InterfaceVethernet { .. }
                | Self::Verify
                | Self::Commit
                | Self::Abort
                | Self::End
                | Self::Exit
        )
    }
}

impl fmt::Display for ExecCommand {
    /// The canonical command line (what a shell sends to the supervisor).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShowModule => f.write_str("show module"),
            Self::ShowSystemRedundancyStatus => f.write_str("show system redundancy status"),
            Self::ShowPortProfile { name: None } => f.write_str("show port-profile"),
            Self::ShowPortProfile { name: Some(n) } => write!(f, "show port-profile name {n}"),
            Self::ShowPortProfileBrief => f.write_str("show port-profile brief"),
            Self::ShowRunningConfig => f.write_str("show running-config"),
            Self::ShowRunningConfigPortProfile { name: None } => {
                f.write_str("show running-config port-profile")
            }
            Self::ShowRunningConfigPortProfile { name: Some(n) } => {
                write!(f, "show running-config port-profile {n}")
            }
            Self::ShowLoggingLogfile => f.write_str("show logging logfile"),
            Self::ShowAccountingLog { last: None } => f.write_str("show accounting log"),
            Self::ShowAccountingLog { last: Some(n) } => write!(f, "show accounting log last {n}"),
            Self::ShowInterfaceVirtual => f.write_str("show interface virtual"),
            Self::ShowInterfaceVethernet { number } => write!(f, "show interface vethernet {number}"),
            Self::ShowInterfaceBrief => f.write_str("show interface brief"),
            Self::ShowPortProfileVirtualUsage => f.write_str("show port-profile virtual usage"),
            Self::ShowMacAddressTable { vlan: None } => f.write_str("show mac address-table"),
            Self::ShowMacAddressTable { vlan: Some(vlan) } => write!(f, "show mac address-table vlan {vlan}"),
            // Without a name there is only the summary of all bridge-domains.
            Self::ShowBridgeDomain { name: None, .. } => f.write_str("show bridge-domain"),
            Self::ShowBridgeDomain { name: Some(name), view } => {
                write!(f, "show bridge-domain {name}")?;
                match view {
                    BridgeDomainView::Summary => Ok(()),
                    BridgeDomainView::Vteps => f.write_str(" vteps"),
                    BridgeDomainView::Mac => f.write_str(" mac"),
                }
            }
            Self::ShowInterfaceEthernet { module, port } => {
                write!(f, "show interface ethernet {module}/{port}")
            }
            Self::ShowJoinTokens => f.write_str("show join-tokens"),
            Self::JoinTokenCreate { ttl_seconds: None } => f.write_str("join-token create"),
            Self::JoinTokenCreate { ttl_seconds: Some(ttl) } => write!(f, "join-token create ttl {ttl}"),
            Self::NoJoinToken { id } => write!(f, "no join-token {id}"),
            Self::RevokeModule { module } => write!(f, "revoke module {module}"),
            Self::NoModule { module } => write!(f, "no module {module}"),
            Self::ShowIpAccessLists { name: None } => f.write_str("show ip access-lists"),
            Self::ShowIpAccessLists { name: Some(name) } => write!(f, "show ip access-lists {name}"),
            Self::ShowIpv6AccessLists { name: None } => f.write_str("show ipv6 access-lists"),
            Self::ShowIpv6AccessLists { name: Some(name) } => write!(f, "show ipv6 access-lists {name}"),
            Self::ShowPortSecurity => f.write_str("show port-security"),
            Self::ShowIpDhcpSnoopingBinding => f.write_str("show ip dhcp snooping binding"),
            Self::ShowFlowExporter => f.write_str("show flow exporter"),
            Self::ShowFlowMonitor { name: None } => f.write_str("show flow monitor"),
            Self::ShowFlowMonitor { name: Some(name) } => write!(f, "show flow monitor {name}"),
            Self::ShowIpPool { name: None } => f.write_str("show ip pool"),
            Self::ShowIpPool { name: Some(name) } => write!(f, "show ip pool {name}"),
            Self::InterfaceVethernet { number } => write!(f, "interface vethernet {number}"),
            Self::InterfaceVethernetShutdown { number, shutdown } => {
                let no = if *shutdown { "" } else { "no " };
                write!(f, "interface vethernet {number} {no}shutdown")
            }
            Self::ConfigureTerminal => f.write_str("configure terminal"),
            Self::ConfigureSession { name } => write!(f, "configure session {name}"),
            Self::ShowConfigurationSession { name: None } => f.write_str("show configuration session"),
            Self::ShowConfigurationSession { name: Some(name) } => {
                write!(f, "show configuration session {name}")
            }
            Self::ShowConfigurationSessionSummary => f.write_str("show configuration session summary"),
            Self::Verify => f.write_str("verify"),
            Self::Commit => f.write_str("commit"),
            Self::Abort => f.write_str("abort"),
            Self::End => f.write_str("end"),
            Self::Exit => f.write_str("exit"),
        }
    }
}

/// A row's action: builds the command from the row's parameter values.
pub type Build = fn(&[Arg]) -> ExecCommand;

const SHOW: Token = kw("show", "Show running system information");
const PORT_PROFILE: Token = kw("port-profile", "Show port-profile information");
const RUNNING_CONFIG: Token = kw("running-config", "Current operating configuration");
const PROFILE_NAME: Token =
    param(Param::Name { max: config::language::PROFILE_NAME_MAX }, "Port-profile name");

/// The largest vEthernet number (NX-OS's limit).
pub const VETHERNET_MAX: u32 = 1_048_575;
/// The largest module number `show interface ethernet M/K` accepts.
pub const MODULE_MAX: u32 = 65_535;
/// The largest uplink number K of `EthernetM/K` (uplinks are LTLs 17–48).
pub const UPLINK_MAX: u32 = 32;

const BRIDGE_DOMAIN: Token = kw("bridge-domain", "Show bridge-domain information");
const BRIDGE_DOMAIN_NAME: Token =
    param(Param::Name { max: config::language::BRIDGE_DOMAIN_NAME_MAX }, "Bridge-domain name");

const INTERFACE: Token = kw("interface", "Interface status and configuration");
const ACCOUNTING_LOG: [Token; 3] =
    [SHOW, kw("accounting", "Show accounting information"), kw("log", "Show the accounting log")];
/// The most entries `show accounting log last N` asks for (the log's largest sane retention).
pub const ACCOUNTING_LAST_MAX: u32 = 10_000_000;
const IP: Token = kw("ip", "Display IP information");
const IPV6: Token = kw("ipv6", "Display IPv6 information");
const ACCESS_LISTS: Token = kw("access-lists", "List access lists");
// No `show access-lists` (both families): it would make `sh acc log` ambiguous.
const ACCESS_LIST_NAME: Token = param(Param::Name { max: ACCESS_LIST_NAME_MAX }, "Access list name");
/// The longest access-list name (NX-OS: 64).
pub const ACCESS_LIST_NAME_MAX: usize = 64;
const FLOW: Token = kw("flow", "Show flow (NetFlow/IPFIX) information");
const IP_POOL: Token = kw("pool", "Show address pools and their allocations");
const FLOW_MONITOR: Token = kw("monitor", "Show flow monitors");
const MAC_ADDRESS_TABLE: [Token; 3] =
    [SHOW, kw("mac", "MAC configuration"), kw("address-table", "Show the MAC address table")];

fn number(args: &[Arg]) -> Option<u32> {
    args.iter().find_map(|a| match a.value {
        Value::Number(n) => Some(n),
        _ => None,
    })
}

fn module_port(args: &[Arg]) -> (u32, u32) {
    args.iter()
        .find_map(|a| match a.value {
            Value::ModulePort { module, port } => Some((module, port)),
            _ => None,
        })
        .unwrap_or_default()
}

fn name(args: &[Arg]) -> Option<String> {
    args.iter().find_map(|a| match &a.value {
        Value::Word(w) => Some(w.clone()),
        _ => None,
    })
}

/// `show …` commands: valid in every mode.
pub static SHOW_COMMANDS: &[Command<Build>] = &[
    plain(&[SHOW, kw("module", "Show module information")], |_| ExecCommand::ShowModule),
    plain(
        &[
            SHOW,
            kw("system", "Show system information"),
            kw("redundancy", "Show the supervisors and the store they share"),
            kw("status", "Show redundancy status"),
        ],
        |_| ExecCommand::ShowSystemRedundancyStatus,
    ),
    plain(&[SHOW, PORT_PROFILE], |_| ExecCommand::ShowPortProfile { name: None }),
    plain(&[SHOW, PORT_PROFILE, kw("name", "Show one port-profile"), PROFILE_NAME], |args| {
        ExecCommand::ShowPortProfile { name: name(args) }
    }),
    plain(&[SHOW, PORT_PROFILE, kw("brief", "Show a summary of port-profiles")], |_| {
        ExecCommand::ShowPortProfileBrief
    }),
    plain(&[SHOW, RUNNING_CONFIG], |_| ExecCommand::ShowRunningConfig),
    plain(&[SHOW, RUNNING_CONFIG, kw("port-profile", "Show port-profile configuration")], |_| {
        ExecCommand::ShowRunningConfigPortProfile { name: None }
    }),
    plain(
        &[SHOW, RUNNING_CONFIG, kw("port-profile", "Show port-profile configuration"), PROFILE_NAME],
        |args| ExecCommand::ShowRunningConfigPortProfile { name: name(args) },
    ),
    plain(
        &[
            SHOW,
            kw("logging", "Show logging configuration and contents"),
            kw("logfile", "Show the event log"),
        ],
        |_| ExecCommand::ShowLoggingLogfile,
    ),
    plain(&ACCOUNTING_LOG, |_| ExecCommand::ShowAccountingLog { last: None }),
    plain(
        &[
            ACCOUNTING_LOG[0],
            ACCOUNTING_LOG[1],
            ACCOUNTING_LOG[2],
            kw("last", "Show only the newest entries"),
            param(Param::Number { min: 1, max: ACCOUNTING_LAST_MAX }, "Number of entries"),
        ],
        |args| ExecCommand::ShowAccountingLog { last: number(args) },
    ),
    plain(&[SHOW, INTERFACE, kw("virtual", "Show virtual interfaces (vEthernets)")], |_| {
        ExecCommand::ShowInterfaceVirtual
    }),
    plain(
        &[
            SHOW,
            INTERFACE,
            kw("vethernet", "Vethernet interface"),
            param(Param::Number { min: 1, max: VETHERNET_MAX }, "Vethernet number"),
        ],
        |args| ExecCommand::ShowInterfaceVethernet { number: number(args).unwrap_or_default() },
    ),
    plain(&[SHOW, INTERFACE, kw("brief", "Show brief info of interfaces")], |_| {
        ExecCommand::ShowInterfaceBrief
    }),
    plain(
        &[
            SHOW,
            INTERFACE,
            kw("ethernet", "Ethernet interface (uplink)"),
            param(Param::ModulePort { max_module: MODULE_MAX, max_port: UPLINK_MAX }, "Module/port number"),
        ],
        |args| {
            let (module, port) = module_port(args);
            ExecCommand::ShowInterfaceEthernet { module, port }
        },
    ),
    plain(&[SHOW, BRIDGE_DOMAIN], |_| ExecCommand::ShowBridgeDomain {
        name: None,
        view: BridgeDomainView::Summary,
    }),
    plain(&[SHOW, BRIDGE_DOMAIN, BRIDGE_DOMAIN_NAME], |args| ExecCommand::ShowBridgeDomain {
        name: name(args),
        view: BridgeDomainView::Summary,
    }),
    plain(&[SHOW, BRIDGE_DOMAIN, BRIDGE_DOMAIN_NAME, kw("vteps", "Show the VTEPs with members")], |args| {
        ExecCommand::ShowBridgeDomain { name: name(args), view: BridgeDomainView::Vteps }
    }),
    plain(&[SHOW, BRIDGE_DOMAIN, BRIDGE_DOMAIN_NAME, kw("mac", "Show the MAC address table")], |args| {
        ExecCommand::ShowBridgeDomain { name: name(args), view: BridgeDomainView::Mac }
    }),
    plain(
        &[
            SHOW,
            PORT_PROFILE,
            kw("virtual", "Show virtual ports of port-profiles"),
            kw("usage", "Show the vEthernets using each port-profile"),
        ],
        |_| ExecCommand::ShowPortProfileVirtualUsage,
    ),
    plain(&[SHOW, IP, ACCESS_LISTS], |_| ExecCommand::ShowIpAccessLists { name: None }),
    plain(&[SHOW, IP, ACCESS_LISTS, ACCESS_LIST_NAME], |args| ExecCommand::ShowIpAccessLists {
        name: name(args),
    }),
    plain(&[SHOW, IPV6, ACCESS_LISTS], |_| ExecCommand::ShowIpv6AccessLists { name: None }),
    plain(&[SHOW, IPV6, ACCESS_LISTS, ACCESS_LIST_NAME], |args| ExecCommand::ShowIpv6AccessLists {
        name: name(args),
    }),
    plain(&[SHOW, kw("port-security", "Show port security information")], |_| ExecCommand::ShowPortSecurity),
    plain(
        &[
            SHOW,
            IP,
            kw("dhcp", "Show DHCP information"),
            kw("snooping", "Show DHCP snooping information"),
            kw("binding", "Show the DHCP snooping bindings"),
        ],
        |_| ExecCommand::ShowIpDhcpSnoopingBinding,
    ),
    plain(&[SHOW, FLOW, kw("exporter", "Show flow exporters and their statistics")], |_| {
        ExecCommand::ShowFlowExporter
    }),
    plain(&[SHOW, IP, IP_POOL], |_| ExecCommand::ShowIpPool { name: None }),
    plain(
        &[SHOW, IP, IP_POOL, param(Param::Name { max: config::ip_pool::POOL_NAME_MAX }, "Pool name")],
        |args| ExecCommand::ShowIpPool { name: name(args) },
    ),
    plain(&[SHOW, FLOW, FLOW_MONITOR], |_| ExecCommand::ShowFlowMonitor { name: None }),
    plain(
        &[
            SHOW,
            FLOW,
            FLOW_MONITOR,
            param(Param::Name { max: config::flow::FLOW_NAME_MAX }, "Flow monitor name"),
        ],
        |args| ExecCommand::ShowFlowMonitor { name: name(args) },
    ),
    plain(&MAC_ADDRESS_TABLE, |_| ExecCommand::ShowMacAddressTable { vlan: None }),
    plain(
        &[
            MAC_ADDRESS_TABLE[0],
            MAC_ADDRESS_TABLE[1],
            MAC_ADDRESS_TABLE[2],
            kw("vlan", "Show the entries of one VLAN"),
            param(Param::VlanId, "VLAN id"),
        ],
        |args| ExecCommand::ShowMacAddressTable {
            vlan: number(args).and_then(|vlan| u16::try_from(vlan).ok()),
        },
    ),
];

/// The longest a join token may live, in seconds (7 days).
pub const JOIN_TOKEN_TTL_MAX: u32 = 604_800;
const JOIN_TOKEN: Token = kw("join-token", "Tokens that let agents enrol");

/// Agent enrolment: exec mode only.
pub static JOIN_TOKENS: &[Command<Build>] = &[
    plain(&[SHOW, kw("join-tokens", "Show the join tokens not yet used")], |_| ExecCommand::ShowJoinTokens),
    plain(&[JOIN_TOKEN, kw("create", "Create a one-time join token")], |_| ExecCommand::JoinTokenCreate {
        ttl_seconds: None,
    }),
    plain(
        &[
            JOIN_TOKEN,
            kw("create", "Create a one-time join token"),
            kw("ttl", "How long the token stays valid"),
            param(Param::Number { min: 1, max: JOIN_TOKEN_TTL_MAX }, "Seconds (default 86400)"),
        ],
        |args| ExecCommand::JoinTokenCreate { ttl_seconds: number(args) },
    ),
    plain(
        &[
            kw("no", "Negate a command or remove something"),
            JOIN_TOKEN,
            param(Param::Name { max: 16 }, "Token id (the part before the dot)"),
        ],
        |args| ExecCommand::NoJoinToken { id: name(args).unwrap_or_default() },
    ),
    plain(
        &[
            kw("revoke", "Stop trusting a host"),
            kw("module", "Revoke a module's certificates (it cannot reconnect; its ports are released)"),
            param(Param::Number { min: 3, max: MODULE_MAX }, "Module number"),
        ],
        |args| ExecCommand::RevokeModule { module: number(args).unwrap_or_default() },
    ),
];
/// The lowest module number of an agent (supervisors are 1 and 2).
pub const FIRST_AGENT_MODULE: u32 = 3;

/// `no module N`: exec mode only (NX-OS's `no vem N`). `no` is a plain keyword here: no exec
/// command has a positive form to negate.
pub static MODULE_COMMANDS: &[Command<Build>] = &[plain(
    &[
        kw("no", "Negate a command or remove something"),
        kw("module", "Remove a module (an agent host that is gone)"),
        param(Param::Number { min: FIRST_AGENT_MODULE, max: MODULE_MAX }, "Module number"),
    ],
    |args| ExecCommand::NoModule { module: number(args).unwrap_or_default() },
)];

/// The longest configuration session name (NX-OS's limit).
pub const SESSION_NAME_MAX: usize = 63;
const CONFIGURE_WORD: Token = kw("configure", "Enter configuration mode");
const SESSION_NAME: Token = param(Param::Name { max: SESSION_NAME_MAX }, "Session name");
const CONFIGURATION_SESSION: [Token; 3] = [
    SHOW,
    kw("configuration", "Show configuration sessions"),
    kw("session", "Configuration sessions (configure session NAME)"),
];

/// `configure terminal`, `configure session NAME`: exec mode only.
pub static CONFIGURE: &[Command<Build>] = &[
    plain(&[CONFIGURE_WORD, kw("terminal", "Configure from the terminal")], |_| {
        ExecCommand::ConfigureTerminal
    }),
    plain(
        &[
            CONFIGURE_WORD,
            kw("session", "Configure in a session: verify, then commit or abort"),
            SESSION_NAME,
        ],
        |args| ExecCommand::ConfigureSession { name: name(args).unwrap_or_default() },
    ),
];

/// `show configuration session …`: every mode.
pub static SESSION_SHOWS: &[Command<Build>] = &[
    plain(&CONFIGURATION_SESSION, |_| ExecCommand::ShowConfigurationSession { name: None }),
    plain(
        &[
            CONFIGURATION_SESSION[0],
            CONFIGURATION_SESSION[1],
            CONFIGURATION_SESSION[2],
            kw("summary", "Show every session with its owner"),
        ],
        |_| ExecCommand::ShowConfigurationSessionSummary,
    ),
    plain(
        &[CONFIGURATION_SESSION[0], CONFIGURATION_SESSION[1], CONFIGURATION_SESSION[2], SESSION_NAME],
        |args| ExecCommand::ShowConfigurationSession { name: name(args) },
    ),
];

/// `verify`, `commit`, `abort`: configuration modes of a session (the session refuses them
/// elsewhere).
pub static SESSION_COMMANDS: &[Command<Build>] = &[
    plain(&[kw("verify", "Check the session against the running configuration")], |_| ExecCommand::Verify),
    plain(&[kw("commit", "Apply the session as one transaction and end it")], |_| ExecCommand::Commit),
    plain(&[kw("abort", "Discard the session and go to exec mode")], |_| ExecCommand::Abort),
];

/// `end` and `exit`: every mode.
pub static LEAVE: &[Command<Build>] = &[
    plain(&[kw("end", "Go to exec mode")], |_| ExecCommand::End),
    plain(&[kw("exit", "Exit from the current mode")], |_| ExecCommand::Exit),
];

const INTERFACE_WORD: Token = kw("interface", "Select an interface to configure");
const VETHERNET: Token = kw("vethernet", "Vethernet interface");
const VETHERNET_NUMBER: Token = param(Param::Number { min: 1, max: VETHERNET_MAX }, "Vethernet number");
const SHUTDOWN: Token = kw("shutdown", "Keep the interface down (an error-disabled one stays so)");
const NO: Token = kw("no", "Negate a command or set its defaults");

/// `interface vethernet N`: configuration modes, entering the interface's sub-mode.
pub static INTERFACE_ENTER: &[Command<Build>] =
    &[plain(&[INTERFACE_WORD, VETHERNET, VETHERNET_NUMBER], |args| ExecCommand::InterfaceVethernet {
        number: number(args).unwrap_or_default(),
    })];

/// `shutdown`, `no shutdown`: the interface sub-mode. The session puts in the interface's
/// number (the rows build number 0).
pub static INTERFACE_MODE_COMMANDS: &[Command<Build>] = &[
    plain(&[SHUTDOWN], |_| ExecCommand::InterfaceVethernetShutdown { number: 0, shutdown: true }),
    plain(&[NO, kw("shutdown", "Bring the interface back (from error-disabled)")], |_| {
        ExecCommand::InterfaceVethernetShutdown { number: 0, shutdown: false }
    }),
];

/// The canonical forms of the interface sub-mode's commands, which a shell sends to the
/// supervisor: `interface vethernet N shutdown`, `interface vethernet N no shutdown`.
pub static INTERFACE_EXEC: &[Command<Build>] = &[
    plain(&[INTERFACE_WORD, VETHERNET, VETHERNET_NUMBER, SHUTDOWN], |args| {
        ExecCommand::InterfaceVethernetShutdown { number: number(args).unwrap_or_default(), shutdown: true }
    }),
    plain(
        &[INTERFACE_WORD, VETHERNET, VETHERNET_NUMBER, NO, kw("shutdown", "Bring the interface back")],
        |args| ExecCommand::InterfaceVethernetShutdown {
            number: number(args).unwrap_or_default(),
            shutdown: false,
        },
    ),
];

/// The tables of exec mode, as typed.
pub(crate) const EXEC_MODE: &[&[Command<Build>]] =
    &[SHOW_COMMANDS, SESSION_SHOWS, JOIN_TOKENS, MODULE_COMMANDS, CONFIGURE, LEAVE];
/// What the supervisor accepts: exec mode and the canonical forms of sub-mode commands.
const SUPERVISOR: &[&[Command<Build>]] =
    &[SHOW_COMMANDS, SESSION_SHOWS, JOIN_TOKENS, MODULE_COMMANDS, CONFIGURE, INTERFACE_EXEC, LEAVE];
/// The exec commands valid inside configuration modes (without `do`).
pub(crate) const IN_CONFIG_MODE: &[&[Command<Build>]] =
    &[SHOW_COMMANDS, SESSION_SHOWS, SESSION_COMMANDS, INTERFACE_ENTER, LEAVE];
/// The commands of the interface sub-mode (`switch(config-if)#`).
pub(crate) const IN_INTERFACE_MODE: &[&[Command<Build>]] =
    &[SHOW_COMMANDS, SESSION_SHOWS, INTERFACE_MODE_COMMANDS, INTERFACE_ENTER, LEAVE];

/// Parses an exec command line as the supervisor receives it from a shell: an exec-mode
/// command, or the canonical form of an interface sub-mode command (`interface vethernet N no
/// shutdown`).
pub fn parse_exec(line: &str) -> Result<ExecCommand, CliError> {
    parse_in(SUPERVISOR, line).map_err(|e| CliError::from_match(&e, e.column))
}

pub(crate) fn parse_in(tables: &[&[Command<Build>]], line: &str) -> Result<ExecCommand, grammar::MatchError> {
    grammar::match_line(tables, line).map(|m| (m.command.action)(&m.args))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_every_command_and_prints_it_back() {
        let cases = [
            ("show module", ExecCommand::ShowModule),
            ("show system redundancy status", ExecCommand::ShowSystemRedundancyStatus),
            ("show join-tokens", ExecCommand::ShowJoinTokens),
            ("join-token create", ExecCommand::JoinTokenCreate { ttl_seconds: None }),
            ("join-token create ttl 600", ExecCommand::JoinTokenCreate { ttl_seconds: Some(600) }),
            ("no join-token abcdef", ExecCommand::NoJoinToken { id: "abcdef".into() }),
            ("revoke module 3", ExecCommand::RevokeModule { module: 3 }),
            ("show port-profile", ExecCommand::ShowPortProfile { name: None }),
            ("show port-profile name web", ExecCommand::ShowPortProfile { name: Some("web".into()) }),
            ("show port-profile brief", ExecCommand::ShowPortProfileBrief),
            ("show running-config", ExecCommand::ShowRunningConfig),
            ("show running-config port-profile", ExecCommand::ShowRunningConfigPortProfile { name: None }),
            (
                "show running-config port-profile web",
                ExecCommand::ShowRunningConfigPortProfile { name: Some("web".into()) },
            ),
            ("show logging logfile", ExecCommand::ShowLoggingLogfile),
            ("show accounting log", ExecCommand::ShowAccountingLog { last: None }),
            ("show accounting log last 5", ExecCommand::ShowAccountingLog { last: Some(5) }),
            ("show interface virtual", ExecCommand::ShowInterfaceVirtual),
            ("show interface vethernet 12", ExecCommand::ShowInterfaceVethernet { number: 12 }),
            ("show interface brief", ExecCommand::ShowInterfaceBrief),
            ("show port-profile virtual usage", ExecCommand::ShowPortProfileVirtualUsage),
            ("show mac address-table", ExecCommand::ShowMacAddressTable { vlan: None }),
            ("show mac address-table vlan 100", ExecCommand::ShowMacAddressTable { vlan: Some(100) }),
            (
                "show bridge-domain",
                ExecCommand::ShowBridgeDomain { name: None, view: BridgeDomainView::Summary },
            ),
            (
                "show bridge-domain red",
                ExecCommand::ShowBridgeDomain { name: Some("red".into()), view: BridgeDomainView::Summary },
            ),
            (
                "show bridge-domain red vteps",
                ExecCommand::ShowBridgeDomain { name: Some("red".into()), view: BridgeDomainView::Vteps },
            ),
            (
                "show bridge-domain red mac",
                ExecCommand::ShowBridgeDomain { name: Some("red".into()), view: BridgeDomainView::Mac },
            ),
            ("show interface ethernet 3/1", ExecCommand::ShowInterfaceEthernet { module: 3, port: 1 }),
            ("no module 3", ExecCommand::NoModule { module: 3 }),
            ("show ip access-lists", ExecCommand::ShowIpAccessLists { name: None }),
            ("show ip access-lists WEB-IN", ExecCommand::ShowIpAccessLists { name: Some("WEB-IN".into()) }),
            ("show ipv6 access-lists", ExecCommand::ShowIpv6AccessLists { name: None }),
            ("show ipv6 access-lists W6", ExecCommand::ShowIpv6AccessLists { name: Some("W6".into()) }),
            ("show flow monitor", ExecCommand::ShowFlowMonitor { name: None }),
            ("show flow monitor MON", ExecCommand::ShowFlowMonitor { name: Some("MON".into()) }),
            ("show ip pool", ExecCommand::ShowIpPool { name: None }),
            ("show ip pool web-pool", ExecCommand::ShowIpPool { name: Some("web-pool".into()) }),
            (
                "interface vethernet 7 shutdown",
                ExecCommand::InterfaceVethernetShutdown { number: 7, shutdown: true },
            ),
            (
                "interface vethernet 7 no shutdown",
                ExecCommand::InterfaceVethernetShutdown { number: 7, shutdown: false },
            ),
            ("configure terminal", ExecCommand::ConfigureTerminal),
            ("configure session s-1", ExecCommand::ConfigureSession { name: "s-1".into() }),
            ("show configuration session", ExecCommand::ShowConfigurationSession { name: None }),
            (
                "show configuration session s1",
                ExecCommand::ShowConfigurationSession { name: Some("s1".into()) },
            ),
            ("show configuration session summary", ExecCommand::ShowConfigurationSessionSummary),
            ("end", ExecCommand::End),
            ("exit", ExecCommand::Exit),
        ];
        for (line, want) in cases {
            let got = parse_exec(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            assert_eq!(got, want);
            assert_eq!(got.to_string(), line);
        }
    }

    #[test]
    fn abbreviations() {
        assert_eq!(parse_exec("sh run").unwrap(), ExecCommand::ShowRunningConfig);
        assert_eq!(parse_exec("conf t").unwrap(), ExecCommand::ConfigureTerminal);
        assert_eq!(parse_exec("sh mod").unwrap(), ExecCommand::ShowModule);
        assert_eq!(parse_exec("sh port-p br").unwrap(), ExecCommand::ShowPortProfileBrief);
        assert_eq!(parse_exec("sh log log").unwrap(), ExecCommand::ShowLoggingLogfile);
        assert_eq!(parse_exec("sh acc log la 3").unwrap(), ExecCommand::ShowAccountingLog { last: Some(3) });
        assert!(parse_exec("show accounting log last 0").is_err());
        assert_eq!(parse_exec("sh int br").unwrap(), ExecCommand::ShowInterfaceBrief);
        assert_eq!(parse_exec("sh int virt").unwrap(), ExecCommand::ShowInterfaceVirtual);
        assert_eq!(parse_exec("sh int veth 3").unwrap(), ExecCommand::ShowInterfaceVethernet { number: 3 });
        assert_eq!(parse_exec("sh port-p v u").unwrap(), ExecCommand::ShowPortProfileVirtualUsage);
        assert_eq!(
            parse_exec("sh int eth 3/1").unwrap(),
            ExecCommand::ShowInterfaceEthernet { module: 3, port: 1 }
        );
        assert_eq!(
            parse_exec("SH INT E 4/2").unwrap(),
            ExecCommand::ShowInterfaceEthernet { module: 4, port: 2 }
        );
        assert_eq!(
            parse_exec("sh bridge red v").unwrap(),
            ExecCommand::ShowBridgeDomain { name: Some("red".into()), view: BridgeDomainView::Vteps }
        );
        assert_eq!(
            parse_exec("sh br red m").unwrap(),
            ExecCommand::ShowBridgeDomain { name: Some("red".into()), view: BridgeDomainView::Mac }
        );
        assert_eq!(
            parse_exec("sh mac add vl 7").unwrap(),
            ExecCommand::ShowMacAddressTable { vlan: Some(7) }
        );
    }

    #[test]
    fn interface_numbers_and_vlans_are_checked() {
        assert_eq!(parse_exec("show interface vethernet 0").unwrap_err().column, 26);
        assert!(parse_exec("show interface vethernet 1048576").is_err());
        assert!(parse_exec("show interface vethernet").is_err());
        assert_eq!(parse_exec("show mac address-table vlan 4095").unwrap_err().column, 29);
        assert!(parse_exec("show interface").is_err());
        // switch# show interface ethernet 3/33
        //                                   ^
        let e = parse_exec("show interface ethernet 3/33").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (27, "Invalid command at '^' marker."));
        assert_eq!(
            e.detail.as_deref(),
            Some("invalid port '33': expected module/port like 3/1 (module 1-65535, port 1-32)")
        );
        assert_eq!(parse_exec("show interface ethernet 0/1").unwrap_err().column, 25);
        assert_eq!(parse_exec("show interface ethernet 3").unwrap_err().column, 25);
        let e = parse_exec("show interface ethernet").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (25, "Incomplete command at '^' marker."));
        // A bridge-domain name is one word; after it only `vteps` or `mac`.
        let e = parse_exec("show bridge-domain red bogus").unwrap_err();
        assert_eq!(e.column, 24);
        assert_eq!(e.detail.as_deref(), Some("invalid word 'bogus': expected vteps or mac"));
        assert!(parse_exec("show bridge-domain red mac x").is_err());
    }

    #[test]
    fn errors_have_nx_os_columns() {
        // switch# show modul x
        //                    ^
        let e = parse_exec("show modul x").unwrap_err();
        assert_eq!(e.column, 12);
        assert_eq!(e.message, "Invalid command at '^' marker.");
        let e = parse_exec("show").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (6, "Incomplete command at '^' marker."));
        let e = parse_exec("show port-profile name").unwrap_err();
        assert_eq!(e.column, 24);
        let e = parse_exec("e").unwrap_err();
        assert_eq!(e.message, "Ambiguous command at '^' marker.");
        let e = parse_exec("vlan 5").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(parse_exec("no show module").is_err());
        // Modules 1 and 2 are supervisors.
        assert_eq!(parse_exec("no module 2").unwrap_err().column, 11);
        assert!(parse_exec("no module").is_err());
        assert_eq!(parse_exec("n mod 4").unwrap(), ExecCommand::NoModule { module: 4 });
    }
}
