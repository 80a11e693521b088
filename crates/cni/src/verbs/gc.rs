//! GC: detach every CNI port of this network the runtime no longer lists, release its delegated
//! IPAM address, and pass GC on to an IPAM plugin that knows it. Carries on past errors and
//! reports them all.

use std::collections::HashSet;

use crate::agent::Agent;
use crate::config::Ipam;
use crate::env::{CniEnv, Command};
use crate::error::{CniError, ErrorCode};
use crate::iface_id::IfaceId;
use crate::ipam::{IpamExec, speaks_1_1};
use crate::verbs::{Request, agent_error};

/// Removes stale attachments of the configuration's network.
pub fn gc<A: Agent, E: IpamExec>(agent: &A, request: &mut Request<'_, E>) -> Result<(), CniError> {
    let conf = request.conf;
    // Without the list every port would look stale: refuse rather than remove them all.
    let valid = conf.valid_attachments.as_ref().ok_or_else(|| {
        CniError::new(
            ErrorCode::InvalidConfig,
            "Invalid network configuration",
            "GC needs cni.dev/valid-attachments (the runtime passes it; an empty list means none is valid)",
        )
    })?;
    let valid: HashSet<(&str, &str)> = valid
        .iter()
        .map(|attachment| (attachment.container_id.as_str(), attachment.ifname.as_str()))
        .collect();
    let ports = agent.cni_ports(&conf.network).map_err(|error| agent_error(Command::Gc, &error))?;

    let mut errors = Vec::new();
    for port in ports {
        let iface_id = match IfaceId::parse(&port) {
            Ok(iface_id) if iface_id.network() == conf.network => iface_id,
            Ok(_) => continue,
            Err(error) => {
                request.notes.push(format!("skipped port {port:?}: {error}"));
                continue;
            }
        };
        if valid.contains(&(iface_id.container_id(), iface_id.ifname())) {
            continue;
        }
        if let Err(error) = agent.detach(&port) {
            errors.push(agent_error(Command::Gc, &error));
            continue;
        }
        request.notes.push(format!("removed stale port {port}"));
        if let Err(error) = release(request, &iface_id) {
            errors.push(error);
        }
    }
    if let Ipam::Delegated(plugin) = &conf.ipam {
        if !errors.is_empty() {
            // A stale port still up may hold an address; IPAM's GC would hand it out again.
            request
                .notes
                .push(format!("IPAM plugin {plugin:?} was not asked to GC: some stale ports remain"));
        } else if speaks_1_1(request.exec, plugin, request.env) {
            if let Err(error) = request.exec.exec(plugin, Command::Gc, request.env, request.stdin) {
                errors.push(error.into_cni());
            }
        } else {
            request.notes.push(format!(
                "IPAM plugin {plugin:?} predates CNI 1.1 and was not asked to GC: addresses it holds for attachments that had no port here stay until their DEL"
            ));
        }
    }
    combine(&errors)
}

/// IPAM DEL for a stale attachment, as its own DEL would have run it (no namespace: it is gone).
fn release<E: IpamExec>(request: &Request<'_, E>, iface_id: &IfaceId) -> Result<(), CniError> {
    let Some(delegate) = request.delegate_with(&without_valid_attachments(request.stdin))? else {
        return Ok(());
    };
    let env = CniEnv {
        command: Some(Command::Del.as_str().into()),
        container_id: Some(iface_id.container_id().into()),
        netns: None,
        ifname: Some(iface_id.ifname().into()),
        args: None,
        path: request.env.path.clone(),
    };
    request.run_delegate(&delegate, Command::Del, &env).map(drop)
}

/// The GC configuration with `cni.dev/valid-attachments` removed: it is not part of a DEL.
fn without_valid_attachments(stdin: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(stdin) {
        Ok(mut object) => {
            object.remove("cni.dev/valid-attachments");
            serde_json::to_vec(&object).unwrap_or_else(|_| stdin.to_vec())
        }
        Err(_) => stdin.to_vec(),
    }
}

/// All errors in one: the first one's code, every one's details.
fn combine(errors: &[CniError]) -> Result<(), CniError> {
    let Some(first) = errors.first() else { return Ok(()) };
    let details = errors.iter().map(|error| error.details.as_str()).collect::<Vec<_>>().join("; ");
    Err(CniError::new(first.code, format!("GC left {} stale resource(s)", errors.len()), details))
}
