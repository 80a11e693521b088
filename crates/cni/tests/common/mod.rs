//! An in-memory agent that behaves as the real one promises (idempotent detach, addresses from
//! a pool for `switchyard` IPAM, ports kept across a crash), and helpers to run the plugin.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

use cni::{
    AddressPlan, Agent, AgentError, AgentStatus, Cidr, CniEnv, IpamExec, Outcome, PortRequest, PortResult,
    Route,
};

/// The pool `switchyard` IPAM allocates from here: 10.9.0.0/24, gateway .1.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);

#[derive(Debug, Default)]
pub struct State {
    pub ports: BTreeMap<String, PortResult>,
    pub requests: Vec<PortRequest>,
    pub stopped: bool,
    pub headless: bool,
    pub next_veth: u32,
    pub next_host: u8,
}

#[derive(Debug, Default)]
pub struct MemAgent {
    pub state: Mutex<State>,
}

impl MemAgent {
    pub fn with<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        change(&mut self.state.lock().unwrap())
    }

    fn running(&self) -> Result<std::sync::MutexGuard<'_, State>, AgentError> {
        let state = self.state.lock().unwrap();
        if state.stopped {
            return Err(AgentError::NotRunning("connect /run/switchyard/agent.sock: no such file".into()));
        }
        Ok(state)
    }
}

impl Agent for MemAgent {
    fn status(&self) -> Result<AgentStatus, AgentError> {
        let state = self.running()?;
        Ok(AgentStatus {
            reachable: true,
            connected: !state.headless,
            reason: if state.headless {
                "supervisor 10.77.0.2:9443 unreachable".into()
            } else {
                String::new()
            },
        })
    }

    fn attach(&self, request: &PortRequest) -> Result<PortResult, AgentError> {
        let mut state = self.running()?;
        state.requests.push(request.clone());
        if request.profile == "missing" {
            return Err(AgentError::Refused(
                "port-profile missing does not exist: create it on the supervisor".into(),
            ));
        }
        if state.ports.contains_key(&request.iface_id) {
            return Err(AgentError::Refused(format!("{} is already attached", request.iface_id)));
        }
        let (ips, gateway, routes) = match &request.address {
            AddressPlan::Auto => {
                state.next_host += 1;
                let address = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1 + state.next_host));
                let default_route =
                    Route { dst: "0.0.0.0/0".parse().unwrap(), gw: Some(IpAddr::V4(GATEWAY)) };
                (vec![Cidr { addr: address, prefix: 24 }], Some(IpAddr::V4(GATEWAY)), vec![default_route])
            }
            AddressPlan::Given { ips, gateway, routes } => (ips.clone(), *gateway, routes.clone()),
            AddressPlan::None => (Vec::new(), None, Vec::new()),
        };
        state.next_veth += 1;
        let port = PortResult {
            veth: state.next_veth,
            host_ifname: format!("sy{:08x}", state.next_veth),
            mac: format!("02:00:00:00:00:{:02x}", state.next_veth),
            ifname: request.ifname.clone(),
            ips,
            gateway,
            routes,
            mtu: request.mtu.unwrap_or(1500),
            up: true,
        };
        state.ports.insert(request.iface_id.clone(), port.clone());
        Ok(port)
    }

    fn detach(&self, iface_id: &str) -> Result<(), AgentError> {
        self.running()?.ports.remove(iface_id);
        Ok(())
    }

    fn port(&self, iface_id: &str) -> Result<Option<PortResult>, AgentError> {
        Ok(self.running()?.ports.get(iface_id).cloned())
    }

    fn cni_ports(&self, network: &str) -> Result<Vec<String>, AgentError> {
        let prefix = format!("cni:{network}:");
        Ok(self.running()?.ports.keys().filter(|id| id.starts_with(&prefix)).cloned().collect())
    }
}

/// An IPAM runner for configurations that never delegate: using it is a test failure.
#[derive(Debug)]
pub struct NoIpam;

impl IpamExec for NoIpam {
    fn exec(&self, plugin: &str, _: cni::Command, _: &CniEnv, _: &[u8]) -> Result<Vec<u8>, cni::IpamError> {
        panic!("IPAM plugin {plugin} was run, but the configuration does not delegate IPAM");
    }
}

pub fn env(command: &str, container_id: &str, netns: Option<&str>) -> CniEnv {
    CniEnv {
        command: Some(command.into()),
        container_id: Some(container_id.into()),
        netns: netns.map(Into::into),
        ifname: Some("eth0".into()),
        args: None,
        path: Some("/usr/lib/cni".into()),
    }
}

/// The configuration, with `extra` fields merged in.
pub fn conf(extra: serde_json::Value) -> Vec<u8> {
    let mut conf = serde_json::json!({
        "cniVersion": "1.1.0", "name": "web", "type": "switchyard-cni", "profile": "web",
        "ipam": {"type": "switchyard"}
    });
    let serde_json::Value::Object(extra) = extra else { panic!("extra fields must be an object") };
    for (key, value) in extra {
        conf[key] = value;
    }
    serde_json::to_vec(&conf).unwrap()
}

pub fn json(outcome: &Outcome) -> serde_json::Value {
    serde_json::from_slice(&outcome.stdout).unwrap_or_else(|error| {
        panic!("stdout is not JSON ({error}): {:?}", String::from_utf8_lossy(&outcome.stdout))
    })
}

/// Asserts the outcome is the spec's error with `code`, and returns its details.
pub fn expect_error(outcome: &Outcome, code: u64) -> String {
    assert_eq!(outcome.exit_code, 1, "expected failure, got {outcome:?}");
    let error = json(outcome);
    assert_eq!(error["code"], code, "{error}");
    assert!(error["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{error}");
    error["details"].as_str().unwrap().to_owned()
}

pub fn expect_success(outcome: &Outcome) {
    assert_eq!(
        outcome.exit_code,
        0,
        "expected success, got {outcome:?} ({})",
        String::from_utf8_lossy(&outcome.stdout)
    );
}

/// A scripted IPAM plugin: answers VERSION with `versions`, ADD with `add`, everything else with
/// success; records each call's command and the `cniVersion` it was given.
#[derive(Debug)]
pub struct ScriptedIpam {
    pub versions: Vec<&'static str>,
    pub add: Result<Vec<u8>, cni::IpamError>,
    pub calls: Mutex<Vec<(cni::Command, String)>>,
}

impl ScriptedIpam {
    pub fn new(add: Result<Vec<u8>, cni::IpamError>) -> Self {
        Self { versions: vec!["0.3.1", "0.4.0", "1.0.0"], add, calls: Mutex::default() }
    }

    /// The commands run, VERSION probes left out.
    pub fn commands(&self) -> Vec<cni::Command> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .map(|(command, _)| *command)
            .filter(|command| *command != cni::Command::Version)
            .collect()
    }
}

impl IpamExec for ScriptedIpam {
    fn exec(
        &self,
        _: &str,
        command: cni::Command,
        _: &CniEnv,
        stdin: &[u8],
    ) -> Result<Vec<u8>, cni::IpamError> {
        let version = serde_json::from_slice::<serde_json::Value>(stdin).unwrap()["cniVersion"].to_string();
        self.calls.lock().unwrap().push((command, version));
        match command {
            cni::Command::Version => Ok(serde_json::to_vec(
                &serde_json::json!({"cniVersion": "1.0.0", "supportedVersions": self.versions}),
            )
            .unwrap()),
            cni::Command::Add => self.add.clone(),
            _ => Ok(Vec::new()),
        }
    }
}
