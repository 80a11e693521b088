//! Switchyard's configuration: the model (VLANs, bridge-domains, port-profiles, access lists, flow
//! export, operator accounts) and the NX-OS-style language that describes it.
//!
//! Pure: no I/O, no clock. The supervisor keeps a [`Config`]; every change — a line typed in the
//! shell, a script posted to REST — goes through [`apply()`], which parses the text, applies it to a
//! copy and validates the result, so a bad line changes nothing (atomic apply).
//!
//! `print ∘ parse` is a fixed point: [`print_running_config`] emits canonical text that [`apply()`]
//! turns back into the same model.
//!
//! The language is table-driven ([`grammar`] is the engine, [`language`] the NX-OS commands):
//! the same tables parse lines, answer `?` and complete words in the shell.

pub mod ace;
pub mod acl;
pub mod apply;
pub mod change;
pub mod error;
pub mod evaluate;
pub mod flow;
pub mod grammar;
pub mod ip_pool;
pub mod language;
pub mod model;
pub mod print;
pub mod redact;
pub mod script;
pub mod secrets;
pub mod validate;
mod validate_policy;
mod validate_pool;
pub mod vlan_set;

pub use acl::{
    AccessList, Ace, AclEntry, Action, AddressMatch, EffectiveAcl, Family, IcmpMatch, PortMatch, Protocol,
    TcpFlag,
};
pub use apply::{Applied, ProfileRemoval, apply};
pub use change::{Change, ChangeKind, Object};
pub use error::ConfigError;
pub use evaluate::{
    bridge_domain_dependents, dependents, evaluate, evaluate_all, evaluated_lines, profile_ip_pool,
};
pub use flow::{
    EffectiveExporter, EffectiveFlowMonitor, FlowExportVersion, FlowExporter, FlowMonitor, FlowMonitors,
    FlowRecord,
};
pub use grammar::Candidate;
pub use ip_pool::{AddressRange, Allocatable, IpPool, Ipv4Network};
pub use language::Mode;
pub use model::*;
pub use print::{pool_lines, print_profile, print_running_config, profile_lines, username_line};
pub use redact::redact;
pub use secrets::redact_line;
pub use validate::validate;
pub use vlan_set::VlanSet;
