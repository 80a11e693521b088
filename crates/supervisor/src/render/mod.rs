//! `show …` output, as pure functions of the state they show. Layouts follow NX-OS
//! (`shared/reference/nxos.md`).

mod accounting;
mod acl;
mod bridge_domain;
mod config_session;
mod flow;
mod interface;
mod ip_pool;
mod join_token;
mod logging;
mod mac;
mod module;
mod policy;
mod port_profile;
mod text;

pub use accounting::show_accounting_log;
pub use acl::show_access_lists;
pub use bridge_domain::{show_bridge_domain, show_bridge_domain_mac, show_bridge_domain_vteps};
pub use config_session::{show_configuration_session, show_configuration_session_summary};
pub use flow::show_flow_monitor;
pub use interface::{
    show_interface_brief, show_interface_ethernet, show_interface_vethernet, show_interface_virtual,
};
pub use ip_pool::{show_ip_pool, show_ip_pools};
pub use join_token::{join_token_created, show_join_tokens};
pub use logging::show_logging_logfile;
pub use mac::show_mac_address_table;
pub use module::{SUPERVISOR_MODULE, show_module, show_system_redundancy_status};
pub use policy::{
    DhcpBindingView, ExporterView, SecurePortView, show_flow_exporter, show_ip_dhcp_snooping_binding,
    show_port_security,
};
pub use port_profile::{show_port_profile, show_port_profile_brief, show_port_profile_virtual_usage};
