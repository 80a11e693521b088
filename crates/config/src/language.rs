//! The NX-OS configuration commands Switchyard understands, as grammar tables.
//!
//! One table per mode: global configuration (`switch(config)#`), the VLAN, bridge-domain and
//! port-profile sub-modes, the access-list and flow exporter/monitor sub-modes, plus
//! `end`/`exit`, valid everywhere. The policy lines have tables of their own
//! ([`CONFIG_POLICY`], [`PROFILE_POLICY`]) tried after their mode's first table. An access-list
//! entry's text after `permit`/`deny` is one parameter ([`Param::Ace`], read by
//! [`crate::ace::parse_ace`]): too many forms for a row each. A new command is one row here and
//! one arm in `apply`'s executor; parsing, `?` help and tab completion follow from the row.

use crate::acl::{ACL_NAME_MAX, Action, Family, SEQUENCE_MAX, SEQUENCE_MIN};
use crate::flow::{
    CACHE_SIZE_MAX, CACHE_SIZE_MIN, FLOW_DESCRIPTION_MAX, FLOW_NAME_MAX, FlowExportVersion, TIMEOUT_MAX,
    TIMEOUT_MIN,
};
use crate::grammar::{
    self, Candidate, Command, MatchError, Param, Token, Value, kw, negatable, no_only, param, plain,
};
use crate::ip_pool::POOL_NAME_MAX;
use crate::model::{
    Direction, PortBinding, ProfileType, Role, SEGMENT_ID_MAX, SEGMENT_ID_MIN, StormKind, SwitchportMode,
    Violation,
};

/// Longest port-profile name NX-OS accepts.
pub const PROFILE_NAME_MAX: usize = 80;
/// Longest port-profile description NX-OS accepts.
pub const DESCRIPTION_MAX: usize = 80;
/// Longest VLAN name NX-OS accepts.
pub const VLAN_NAME_MAX: usize = 32;
/// Longest bridge-domain name the Nexus 1000V accepts.
pub const BRIDGE_DOMAIN_NAME_MAX: usize = 32;
/// Longest user name NX-OS accepts.
pub const USER_NAME_MAX: usize = 28;
/// Longest clear-text password accepted.
pub const PASSWORD_MAX: usize = 64;
/// Longest password hash accepted (an argon2id PHC string is about 100 characters).
pub const PASSWORD_HASH_MAX: usize = 256;
/// Smallest `max-ports`.
pub const MAX_PORTS_MIN: u32 = 1;
/// Largest `max-ports`.
pub const MAX_PORTS_MAX: u32 = 1024;
/// Smallest `switchport port-security maximum`.
pub const PORT_SECURITY_MAX_MIN: u32 = 1;
/// Largest `switchport port-security maximum` (the Nexus 1000V's).
pub const PORT_SECURITY_MAX_MAX: u32 = 1025;
/// Smallest `storm-control … level pps`.
pub const STORM_PPS_MIN: u32 = 1;
/// Largest `storm-control … level pps`.
pub const STORM_PPS_MAX: u32 = 100_000_000;

/// A configuration mode: where a line is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Global configuration: `switch(config)#`, or an unindented line of a script.
    Config,
    /// Under `vlan <ranges>`: `switch(config-vlan)#`.
    Vlan,
    /// Under `bridge-domain NAME`: `switch(config-bd)#`.
    BridgeDomain,
    /// Under `port-profile …`: `switch(config-port-prof)#`.
    PortProfile,
    /// Under `ip access-list NAME`: `switch(config-acl)#`.
    IpAccessList,
    /// Under `ipv6 access-list NAME`: `switch(config-ipv6-acl)#`.
    Ipv6AccessList,
    /// Under `flow exporter NAME`: `switch(config-flow-exporter)#`.
    FlowExporter,
    /// Under `flow monitor NAME`: `switch(config-flow-monitor)#`.
    FlowMonitor,
    /// Under `ip pool NAME`: `switch(config-ip-pool)#`.
    IpPool,
}

impl Mode {
    /// The mode's part of the prompt: `config`, `config-vlan`, `config-bd`, `config-port-prof`.
    pub fn prompt_name(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Vlan => "config-vlan",
            Self::BridgeDomain => "config-bd",
            Self::PortProfile => "config-port-prof",
            Self::IpAccessList => "config-acl",
            Self::Ipv6AccessList => "config-ipv6-acl",
            Self::FlowExporter => "config-flow-exporter",
            Self::FlowMonitor => "config-flow-monitor",
            Self::IpPool => "config-ip-pool",
        }
    }

    /// The access-list sub-mode of `family`.
    pub fn access_list(family: Family) -> Self {
        match family {
            Family::Ipv4 => Self::IpAccessList,
            Family::Ipv6 => Self::Ipv6AccessList,
        }
    }
}

/// How `switchport trunk allowed vlan …` changes the allowed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkEdit {
    /// `<ranges>`: exactly these.
    Set,
    /// `add <ranges>`.
    Add,
    /// `remove <ranges>`.
    Remove,
    /// `except <ranges>`: every VLAN but these.
    Except,
    /// `all`.
    All,
    /// `none`.
    None,
}

/// What a configuration line does (the action of a table row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `configure terminal` (accepted in scripts so a pasted session parses; does nothing).
    ConfigureTerminal,
    /// `end`: leave configuration.
    End,
    /// `exit`: leave the sub-mode.
    Exit,
    /// `vlan <ranges>`: create and enter; `no vlan <ranges>` deletes.
    Vlan,
    /// `bridge-domain NAME`: create and enter; `no bridge-domain NAME` deletes.
    BridgeDomain,
    /// `port-profile [type vethernet|ethernet] NAME`: create and enter; `no …` deletes.
    /// `None` is the short form, which enters an existing profile of either type and creates
    /// a vethernet one, like NX-OS.
    PortProfile(Option<ProfileType>),
    /// `no port-profile NAME force`: delete it even while vEthernets are assigned to it (they go
    /// down, `port-profile not found`). Plain `no port-profile NAME` is refused then, as NX-OS
    /// refuses it; the supervisor, which knows the ports, does the refusing.
    PortProfileForce(Option<ProfileType>),
    /// `name TEXT` in the VLAN sub-mode.
    VlanName,
    /// `segment id N` in the bridge-domain sub-mode; `no segment id` unsets it.
    SegmentId,
    Description,
    SwitchportMode(SwitchportMode),
    AccessVlan,
    /// `switchport access bridge-domain NAME`; `no switchport access bridge-domain` unsets it.
    AccessBridgeDomain,
    TrunkAllowed(TrunkEdit),
    TrunkNative,
    /// `channel-group auto mode on mac-pinning`.
    ChannelGroup,
    Inherit,
    MaxPorts,
    PortBinding(PortBinding),
    SystemVlan,
    /// `shutdown`; `no shutdown` sets it to false (and prints), it does not unset it.
    Shutdown,
    /// `state enabled`; `no state enabled` disables.
    StateEnabled,
    /// `username NAME password [0|5] SECRET role ROLE`; `no username NAME` removes the account.
    /// `hashed`: the `password 5` form, whose word is a hash rather than the password.
    Username {
        hashed: bool,
        role: Role,
    },
    /// `ip access-list NAME` / `ipv6 access-list NAME`: create and enter; `no …` deletes.
    AccessList(Family),
    /// `resequence ip|ipv6 access-list NAME START STEP`: renumber the entries.
    Resequence(Family),
    /// `[SEQ] permit|deny …` in an access list; `no SEQ` and `no permit|deny …` delete one.
    /// `numbered`: the line starts with its sequence number.
    Ace {
        action: Action,
        numbered: bool,
    },
    /// `statistics per-entry` in an access list.
    StatisticsPerEntry,
    /// `ip dhcp snooping` (global).
    DhcpSnooping,
    /// `flow exporter NAME`: create and enter; `no …` deletes.
    FlowExporter,
    /// `flow monitor NAME`: create and enter; `no …` deletes.
    FlowMonitor,
    /// `description TEXT` of a flow exporter or monitor.
    FlowDescription,
    /// `destination A` of a flow exporter.
    FlowDestination,
    /// `transport udp PORT` of a flow exporter.
    FlowTransport,
    /// `version 9|ipfix` of a flow exporter.
    FlowVersion(FlowExportVersion),
    /// `dscp N` of a flow exporter.
    FlowDscp,
    /// `record netflow-original` of a flow monitor.
    FlowRecord,
    /// `exporter NAME` of a flow monitor (`no exporter NAME` removes that one).
    MonitorExporter,
    /// `timeout active S` of a flow monitor.
    TimeoutActive,
    /// `timeout inactive S` of a flow monitor.
    TimeoutInactive,
    /// `cache size N` of a flow monitor.
    CacheSize,
    /// `ip port access-group NAME in|out`, `ipv6 port traffic-filter NAME in|out`.
    AccessGroup(Family, Direction),
    /// `switchport port-security`.
    PortSecurity,
    /// `switchport port-security maximum N`.
    PortSecurityMaximum,
    /// `switchport port-security violation …`.
    PortSecurityViolation(Violation),
    /// `switchport port-security mac-address sticky`.
    PortSecuritySticky,
    /// `ip verify source [dhcp-snooping-vlan]`.
    VerifySource,
    /// `ip arp inspection`.
    ArpInspection,
    /// `ip dhcp snooping trust`.
    DhcpSnoopingTrust,
    /// `storm-control broadcast|multicast|unicast level pps N`.
    StormControl(StormKind),
    /// `ip flow monitor NAME input|output`.
    ProfileFlowMonitor(Direction),
    /// `ip pool NAME` (global): create and enter; `no …` deletes.
    IpPool,
    /// `network A.B.C.D/LEN` of an ip pool.
    PoolNetwork,
    /// `default-router A.B.C.D` of an ip pool.
    PoolDefaultRouter,
    /// `range A B` of an ip pool (`no range A B` removes that one).
    PoolRange,
    /// `exclude A [B]` of an ip pool (`no exclude A [B]` removes that one).
    PoolExclude,
    /// `ip pool NAME` in a port-profile: its ports' addresses come from that pool.
    ProfileIpPool,
}

impl Op {
    /// The sub-mode a line enters (`vlan 100`, `bridge-domain red`, `port-profile web`; not
    /// their `no` forms).
    pub fn enters(self, negated: bool) -> Option<Mode> {
        match (self, negated) {
            (Self::Vlan, false) => Some(Mode::Vlan),
            (Self::BridgeDomain, false) => Some(Mode::BridgeDomain),
            (Self::PortProfile(_), false) => Some(Mode::PortProfile),
            (Self::AccessList(family), false) => Some(Mode::access_list(family)),
            (Self::FlowExporter, false) => Some(Mode::FlowExporter),
            (Self::FlowMonitor, false) => Some(Mode::FlowMonitor),
            (Self::IpPool, false) => Some(Mode::IpPool),
            _ => None,
        }
    }
}

const VLAN_RANGES: Token = param(Param::VlanRanges, "VLAN id 1-4094 or ranges, e.g. 1-5,7,100-109");
const VLAN_ID: Token = param(Param::VlanId, "VLAN id");
const PROFILE_NAME: Token = param(Param::Name { max: PROFILE_NAME_MAX }, "Port-profile name (max size 80)");
const BRIDGE_DOMAIN_NAME: Token =
    param(Param::Name { max: BRIDGE_DOMAIN_NAME_MAX }, "Bridge-domain name (max size 32)");
const PORT_PROFILE: Token = kw("port-profile", "Configure a port-profile");
const USERNAME: Token = kw("username", "Configure an operator account");
const USER_NAME: Token = param(Param::Name { max: USER_NAME_MAX }, "User name (max size 28)");
const PASSWORD: Token = kw("password", "Set the account's password");
const CLEAR: Token = kw("0", "The password follows in clear text (it is stored hashed)");
const HASHED: Token = kw("5", "A hashed password follows, as show running-config prints it");
const SECRET: Token = param(Param::Secret { max: PASSWORD_MAX }, "The password (max size 64)");
const HASH: Token = param(Param::Secret { max: PASSWORD_HASH_MAX }, "The password's argon2id hash");
const ROLE: Token = kw("role", "Set the account's role");
const NETWORK_ADMIN: Token = kw("network-admin", "Show and change everything");
const NETWORK_OPERATOR: Token = kw("network-operator", "Read-only: show commands");
const TYPE: Token = kw("type", "Port-profile type");
const VLAN: Token = kw("vlan", "Configure VLANs");
const SWITCHPORT: Token = kw("switchport", "Configure switchport parameters");
const MODE: Token = kw("mode", "Set the switchport mode");
const TRUNK: Token = kw("trunk", "Configure trunking parameters");
const ALLOWED: Token = kw("allowed", "Set the VLANs allowed on the trunk");
const TRUNK_VLAN: Token = kw("vlan", "VLANs allowed on the trunk");
const PORT_BINDING: Token = kw("port-binding", "What happens to vEthernet numbers on detach");
const STATE: Token = kw("state", "Port-profile state");
const VETHERNET: Token = kw("vethernet", "Port-profile for vEthernet (container/VM) ports");
const ETHERNET: Token = kw("ethernet", "Port-profile for uplinks (host NICs)");
const FORCE: Token = kw("force", "Delete it even while vEthernets are assigned to it");
const IP: Token = kw("ip", "Configure IP features");
const IPV6: Token = kw("ipv6", "Configure IPv6 features");
const ACCESS_LIST: Token = kw("access-list", "Configure an access list");
const ACL_NAME: Token = param(Param::Name { max: ACL_NAME_MAX }, "Access-list name (max size 64)");
const SEQUENCE: Token =
    param(Param::Number { min: SEQUENCE_MIN, max: SEQUENCE_MAX }, "Sequence number of the entry");
const PERMIT: Token = kw("permit", "Specify packets to forward");
const DENY: Token = kw("deny", "Specify packets to drop");
const ACE_V4_PERMIT: Token =
    param(Param::Ace { family: Family::Ipv4, action: Action::Permit }, "Protocol, source, destination");
const ACE_V4_DENY: Token =
    param(Param::Ace { family: Family::Ipv4, action: Action::Deny }, "Protocol, source, destination");
const ACE_V6_PERMIT: Token =
    param(Param::Ace { family: Family::Ipv6, action: Action::Permit }, "Protocol, source, destination");
const ACE_V6_DENY: Token =
    param(Param::Ace { family: Family::Ipv6, action: Action::Deny }, "Protocol, source, destination");
const RESEQUENCE: Token = kw("resequence", "Renumber an access list's entries");
const RESEQ_START: Token =
    param(Param::Number { min: SEQUENCE_MIN, max: SEQUENCE_MAX }, "Starting sequence number");
const RESEQ_STEP: Token = param(Param::Number { min: 1, max: 1_000_000 }, "Step between sequence numbers");
const FLOW: Token = kw("flow", "Configure flow export");
const FLOW_NAME: Token = param(Param::Name { max: FLOW_NAME_MAX }, "Name (max size 63)");
const FLOW_DESCRIPTION: Token = kw("description", "Describe it");
const FLOW_TEXT: Token = param(Param::Text { max: FLOW_DESCRIPTION_MAX }, "Description (max size 63)");
const DHCP: Token = kw("dhcp", "Configure DHCP features");
const SNOOPING: Token = kw("snooping", "DHCP snooping");
const PORT: Token = kw("port", "Apply to the ports using the port-profile");
const PORT_SECURITY: Token = kw("port-security", "Configure port security");
const TIMEOUT: Token = kw("timeout", "Set a flow timeout");
const SECONDS: Token = param(Param::Number { min: TIMEOUT_MIN, max: TIMEOUT_MAX }, "Seconds");
const STORM_CONTROL: Token = kw("storm-control", "Limit broadcast, multicast or unknown unicast");
const LEVEL: Token = kw("level", "Set the limit");
const PPS: Token = kw("pps", "As packets per second");
const PPS_RATE: Token = param(Param::Number { min: STORM_PPS_MIN, max: STORM_PPS_MAX }, "Packets per second");
const RECORD: Token = kw("record", "Set the flow record");
const IN: Token = kw("in", "Traffic from the port into the switch");
const OUT: Token = kw("out", "Traffic from the switch out of the port");
const INPUT: Token = kw("input", "Traffic from the port into the switch");
const OUTPUT: Token = kw("output", "Traffic from the switch out of the port");
const ACCESS_GROUP: Token = kw("access-group", "Apply an ip access list");
const TRAFFIC_FILTER: Token = kw("traffic-filter", "Apply an ipv6 access list");

/// Global configuration commands.
pub static CONFIG: &[Command<Op>] = &[
    negatable(&[VLAN, VLAN_RANGES], Op::Vlan, 2),
    negatable(
        &[kw("bridge-domain", "Configure a bridge-domain (VXLAN segment)"), BRIDGE_DOMAIN_NAME],
        Op::BridgeDomain,
        2,
    ),
    negatable(
        &[PORT_PROFILE, TYPE, VETHERNET, PROFILE_NAME],
        Op::PortProfile(Some(ProfileType::Vethernet)),
        4,
    ),
    negatable(&[PORT_PROFILE, TYPE, ETHERNET, PROFILE_NAME], Op::PortProfile(Some(ProfileType::Ethernet)), 4),
    negatable(&[PORT_PROFILE, PROFILE_NAME], Op::PortProfile(None), 2),
    no_only(&[PORT_PROFILE, PROFILE_NAME, FORCE], Op::PortProfileForce(None)),
    no_only(
        &[PORT_PROFILE, TYPE, VETHERNET, PROFILE_NAME, FORCE],
        Op::PortProfileForce(Some(ProfileType::Vethernet)),
    ),
    no_only(
        &[PORT_PROFILE, TYPE, ETHERNET, PROFILE_NAME, FORCE],
        Op::PortProfileForce(Some(ProfileType::Ethernet)),
    ),
    plain(
        &[kw("configure", "Enter configuration mode"), kw("terminal", "Configure from the terminal")],
        Op::ConfigureTerminal,
    ),
    // `username`: three password forms times two roles; `no username NAME` needs the first two.
    negatable(
        &[USERNAME, USER_NAME, PASSWORD, SECRET, ROLE, NETWORK_ADMIN],
        Op::Username { hashed: false, role: Role::NetworkAdmin },
        2,
    ),
    negatable(
        &[USERNAME, USER_NAME, PASSWORD, SECRET, ROLE, NETWORK_OPERATOR],
        Op::Username { hashed: false, role: Role::NetworkOperator },
        2,
    ),
    negatable(
        &[USERNAME, USER_NAME, PASSWORD, CLEAR, SECRET, ROLE, NETWORK_ADMIN],
        Op::Username { hashed: false, role: Role::NetworkAdmin },
        2,
    ),
    negatable(
        &[USERNAME, USER_NAME, PASSWORD, CLEAR, SECRET, ROLE, NETWORK_OPERATOR],
        Op::Username { hashed: false, role: Role::NetworkOperator },
        2,
    ),
    negatable(
        &[USERNAME, USER_NAME, PASSWORD, HASHED, HASH, ROLE, NETWORK_ADMIN],
        Op::Username { hashed: true, role: Role::NetworkAdmin },
        2,
    ),
    negatable(
        &[USERNAME, USER_NAME, PASSWORD, HASHED, HASH, ROLE, NETWORK_OPERATOR],
        Op::Username { hashed: true, role: Role::NetworkOperator },
        2,
    ),
];

/// The policy lines of global configuration: access lists, DHCP snooping, flow export.
pub static CONFIG_POLICY: &[Command<Op>] = &[
    negatable(&[IP, ACCESS_LIST, ACL_NAME], Op::AccessList(Family::Ipv4), 3),
    negatable(&[IPV6, ACCESS_LIST, ACL_NAME], Op::AccessList(Family::Ipv6), 3),
    plain(&[RESEQUENCE, IP, ACCESS_LIST, ACL_NAME, RESEQ_START, RESEQ_STEP], Op::Resequence(Family::Ipv4)),
    plain(&[RESEQUENCE, IPV6, ACCESS_LIST, ACL_NAME, RESEQ_START, RESEQ_STEP], Op::Resequence(Family::Ipv6)),
    negatable(&[IP, DHCP, SNOOPING], Op::DhcpSnooping, 3),
    negatable(&[FLOW, kw("exporter", "Configure a flow exporter"), FLOW_NAME], Op::FlowExporter, 3),
    negatable(&[FLOW, kw("monitor", "Configure a flow monitor"), FLOW_NAME], Op::FlowMonitor, 3),
    negatable(&[IP, POOL, POOL_NAME], Op::IpPool, 3),
];

const POOL: Token = kw("pool", "Configure an address pool");
const POOL_NAME: Token = param(Param::Name { max: POOL_NAME_MAX }, "Pool name (max size 64)");
const POOL_ADDRESS: Token = param(Param::Ipv4, "IPv4 address");

/// The `ip pool` sub-mode.
pub static IP_POOL_MODE: &[Command<Op>] = &[
    negatable(
        &[kw("network", "The pool's network"), param(Param::Ipv4Prefix, "Network and prefix length")],
        Op::PoolNetwork,
        1,
    ),
    negatable(
        &[kw("default-router", "The containers' gateway (never handed out)"), POOL_ADDRESS],
        Op::PoolDefaultRouter,
        1,
    ),
    negatable(
        &[
            kw("range", "Hand out only addresses in ranges"),
            param(Param::Ipv4, "First address"),
            param(Param::Ipv4, "Last address"),
        ],
        Op::PoolRange,
        3,
    ),
    negatable(&[EXCLUDE, param(Param::Ipv4, "Address never handed out")], Op::PoolExclude, 2),
    negatable(
        &[EXCLUDE, param(Param::Ipv4, "First address never handed out"), param(Param::Ipv4, "Last address")],
        Op::PoolExclude,
        3,
    ),
];

const EXCLUDE: Token = kw("exclude", "Never hand out these addresses");

/// The `ip access-list` sub-mode.
pub static IP_ACL_MODE: &[Command<Op>] = &[
    negatable(&[SEQUENCE, PERMIT, ACE_V4_PERMIT], Op::Ace { action: Action::Permit, numbered: true }, 1),
    negatable(&[SEQUENCE, DENY, ACE_V4_DENY], Op::Ace { action: Action::Deny, numbered: true }, 1),
    negatable(&[PERMIT, ACE_V4_PERMIT], Op::Ace { action: Action::Permit, numbered: false }, 2),
    negatable(&[DENY, ACE_V4_DENY], Op::Ace { action: Action::Deny, numbered: false }, 2),
    negatable(&[STATISTICS, PER_ENTRY], Op::StatisticsPerEntry, 2),
];

/// The `ipv6 access-list` sub-mode.
pub static IPV6_ACL_MODE: &[Command<Op>] = &[
    negatable(&[SEQUENCE, PERMIT, ACE_V6_PERMIT], Op::Ace { action: Action::Permit, numbered: true }, 1),
    negatable(&[SEQUENCE, DENY, ACE_V6_DENY], Op::Ace { action: Action::Deny, numbered: true }, 1),
    negatable(&[PERMIT, ACE_V6_PERMIT], Op::Ace { action: Action::Permit, numbered: false }, 2),
    negatable(&[DENY, ACE_V6_DENY], Op::Ace { action: Action::Deny, numbered: false }, 2),
    negatable(&[STATISTICS, PER_ENTRY], Op::StatisticsPerEntry, 2),
];

const STATISTICS: Token = kw("statistics", "Collect statistics");
const PER_ENTRY: Token = kw("per-entry", "Count hits per entry");

/// The `flow exporter` sub-mode.
pub static FLOW_EXPORTER_MODE: &[Command<Op>] = &[
    negatable(&[FLOW_DESCRIPTION, FLOW_TEXT], Op::FlowDescription, 1),
    negatable(
        &[kw("destination", "The collector's address"), param(Param::Address, "Collector address")],
        Op::FlowDestination,
        1,
    ),
    negatable(
        &[
            kw("transport", "The transport to the collector"),
            kw("udp", "UDP"),
            param(Param::Number { min: 1, max: 65535 }, "The collector's UDP port"),
        ],
        Op::FlowTransport,
        1,
    ),
    negatable(&[VERSION, kw("9", "NetFlow version 9")], Op::FlowVersion(FlowExportVersion::V9), 1),
    negatable(&[VERSION, kw("ipfix", "IPFIX (RFC 7011)")], Op::FlowVersion(FlowExportVersion::Ipfix), 1),
    negatable(
        &[kw("dscp", "DSCP of the export packets"), param(Param::Number { min: 0, max: 63 }, "DSCP value")],
        Op::FlowDscp,
        1,
    ),
];

const VERSION: Token = kw("version", "The export format");

/// The `flow monitor` sub-mode.
pub static FLOW_MONITOR_MODE: &[Command<Op>] = &[
    negatable(&[FLOW_DESCRIPTION, FLOW_TEXT], Op::FlowDescription, 1),
    negatable(&[RECORD, kw("netflow-original", "The traditional NetFlow record")], Op::FlowRecord, 1),
    negatable(
        &[
            RECORD,
            kw("netflow", "Predefined NetFlow records"),
            kw("ipv4", "IPv4 records"),
            kw("original-input", "The traditional NetFlow record (netflow-original)"),
        ],
        Op::FlowRecord,
        1,
    ),
    negatable(&[kw("exporter", "Send the flows to an exporter"), FLOW_NAME], Op::MonitorExporter, 2),
    negatable(&[TIMEOUT, kw("active", "Export long flows every S seconds"), SECONDS], Op::TimeoutActive, 2),
    negatable(&[TIMEOUT, kw("inactive", "Export flows idle for S seconds"), SECONDS], Op::TimeoutInactive, 2),
    negatable(
        &[
            kw("cache", "Configure the flow cache"),
            kw("size", "The most flows kept per host"),
            param(Param::Number { min: CACHE_SIZE_MIN, max: CACHE_SIZE_MAX }, "Entries"),
        ],
        Op::CacheSize,
        2,
    ),
];

/// The policy lines of the port-profile sub-mode: access lists, port security, anti-spoofing,
/// storm control, flow monitors.
pub static PROFILE_POLICY: &[Command<Op>] = &[
    negatable(&[IP, PORT, ACCESS_GROUP, ACL_NAME, IN], Op::AccessGroup(Family::Ipv4, Direction::In), 5),
    negatable(&[IP, PORT, ACCESS_GROUP, ACL_NAME, OUT], Op::AccessGroup(Family::Ipv4, Direction::Out), 5),
    negatable(&[IPV6, PORT, TRAFFIC_FILTER, ACL_NAME, IN], Op::AccessGroup(Family::Ipv6, Direction::In), 5),
    negatable(&[IPV6, PORT, TRAFFIC_FILTER, ACL_NAME, OUT], Op::AccessGroup(Family::Ipv6, Direction::Out), 5),
    negatable(&[SWITCHPORT, PORT_SECURITY], Op::PortSecurity, 2),
    negatable(
        &[
            SWITCHPORT,
            PORT_SECURITY,
            kw("maximum", "The most MAC addresses on a port"),
            param(Param::Number { min: PORT_SECURITY_MAX_MIN, max: PORT_SECURITY_MAX_MAX }, "MAC addresses"),
        ],
        Op::PortSecurityMaximum,
        3,
    ),
    negatable(
        &[SWITCHPORT, PORT_SECURITY, VIOLATION, kw("protect", "Drop frames from extra MACs")],
        Op::PortSecurityViolation(Violation::Protect),
        3,
    ),
    negatable(
        &[SWITCHPORT, PORT_SECURITY, VIOLATION, kw("restrict", "Drop and count frames from extra MACs")],
        Op::PortSecurityViolation(Violation::Restrict),
        3,
    ),
    negatable(
        &[SWITCHPORT, PORT_SECURITY, VIOLATION, kw("shutdown", "Errdisable the port (default)")],
        Op::PortSecurityViolation(Violation::Shutdown),
        3,
    ),
    negatable(
        &[
            SWITCHPORT,
            PORT_SECURITY,
            kw("mac-address", "Configure secure MAC addresses"),
            kw("sticky", "Keep learned MAC addresses"),
        ],
        Op::PortSecuritySticky,
        4,
    ),
    negatable(&[IP, VERIFY, SOURCE], Op::VerifySource, 3),
    negatable(
        &[IP, VERIFY, SOURCE, kw("dhcp-snooping-vlan", "Check against the DHCP snooping bindings")],
        Op::VerifySource,
        3,
    ),
    negatable(
        &[IP, kw("arp", "Configure ARP features"), kw("inspection", "Drop ARP from unbound senders")],
        Op::ArpInspection,
        3,
    ),
    negatable(
        &[IP, DHCP, SNOOPING, kw("trust", "Accept DHCP server messages from these ports")],
        Op::DhcpSnoopingTrust,
        4,
    ),
    negatable(
        &[STORM_CONTROL, kw("broadcast", "Broadcast frames"), LEVEL, PPS, PPS_RATE],
        Op::StormControl(StormKind::Broadcast),
        2,
    ),
    negatable(
        &[STORM_CONTROL, kw("multicast", "Multicast frames"), LEVEL, PPS, PPS_RATE],
        Op::StormControl(StormKind::Multicast),
        2,
    ),
    negatable(
        &[STORM_CONTROL, kw("unicast", "Unknown unicast frames"), LEVEL, PPS, PPS_RATE],
        Op::StormControl(StormKind::UnknownUnicast),
        2,
    ),
    negatable(
        &[IP, FLOW, kw("monitor", "Apply a flow monitor"), FLOW_NAME, INPUT],
        Op::ProfileFlowMonitor(Direction::In),
        5,
    ),
    negatable(
        &[IP, FLOW, kw("monitor", "Apply a flow monitor"), FLOW_NAME, OUTPUT],
        Op::ProfileFlowMonitor(Direction::Out),
        5,
    ),
    negatable(&[IP, POOL, POOL_NAME], Op::ProfileIpPool, 2),
];

const VIOLATION: Token = kw("violation", "What a frame from one MAC too many does");
const VERIFY: Token = kw("verify", "Verify sources");
const SOURCE: Token = kw("source", "IP source guard: drop frames from unbound addresses");

/// `end` and `exit`: accepted in every mode.
pub static COMMON: &[Command<Op>] = &[
    plain(&[kw("end", "Go to exec mode")], Op::End),
    plain(&[kw("exit", "Exit from the current mode")], Op::Exit),
];

/// The VLAN sub-mode.
pub static VLAN_MODE: &[Command<Op>] = &[negatable(
    &[kw("name", "Set the VLAN name"), param(Param::Name { max: VLAN_NAME_MAX }, "VLAN name (max size 32)")],
    Op::VlanName,
    1,
)];

/// The bridge-domain sub-mode.
pub static BRIDGE_DOMAIN_MODE: &[Command<Op>] = &[negatable(
    &[
        kw("segment", "Configure the bridge-domain's segment"),
        kw("id", "Set the segment id (VXLAN network identifier)"),
        param(Param::Number { min: SEGMENT_ID_MIN, max: SEGMENT_ID_MAX }, "Segment id"),
    ],
    Op::SegmentId,
    2,
)];

/// The port-profile sub-mode.
pub static PROFILE_MODE: &[Command<Op>] = &[
    negatable(
        &[
            kw("description", "Describe the port-profile"),
            param(Param::Text { max: DESCRIPTION_MAX }, "Port-profile description (max size 80)"),
        ],
        Op::Description,
        1,
    ),
    negatable(
        &[SWITCHPORT, MODE, kw("access", "Access port: one untagged VLAN")],
        Op::SwitchportMode(SwitchportMode::Access),
        2,
    ),
    negatable(
        &[SWITCHPORT, MODE, kw("trunk", "Trunk port: 802.1Q-tagged VLANs")],
        Op::SwitchportMode(SwitchportMode::Trunk),
        2,
    ),
    negatable(
        &[
            SWITCHPORT,
            kw("access", "Configure access-mode parameters"),
            kw("vlan", "Set the access VLAN"),
            VLAN_ID,
        ],
        Op::AccessVlan,
        3,
    ),
    negatable(
        &[
            SWITCHPORT,
            kw("access", "Configure access-mode parameters"),
            kw("bridge-domain", "Set the access bridge-domain (instead of a VLAN)"),
            BRIDGE_DOMAIN_NAME,
        ],
        Op::AccessBridgeDomain,
        3,
    ),
    negatable(&[SWITCHPORT, TRUNK, ALLOWED, TRUNK_VLAN, VLAN_RANGES], Op::TrunkAllowed(TrunkEdit::Set), 4),
    plain(
        &[SWITCHPORT, TRUNK, ALLOWED, TRUNK_VLAN, kw("add", "Add VLANs to the allowed list"), VLAN_RANGES],
        Op::TrunkAllowed(TrunkEdit::Add),
    ),
    plain(
        &[
            SWITCHPORT,
            TRUNK,
            ALLOWED,
            TRUNK_VLAN,
            kw("remove", "Remove VLANs from the allowed list"),
            VLAN_RANGES,
        ],
        Op::TrunkAllowed(TrunkEdit::Remove),
    ),
    plain(
        &[SWITCHPORT, TRUNK, ALLOWED, TRUNK_VLAN, kw("except", "Allow every VLAN except these"), VLAN_RANGES],
        Op::TrunkAllowed(TrunkEdit::Except),
    ),
    plain(
        &[SWITCHPORT, TRUNK, ALLOWED, TRUNK_VLAN, kw("all", "Allow every VLAN")],
        Op::TrunkAllowed(TrunkEdit::All),
    ),
    plain(
        &[SWITCHPORT, TRUNK, ALLOWED, TRUNK_VLAN, kw("none", "Allow no VLANs")],
        Op::TrunkAllowed(TrunkEdit::None),
    ),
    negatable(
        &[
            SWITCHPORT,
            TRUNK,
            kw("native", "Set the trunk's native (untagged) VLAN"),
            kw("vlan", "Native VLAN"),
            VLAN_ID,
        ],
        Op::TrunkNative,
        4,
    ),
    negatable(
        &[
            kw("channel-group", "Configure uplink port-channels"),
            kw("auto", "Form port-channels automatically"),
            kw("mode", "Channel mode"),
            kw("on", "Static channel, no negotiation"),
            kw("mac-pinning", "Pin each vEthernet to one uplink by MAC"),
        ],
        Op::ChannelGroup,
        1,
    ),
    negatable(
        &[
            kw("inherit", "Inherit another port-profile's settings"),
            kw("port-profile", "The port-profile to inherit"),
            PROFILE_NAME,
        ],
        Op::Inherit,
        2,
    ),
    negatable(
        &[
            kw("max-ports", "Maximum vEthernet ports using the port-profile"),
            param(Param::Number { min: MAX_PORTS_MIN, max: MAX_PORTS_MAX }, "Maximum number of ports"),
        ],
        Op::MaxPorts,
        1,
    ),
    negatable(
        &[PORT_BINDING, kw("static", "Keep the vEthernet number after detach")],
        Op::PortBinding(PortBinding::Static),
        1,
    ),
    negatable(
        &[PORT_BINDING, kw("dynamic", "Release the vEthernet number on detach")],
        Op::PortBinding(PortBinding::Dynamic),
        1,
    ),
    negatable(
        &[PORT_BINDING, kw("ephemeral", "Like dynamic (NX-OS compatibility)")],
        Op::PortBinding(PortBinding::Ephemeral),
        1,
    ),
    negatable(
        &[
            kw("system", "Configure system VLANs"),
            kw("vlan", "VLANs forwarded even before the supervisor is reached"),
            VLAN_RANGES,
        ],
        Op::SystemVlan,
        2,
    ),
    negatable(&[kw("shutdown", "Administratively disable ports")], Op::Shutdown, 1),
    negatable(&[STATE, kw("enabled", "Make the port-profile usable by ports")], Op::StateEnabled, 2),
];

/// One parsed configuration line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub op: Op,
    pub negated: bool,
    pub args: Vec<grammar::Arg>,
    /// The mode whose table matched: a sub-mode line, or a global one that leaves the sub-mode.
    pub mode: Mode,
    /// Column of the first word.
    pub column: usize,
}

impl Statement {
    /// The sub-mode this line enters, if any.
    pub fn enters(&self) -> Option<Mode> {
        self.op.enters(self.negated)
    }

    /// The `i`th parameter's value and column.
    pub fn arg(&self, i: usize) -> Option<&grammar::Arg> {
        self.args.get(i)
    }

    /// Column of the `i`th parameter, or of the line when absent.
    pub fn arg_column(&self, i: usize) -> usize {
        self.args.get(i).map_or(self.column, |a| a.column)
    }

    /// The `i`th parameter as a number.
    pub fn number(&self, i: usize) -> Option<u32> {
        match self.args.get(i).map(|a| &a.value) {
            Some(Value::Number(n)) => Some(*n),
            _ => None,
        }
    }

    /// The `i`th parameter as a word or text.
    pub fn text(&self, i: usize) -> Option<&str> {
        match self.args.get(i).map(|a| &a.value) {
            Some(Value::Word(s) | Value::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// The `i`th parameter as a secret (a password or its hash).
    pub fn secret(&self, i: usize) -> Option<&str> {
        match self.args.get(i).map(|a| &a.value) {
            Some(Value::Secret(s)) => Some(&s.0),
            _ => None,
        }
    }

    /// The `i`th parameter as a VLAN set.
    pub fn vlans(&self, i: usize) -> Option<&crate::VlanSet> {
        match self.args.get(i).map(|a| &a.value) {
            Some(Value::Vlans(v)) => Some(v),
            _ => None,
        }
    }
}

/// Where a line is read: which tables apply, in preference order, and the mode each one means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// What a user types in `mode`: the sub-mode's own commands, then `end`/`exit`, then
    /// global commands (which leave the sub-mode). This is also an unindented script line.
    Typed(Mode),
    /// An indented script line under a `mode` header: only that sub-mode's commands.
    Indented(Mode),
}

impl Scope {
    fn tables(self) -> Vec<(&'static [Command<Op>], Mode)> {
        let own = |mode| -> Vec<&'static [Command<Op>]> {
            match mode {
                Mode::Config => vec![CONFIG, CONFIG_POLICY],
                Mode::Vlan => vec![VLAN_MODE],
                Mode::BridgeDomain => vec![BRIDGE_DOMAIN_MODE],
                Mode::PortProfile => vec![PROFILE_MODE, PROFILE_POLICY],
                Mode::IpAccessList => vec![IP_ACL_MODE],
                Mode::Ipv6AccessList => vec![IPV6_ACL_MODE],
                Mode::FlowExporter => vec![FLOW_EXPORTER_MODE],
                Mode::FlowMonitor => vec![FLOW_MONITOR_MODE],
                Mode::IpPool => vec![IP_POOL_MODE],
            }
        };
        let tagged = |mode: Mode, as_mode: Mode| own(mode).into_iter().map(move |table| (table, as_mode));
        let mut out: Vec<(&'static [Command<Op>], Mode)> = tagged(mode_of(self), mode_of(self)).collect();
        out.push((COMMON, mode_of(self)));
        if let Self::Typed(mode) = self
            && mode != Mode::Config
        {
            out.extend(tagged(Mode::Config, Mode::Config));
        }
        out
    }
}

fn mode_of(scope: Scope) -> Mode {
    match scope {
        Scope::Typed(mode) | Scope::Indented(mode) => mode,
    }
}

/// Parses one line read in `scope`.
pub fn parse_line(scope: Scope, line: &str) -> Result<Statement, MatchError> {
    let tables = scope.tables();
    let refs: Vec<&[Command<Op>]> = tables.iter().map(|(t, _)| *t).collect();
    let matched = grammar::match_line(&refs, line)?;
    Ok(Statement {
        op: matched.command.action,
        negated: matched.negated,
        mode: tables[matched.table].1,
        args: matched.args,
        column: matched.column,
    })
}

/// `?` help for a line typed in `mode` (see [`grammar::help`]).
pub fn help(mode: Mode, line: &str) -> Vec<Candidate> {
    let tables = Scope::Typed(mode).tables();
    let refs: Vec<&[Command<Op>]> = tables.iter().map(|(t, _)| *t).collect();
    grammar::help(&refs, line)
}

/// Tab completion for a line typed in `mode` (see [`grammar::complete`]).
pub fn complete(mode: Mode, line: &str, pos: usize) -> (usize, Vec<Candidate>) {
    let tables = Scope::Typed(mode).tables();
    let refs: Vec<&[Command<Op>]> = tables.iter().map(|(t, _)| *t).collect();
    grammar::complete(&refs, line, pos)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn op(scope: Scope, line: &str) -> (Op, bool, Mode) {
        let s = parse_line(scope, line).unwrap();
        (s.op, s.negated, s.mode)
    }

    #[test]
    fn global_commands() {
        let c = Scope::Typed(Mode::Config);
        assert_eq!(op(c, "vlan 100-109"), (Op::Vlan, false, Mode::Config));
        assert_eq!(op(c, "no vlan 100"), (Op::Vlan, true, Mode::Config));
        assert_eq!(
            op(c, "port-profile type ethernet uplink").0,
            Op::PortProfile(Some(ProfileType::Ethernet))
        );
        assert_eq!(op(c, "port-profile web").0, Op::PortProfile(None));
        assert_eq!(op(c, "conf t").0, Op::ConfigureTerminal);
        assert_eq!(op(c, "bridge-domain red"), (Op::BridgeDomain, false, Mode::Config));
        assert_eq!(op(c, "no bridge-domain red"), (Op::BridgeDomain, true, Mode::Config));
        assert!(parse_line(c, "no bridge-domain").is_err());
        assert_eq!(op(c, "end").0, Op::End);
    }

    #[test]
    fn username_forms() {
        let c = Scope::Typed(Mode::Config);
        let admin = |hashed| Op::Username { hashed, role: Role::NetworkAdmin };
        let operator = |hashed| Op::Username { hashed, role: Role::NetworkOperator };
        assert_eq!(op(c, "username alice password s3cret role network-admin").0, admin(false));
        assert_eq!(op(c, "username alice password 0 s3cret role network-operator").0, operator(false));
        let s = parse_line(c, "user bob pass 5 $argon2id$v=19$x role network-o").unwrap();
        assert_eq!((s.op, s.text(0), s.secret(1)), (operator(true), Some("bob"), Some("$argon2id$v=19$x")));
        assert_eq!(op(c, "no username alice"), (admin(false), true, Mode::Config));
        // A password that starts like the type digits is still a password.
        assert_eq!(
            parse_line(c, "username a password 0pen role network-admin").unwrap().secret(1),
            Some("0pen")
        );
        assert_eq!(
            op(Scope::Typed(Mode::PortProfile), "username a password x role network-admin").2,
            Mode::Config
        );
    }

    #[test]
    fn a_refused_password_is_never_quoted() {
        let c = Scope::Typed(Mode::Config);
        for line in [
            "username alice password 9s3cr?t role network-admin",
            "username alice password s3cr?t role network-admin",
            "username alice password 5 h?sh role network-admin",
        ] {
            let e = parse_line(c, line).unwrap_err();
            assert_eq!(e.message, "invalid password", "{line}");
            assert!(!e.to_string().contains("cr?t") && !e.to_string().contains("h?sh"), "{e}");
        }
        let words = |line| help(Mode::Config, line).into_iter().map(|c| c.word).collect::<Vec<_>>();
        assert_eq!(words("username a password "), ["WORD", "0", "5"]);
        assert_eq!(words("username a password x role "), ["network-admin", "network-operator"]);
    }

    #[test]
    fn sub_mode_lines_fall_back_to_global_commands() {
        let p = Scope::Typed(Mode::PortProfile);
        assert_eq!(op(p, "switchport mode trunk").2, Mode::PortProfile);
        assert_eq!(op(p, "exit"), (Op::Exit, false, Mode::PortProfile));
        assert_eq!(op(p, "vlan 5"), (Op::Vlan, false, Mode::Config));
        assert!(parse_line(Scope::Indented(Mode::PortProfile), "vlan 5").is_err());
        assert!(parse_line(Scope::Typed(Mode::Config), "shutdown").is_err());
    }

    #[test]
    fn every_profile_line_form_parses() {
        let p = Scope::Typed(Mode::PortProfile);
        let cases: &[(&str, Op, bool)] = &[
            ("description web tier", Op::Description, false),
            ("no description", Op::Description, true),
            ("switchport mode access", Op::SwitchportMode(SwitchportMode::Access), false),
            ("no switchport mode", Op::SwitchportMode(SwitchportMode::Access), true),
            ("switchport access vlan 100", Op::AccessVlan, false),
            ("no switchport access vlan", Op::AccessVlan, true),
            ("switchport access bridge-domain red", Op::AccessBridgeDomain, false),
            ("no switchport access bridge-domain", Op::AccessBridgeDomain, true),
            ("switchport trunk allowed vlan 1-5", Op::TrunkAllowed(TrunkEdit::Set), false),
            ("switchport trunk allowed vlan add 7", Op::TrunkAllowed(TrunkEdit::Add), false),
            ("switchport trunk allowed vlan remove 7", Op::TrunkAllowed(TrunkEdit::Remove), false),
            ("switchport trunk allowed vlan except 7", Op::TrunkAllowed(TrunkEdit::Except), false),
            ("switchport trunk allowed vlan all", Op::TrunkAllowed(TrunkEdit::All), false),
            ("switchport trunk allowed vlan none", Op::TrunkAllowed(TrunkEdit::None), false),
            ("no switchport trunk allowed vlan", Op::TrunkAllowed(TrunkEdit::Set), true),
            ("switchport trunk native vlan 2", Op::TrunkNative, false),
            ("no switchport trunk native vlan", Op::TrunkNative, true),
            ("channel-group auto mode on mac-pinning", Op::ChannelGroup, false),
            ("no channel-group", Op::ChannelGroup, true),
            ("inherit port-profile base", Op::Inherit, false),
            ("no inherit port-profile", Op::Inherit, true),
            ("max-ports 64", Op::MaxPorts, false),
            ("no max-ports", Op::MaxPorts, true),
            ("port-binding dynamic", Op::PortBinding(PortBinding::Dynamic), false),
            ("no port-binding", Op::PortBinding(PortBinding::Static), true),
            ("system vlan 100", Op::SystemVlan, false),
            ("no system vlan", Op::SystemVlan, true),
            ("shutdown", Op::Shutdown, false),
            ("no shutdown", Op::Shutdown, true),
            ("state enabled", Op::StateEnabled, false),
            ("no state enabled", Op::StateEnabled, true),
        ];
        for (line, want, negated) in cases {
            let s = parse_line(p, line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!((s.op, s.negated), (*want, *negated), "{line}");
        }
    }

    #[test]
    fn bridge_domain_sub_mode() {
        let b = Scope::Typed(Mode::BridgeDomain);
        assert_eq!(op(b, "segment id 5000"), (Op::SegmentId, false, Mode::BridgeDomain));
        assert_eq!(op(b, "no segment id"), (Op::SegmentId, true, Mode::BridgeDomain));
        assert_eq!(op(b, "exit").0, Op::Exit);
        assert_eq!(op(b, "vlan 5").2, Mode::Config);
        assert!(parse_line(b, "segment id 16777216").is_err());
        assert!(parse_line(Scope::Indented(Mode::BridgeDomain), "switchport mode access").is_err());
        assert_eq!(Op::BridgeDomain.enters(false), Some(Mode::BridgeDomain));
        assert_eq!(Op::BridgeDomain.enters(true), None);
        assert_eq!(Mode::BridgeDomain.prompt_name(), "config-bd");
    }

    #[test]
    fn help_and_completion_list_the_bridge_domain_keywords() {
        let words = |mode, line| help(mode, line).into_iter().map(|c| c.word).collect::<Vec<_>>();
        assert!(words(Mode::Config, "").contains(&"bridge-domain".to_string()));
        assert_eq!(words(Mode::Config, "bridge-domain "), ["WORD"]);
        assert_eq!(words(Mode::BridgeDomain, "")[..2], ["no", "segment"]);
        assert_eq!(words(Mode::BridgeDomain, "segment id "), ["<1-16777215>"]);
        assert_eq!(words(Mode::BridgeDomain, "no segment id "), ["<1-16777215>", "<cr>"]);
        assert_eq!(words(Mode::PortProfile, "switchport access "), ["vlan", "bridge-domain"]);
        let (start, candidates) = complete(Mode::PortProfile, "switchport access br", 20);
        assert_eq!(start, 18);
        assert_eq!(candidates.iter().map(|c| c.word.as_str()).collect::<Vec<_>>(), ["bridge-domain"]);
        let (_, candidates) = complete(Mode::BridgeDomain, "seg", 3);
        assert_eq!(candidates[0].word, "segment");
    }

    #[test]
    fn help_in_port_profile_mode_starts_with_sub_mode_commands() {
        let words: Vec<String> = help(Mode::PortProfile, "").into_iter().map(|c| c.word).collect();
        assert_eq!(words[..3], ["no", "description", "switchport"]);
        assert!(words.contains(&"vlan".to_string()));
        let h = help(Mode::Config, "vlan ");
        assert_eq!(h[0].word, "<1-4094>");
    }

    #[test]
    fn policy_lines_parse_in_their_modes() {
        let cases: &[(Mode, &str, Op, bool)] = &[
            (Mode::Config, "ip access-list A", Op::AccessList(Family::Ipv4), false),
            (Mode::Config, "no ipv6 access-list A", Op::AccessList(Family::Ipv6), true),
            (Mode::Config, "resequence ip access-list A 10 10", Op::Resequence(Family::Ipv4), false),
            (Mode::Config, "ip dhcp snooping", Op::DhcpSnooping, false),
            (Mode::Config, "flow exporter E", Op::FlowExporter, false),
            (Mode::Config, "no flow monitor M", Op::FlowMonitor, true),
            (
                Mode::IpAccessList,
                "10 permit tcp any any",
                Op::Ace { action: Action::Permit, numbered: true },
                false,
            ),
            (Mode::IpAccessList, "deny ip any any", Op::Ace { action: Action::Deny, numbered: false }, false),
            (Mode::IpAccessList, "no 10", Op::Ace { action: Action::Permit, numbered: true }, true),
            (Mode::Ipv6AccessList, "statistics per-entry", Op::StatisticsPerEntry, false),
            (Mode::FlowExporter, "destination 2001:db8::1", Op::FlowDestination, false),
            (Mode::FlowExporter, "version ipfix", Op::FlowVersion(FlowExportVersion::Ipfix), false),
            (Mode::FlowExporter, "no version", Op::FlowVersion(FlowExportVersion::V9), true),
            (Mode::FlowMonitor, "record netflow ipv4 original-input", Op::FlowRecord, false),
            (Mode::FlowMonitor, "timeout inactive 15", Op::TimeoutInactive, false),
            (
                Mode::PortProfile,
                "ip port access-group A in",
                Op::AccessGroup(Family::Ipv4, Direction::In),
                false,
            ),
            (
                Mode::PortProfile,
                "ipv6 port traffic-filter A out",
                Op::AccessGroup(Family::Ipv6, Direction::Out),
                false,
            ),
            (Mode::PortProfile, "switchport port-security", Op::PortSecurity, false),
            (Mode::PortProfile, "no switchport port-security maximum", Op::PortSecurityMaximum, true),
            (
                Mode::PortProfile,
                "switchport port-security violation protect",
                Op::PortSecurityViolation(Violation::Protect),
                false,
            ),
            (Mode::PortProfile, "ip verify source dhcp-snooping-vlan", Op::VerifySource, false),
            (Mode::PortProfile, "ip dhcp snooping trust", Op::DhcpSnoopingTrust, false),
            (
                Mode::PortProfile,
                "storm-control unicast level pps 10",
                Op::StormControl(StormKind::UnknownUnicast),
                false,
            ),
            (Mode::PortProfile, "ip flow monitor M output", Op::ProfileFlowMonitor(Direction::Out), false),
        ];
        for (mode, line, want, negated) in cases {
            let s = parse_line(Scope::Indented(*mode), line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!((s.op, s.negated), (*want, *negated), "{line}");
        }
        assert_eq!(Op::AccessList(Family::Ipv6).enters(false), Some(Mode::Ipv6AccessList));
        assert_eq!(Mode::IpAccessList.prompt_name(), "config-acl");
        // A global line typed in a profile leaves it.
        assert_eq!(op(Scope::Typed(Mode::PortProfile), "ip dhcp snooping").2, Mode::Config);
        assert!(parse_line(Scope::Indented(Mode::IpAccessList), "permit ipv6 any any").is_err());
    }

    #[test]
    fn help_in_the_access_list_modes() {
        let words = |mode, line| help(mode, line).into_iter().map(|c| c.word).collect::<Vec<_>>();
        assert_eq!(
            words(Mode::IpAccessList, "")[..5],
            ["no", "<1-4294967295>", "permit", "deny", "statistics"]
        );
        assert_eq!(words(Mode::IpAccessList, "10 "), ["permit", "deny"]);
        assert_eq!(words(Mode::IpAccessList, "10 permit "), ["ip|tcp|udp|icmp|<0-255>"]);
        assert_eq!(words(Mode::Ipv6AccessList, "permit "), ["ipv6|tcp|udp|icmp|<0-255>"]);
        assert_eq!(words(Mode::PortProfile, "ip port access-group A "), ["in", "out"]);
        assert_eq!(words(Mode::FlowExporter, "version "), ["9", "ipfix"]);
    }
}
