//! ADD: delegated IPAM (if configured), then the agent's attach; IPAM is released if anything
//! after its allocation fails (or it fails itself), so a failed ADD leaks no address.

use std::net::IpAddr;

use crate::agent::{AddressPlan, Agent, PortRequest, PortResult};
use crate::config::Ipam;
use crate::env::{CniEnv, Command};
use crate::error::CniError;
use crate::ipam::IpamExec;
use crate::net::Dns;
use crate::result::{CniResult, Interface, IpConfig};
use crate::verbs::{Delegate, Request, agent_error, attachment_id};

/// Attaches the container and returns the result to print.
pub fn add<A: Agent, E: IpamExec>(agent: &A, request: &mut Request<'_, E>) -> Result<Vec<u8>, CniError> {
    let conf = request.conf;
    let env = request.env;
    let profile = conf.require_profile()?;
    let iface_id = attachment_id(conf, env, Command::Add)?;
    let netns = CniEnv::require(&env.netns, "CNI_NETNS", Command::Add)?;
    let owner_name = env.owner_name(iface_id.container_id())?;
    // A chained ADD must pass the previous result on; read it before changing anything.
    let previous =
        conf.prev_result.clone().map(|value| CniResult::parse_value(value, "prevResult")).transpose()?;

    let delegate = request.delegate()?;
    let (address, ipam_dns) = match (&conf.ipam, &delegate) {
        (_, Some(delegate)) => {
            // The spec: when a delegated ADD fails, run its DEL before returning the failure.
            let output = match request.run_delegate(delegate, Command::Add, env) {
                Ok(output) => output,
                Err(error) => return Err(release(request, delegate, error)),
            };
            match CniResult::parse(&output, &format!("the result of IPAM plugin {:?}", delegate.plugin)) {
                Ok(allocated) => (given(&allocated), allocated.dns),
                Err(error) => return Err(release(request, delegate, error)),
            }
        }
        (Ipam::Switchyard, None) => (AddressPlan::Auto, Dns::default()),
        (_, None) => (AddressPlan::None, Dns::default()),
    };
    let port_request = PortRequest {
        iface_id: iface_id.to_string(),
        netns_path: netns.to_owned(),
        ifname: iface_id.ifname().to_owned(),
        profile: profile.to_owned(),
        owner_name,
        address,
        mtu: conf.mtu,
    };
    let port = match agent.attach(&port_request) {
        Ok(port) => port,
        Err(error) => {
            let error = agent_error(Command::Add, &error);
            return Err(match &delegate {
                Some(delegate) => release(request, delegate, error),
                None => error,
            });
        }
    };
    let dns = if ipam_dns.is_empty() { conf.dns.clone() } else { ipam_dns };
    let ours = port_result(&port, netns, dns);
    let result = match previous {
        Some(previous) => previous.chain(ours),
        None => ours,
    };
    Ok(result.render(conf.version))
}

/// What a delegated IPAM result asks the agent to set.
fn given(allocated: &CniResult) -> AddressPlan {
    let gateways = || allocated.ips.iter().filter_map(|ip| ip.gateway);
    // One default gateway: IPv4's when there is one, as most containers route by it.
    let gateway = gateways().find(IpAddr::is_ipv4).or_else(|| gateways().next());
    AddressPlan::Given {
        ips: allocated.ips.iter().map(|ip| ip.address).collect(),
        gateway,
        routes: allocated.routes.clone(),
    }
}

/// Runs IPAM DEL after a failed ADD, adding to `error` if that fails too.
fn release<E: IpamExec>(request: &mut Request<'_, E>, delegate: &Delegate, mut error: CniError) -> CniError {
    match request.run_delegate(delegate, Command::Del, request.env) {
        Ok(_) => request.notes.push(format!(
            "released the address IPAM plugin {:?} allocated for the failed ADD",
            delegate.plugin
        )),
        Err(release_error) => {
            error.details.push_str(&format!(
                "; releasing its address also failed ({}): run DEL for this container to free it",
                release_error.details
            ));
        }
    }
    error
}

/// The result of this plugin's part: the host end, the container end and its addresses.
pub fn port_result(port: &PortResult, netns: &str, dns: Dns) -> CniResult {
    let container_index = 1;
    let ips = port
        .ips
        .iter()
        .map(|address| IpConfig {
            address: *address,
            gateway: port.gateway.filter(|gateway| gateway.is_ipv4() == address.is_ipv4()),
            interface: Some(container_index),
        })
        .collect();
    CniResult {
        interfaces: vec![
            Interface { name: port.host_ifname.clone(), ..Interface::default() },
            Interface {
                name: port.ifname.clone(),
                mac: Some(port.mac.clone()),
                mtu: Some(port.mtu),
                sandbox: Some(netns.to_owned()),
            },
        ],
        ips,
        routes: port.routes.clone(),
        dns,
    }
}
