//! CHECK: the port ADD made must still exist, be up and hold the addresses `prevResult` lists.

use std::collections::BTreeSet;

use crate::agent::Agent;
use crate::env::{CniEnv, Command};
use crate::error::{CniError, ErrorCode};
use crate::ipam::IpamExec;
use crate::net::Cidr;
use crate::result::CniResult;
use crate::verbs::{Request, agent_error, attachment_id};
use crate::version::CniVersion;

fn mismatch(details: String) -> CniError {
    CniError::new(ErrorCode::CheckMismatch, "The attachment is not as ADD left it", details)
}

/// Verifies the attachment against `prevResult`.
pub fn check<A: Agent, E: IpamExec>(agent: &A, request: &mut Request<'_, E>) -> Result<(), CniError> {
    let conf = request.conf;
    if conf.version < CniVersion::V0_4_0 {
        return Err(CniError::new(
            ErrorCode::IncompatibleVersion,
            "Incompatible CNI version",
            format!(
                "CHECK exists from cniVersion 0.4.0 on; the configuration says {}",
                conf.version.as_str()
            ),
        ));
    }
    let iface_id = attachment_id(conf, request.env, Command::Check)?;
    let netns = CniEnv::require(&request.env.netns, "CNI_NETNS", Command::Check)?;
    let previous = conf.prev_result.clone().ok_or_else(|| {
        CniError::new(
            ErrorCode::InvalidConfig,
            "Invalid network configuration",
            "CHECK needs prevResult, the result of the container's ADD (the runtime passes it)",
        )
    })?;
    let previous = CniResult::parse_value(previous, "prevResult")?;

    let port = agent
        .port(&iface_id.to_string())
        .map_err(|error| agent_error(Command::Check, &error))?
        .ok_or_else(|| {
            mismatch(format!(
                "the agent has no port {iface_id}: it was removed outside CNI; delete and re-create the container's network (DEL, then ADD)"
            ))
        })?;
    if !port.up {
        return Err(mismatch(format!(
            "Vethernet{} ({iface_id}) is down: see `show interface vethernet {}` on the supervisor for the reason",
            port.veth, port.veth
        )));
    }
    let index = previous
        .interfaces
        .iter()
        .position(|interface| interface.name == port.ifname && interface.sandbox.as_deref() == Some(netns))
        .ok_or_else(|| {
            mismatch(format!("prevResult lists no interface {} in {netns}, which ADD reported", port.ifname))
        })?;
    if let Some(mac) = &previous.interfaces[index].mac
        && !mac.eq_ignore_ascii_case(&port.mac)
    {
        return Err(mismatch(format!("{} has MAC {}, but ADD reported {mac}", port.ifname, port.mac)));
    }
    let expected: BTreeSet<Cidr> = previous
        .ips
        .iter()
        .filter(|ip| ip.interface.is_none_or(|interface| interface == index))
        .map(|ip| ip.address)
        .collect();
    let actual: BTreeSet<Cidr> = port.ips.iter().copied().collect();
    if expected != actual {
        let list = |set: &BTreeSet<Cidr>| {
            if set.is_empty() {
                "none".to_owned()
            } else {
                set.iter().map(Cidr::to_string).collect::<Vec<_>>().join(", ")
            }
        };
        return Err(mismatch(format!(
            "{} holds addresses {}, but ADD reported {}",
            port.ifname,
            list(&actual),
            list(&expected)
        )));
    }
    if let Some(delegate) = request.delegate()? {
        request.run_delegate(&delegate, Command::Check, request.env)?;
    }
    Ok(())
}
