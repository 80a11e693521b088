//! The plugin exec'd as a process, per the spec: CNI_* environment and stdin in, stdout and exit
//! status out, for every verb and error case, and many ADDs at once.
//!
//! This test binary is also the plugin: started with SWITCHYARD_CNI_TEST_STATE set, it runs
//! `cni::main_with_agent` with an agent whose ports are files in that directory (created with
//! O_EXCL, so concurrent plugin processes race safely, as they do against the real agent).

#![allow(clippy::unwrap_used)]

mod common;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use cni::{AddressPlan, Agent, AgentError, AgentStatus, Cidr, PortRequest, PortResult, Route};
use common::conf;
use serde_json::{Value, json};

const STATE_VAR: &str = "SWITCHYARD_CNI_TEST_STATE";
const NETNS: &str = "/run/netns/c1";

/// An agent whose state is a directory: `port-<iface_id>` files, `veth-<n>` claims, and the
/// markers `stopped` and `headless`.
#[derive(Debug)]
struct DirAgent {
    dir: PathBuf,
}

impl DirAgent {
    fn running(&self) -> Result<(), AgentError> {
        if self.dir.join("stopped").exists() {
            return Err(AgentError::NotRunning(format!(
                "{}/agent.sock: connection refused",
                self.dir.display()
            )));
        }
        Ok(())
    }

    fn claim_veth(&self) -> Result<u32, AgentError> {
        (1..250)
            .find(|n| std::fs::File::create_new(self.dir.join(format!("veth-{n}"))).is_ok())
            .ok_or_else(|| AgentError::Refused("pool exhausted".into()))
    }

    fn port_path(&self, iface_id: &str) -> PathBuf {
        self.dir.join(format!("port-{iface_id}"))
    }
}

fn port_to_json(port: &PortResult) -> Value {
    json!({"veth": port.veth, "host_ifname": port.host_ifname, "mac": port.mac, "ifname": port.ifname,
        "ips": port.ips, "gateway": port.gateway, "routes": port.routes, "mtu": port.mtu, "up": port.up})
}

fn port_from_json(value: &Value) -> PortResult {
    PortResult {
        veth: u32::try_from(value["veth"].as_u64().unwrap()).unwrap(),
        host_ifname: value["host_ifname"].as_str().unwrap().into(),
        mac: value["mac"].as_str().unwrap().into(),
        ifname: value["ifname"].as_str().unwrap().into(),
        ips: serde_json::from_value(value["ips"].clone()).unwrap(),
        gateway: serde_json::from_value(value["gateway"].clone()).unwrap(),
        routes: serde_json::from_value(value["routes"].clone()).unwrap(),
        mtu: u32::try_from(value["mtu"].as_u64().unwrap()).unwrap(),
        up: value["up"].as_bool().unwrap(),
    }
}

impl Agent for DirAgent {
    fn status(&self) -> Result<AgentStatus, AgentError> {
        self.running()?;
        let headless = self.dir.join("headless").exists();
        Ok(AgentStatus { reachable: true, connected: !headless, reason: "supervisor unreachable".into() })
    }

    fn attach(&self, request: &PortRequest) -> Result<PortResult, AgentError> {
        self.running()?;
        if request.profile == "missing" {
            return Err(AgentError::Refused("port-profile missing does not exist".into()));
        }
        let veth = self.claim_veth()?;
        let gateway = "10.9.0.1".parse().unwrap();
        let (ips, gateway, routes) = match &request.address {
            AddressPlan::Auto => {
                let address = Cidr { addr: format!("10.9.0.{}", veth + 1).parse().unwrap(), prefix: 24 };
                (
                    vec![address],
                    Some(gateway),
                    vec![Route { dst: "0.0.0.0/0".parse().unwrap(), gw: Some(gateway) }],
                )
            }
            AddressPlan::Given { ips, gateway, routes } => (ips.clone(), *gateway, routes.clone()),
            AddressPlan::None => (Vec::new(), None, Vec::new()),
        };
        let mut hasher = DefaultHasher::new();
        request.iface_id.hash(&mut hasher);
        let port = PortResult {
            veth,
            host_ifname: format!("sy{:08x}", hasher.finish() & 0xffff_ffff),
            mac: format!("02:00:00:00:00:{veth:02x}"),
            ifname: request.ifname.clone(),
            ips,
            gateway,
            routes,
            mtu: request.mtu.unwrap_or(1500),
            up: true,
        };
        let mut file = std::fs::File::create_new(self.port_path(&request.iface_id))
            .map_err(|_| AgentError::Refused(format!("{} is already attached", request.iface_id)))?;
        file.write_all(&serde_json::to_vec(&port_to_json(&port)).unwrap()).unwrap();
        Ok(port)
    }

    fn detach(&self, iface_id: &str) -> Result<(), AgentError> {
        self.running()?;
        if let Some(port) = self.port(iface_id)? {
            std::fs::remove_file(self.port_path(iface_id)).unwrap();
            std::fs::remove_file(self.dir.join(format!("veth-{}", port.veth))).unwrap();
        }
        Ok(())
    }

    fn port(&self, iface_id: &str) -> Result<Option<PortResult>, AgentError> {
        self.running()?;
        Ok(std::fs::read(self.port_path(iface_id))
            .ok()
            .map(|bytes| port_from_json(&serde_json::from_slice(&bytes).unwrap())))
    }

    fn cni_ports(&self, network: &str) -> Result<Vec<String>, AgentError> {
        self.running()?;
        let prefix = format!("port-cni:{network}:");
        Ok(std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|entry| entry.unwrap().file_name().to_str()?.strip_prefix("port-").map(str::to_owned))
            .filter(|id| format!("port-{id}").starts_with(&prefix))
            .collect())
    }
}

/// What one plugin process did.
#[derive(Debug)]
struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:?}"))
    }

    fn ok(self) -> Self {
        assert_eq!(self.status, 0, "expected success: {self:?} {}", String::from_utf8_lossy(&self.stdout));
        self
    }

    fn ok_silent(self) {
        let run = self.ok();
        assert!(run.stdout.is_empty(), "expected no output: {run:?}");
    }

    fn error(self, code: u64) -> String {
        assert_ne!(self.status, 0, "expected failure: {self:?}");
        let error = self.json();
        assert_eq!(error["code"], code, "{error}");
        assert_eq!(error["cniVersion"], "1.1.0", "{error}");
        error["details"].as_str().unwrap().to_owned()
    }
}

/// Runs the plugin as a runtime would: a fresh process, only the CNI_* variables it is given.
fn plugin(state: &Path, vars: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env_clear()
        .env(STATE_VAR, state)
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        status: output.status.code().unwrap(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn attachment<'a>(command: &'a str, container_id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", container_id),
        ("CNI_NETNS", NETNS),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/usr/lib/cni"),
    ]
}

fn ports(state: &Path) -> Vec<String> {
    let mut ports: Vec<String> = std::fs::read_dir(state)
        .unwrap()
        .filter_map(|entry| entry.unwrap().file_name().to_str()?.strip_prefix("port-").map(str::to_owned))
        .collect();
    ports.sort();
    ports
}

fn version(state: &Path) {
    let run = plugin(state, &[("CNI_COMMAND", "VERSION")], br#"{"cniVersion":"1.1.0"}"#).ok();
    assert_eq!(
        run.json(),
        json!({"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})
    );
}

fn add_check_del(state: &Path) {
    let result = plugin(state, &attachment("ADD", "c1"), &conf(json!({}))).ok().json();
    assert_eq!(result["ips"][0]["address"], "10.9.0.2/24");
    assert_eq!(result["interfaces"][1]["sandbox"], NETNS);
    plugin(state, &attachment("CHECK", "c1"), &conf(json!({"prevResult": result}))).ok_silent();
    // A second ADD of the same attachment is refused: the interface exists.
    assert!(plugin(state, &attachment("ADD", "c1"), &conf(json!({}))).error(7).contains("already attached"));
    plugin(state, &attachment("DEL", "c1"), &conf(json!({}))).ok_silent();
    assert!(ports(state).is_empty());
    // Again, and with the namespace gone (runtimes pass an empty CNI_NETNS then).
    plugin(state, &attachment("DEL", "c1"), &conf(json!({}))).ok_silent();
    let mut gone = attachment("DEL", "c1");
    gone[2] = ("CNI_NETNS", "");
    plugin(state, &gone, &conf(json!({}))).ok_silent();
    // CHECK now finds nothing.
    assert!(
        plugin(state, &attachment("CHECK", "c1"), &conf(json!({"prevResult": result})))
            .error(100)
            .contains("no port")
    );
}

fn error_cases(state: &Path) {
    assert!(plugin(state, &attachment("ADD", "c1"), b"{\"cniVersion\":").error(6).contains("not JSON"));
    let no_command: Vec<_> =
        attachment("ADD", "c1").into_iter().filter(|(name, _)| *name != "CNI_COMMAND").collect();
    assert!(plugin(state, &no_command, &conf(json!({}))).error(4).contains("CNI_COMMAND"));
    let no_profile =
        br#"{"cniVersion":"1.1.0","name":"web","type":"switchyard-cni","ipam":{"type":"switchyard"}}"#;
    assert!(plugin(state, &attachment("ADD", "c1"), no_profile).error(7).contains("profile"));
    let run = plugin(state, &attachment("ADD", "c1"), &conf(json!({"profile": "missing"})));
    assert!(run.stderr.contains("port-profile missing does not exist"), "stderr: {}", run.stderr);
    run.error(7);
    assert!(ports(state).is_empty());
}

fn agent_down_then_back(state: &Path) {
    let status = [("CNI_COMMAND", "STATUS"), ("CNI_PATH", "/usr/lib/cni")];
    plugin(state, &status, &conf(json!({}))).ok_silent();
    std::fs::write(state.join("headless"), b"").unwrap();
    assert!(plugin(state, &status, &conf(json!({}))).error(50).contains("headless"));
    std::fs::write(state.join("stopped"), b"").unwrap();
    assert!(plugin(state, &status, &conf(json!({}))).error(50).contains("switchyard agent"));
    plugin(state, &attachment("ADD", "c1"), &conf(json!({}))).error(11);
    plugin(state, &attachment("DEL", "c1"), &conf(json!({}))).error(11);
    // The agent restarts (after a crash): ADD works.
    std::fs::remove_file(state.join("stopped")).unwrap();
    std::fs::remove_file(state.join("headless")).unwrap();
    plugin(state, &attachment("ADD", "c1"), &conf(json!({}))).ok();
    plugin(state, &attachment("DEL", "c1"), &conf(json!({}))).ok_silent();
}

fn concurrent_adds(state: &Path) {
    let stdin = conf(json!({}));
    let results: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|index| {
                let stdin = &stdin;
                scope.spawn(move || {
                    let container_id = format!("c{index}");
                    plugin(state, &attachment("ADD", &container_id), stdin).ok().json()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    let mut addresses: Vec<&str> =
        results.iter().map(|result| result["ips"][0]["address"].as_str().unwrap()).collect();
    let mut host_ends: Vec<&str> =
        results.iter().map(|result| result["interfaces"][0]["name"].as_str().unwrap()).collect();
    for list in [&mut addresses, &mut host_ends] {
        list.sort_unstable();
        list.dedup();
        assert_eq!(list.len(), 12, "{list:?}");
    }
    assert_eq!(ports(state).len(), 12);
}

fn gc_frees_leaked_attachments(state: &Path) {
    // Two containers whose runtime crashed before DEL, one still running.
    for container in ["c1", "c2", "c3"] {
        plugin(state, &attachment("ADD", container), &conf(json!({}))).ok();
    }
    let valid = json!({"cni.dev/valid-attachments": [{"containerID": "c2", "ifname": "eth0"}]});
    let run = plugin(state, &[("CNI_COMMAND", "GC"), ("CNI_PATH", "/usr/lib/cni")], &conf(valid));
    assert!(run.stderr.contains("removed stale port cni:web:c1:eth0"), "stderr: {}", run.stderr);
    run.ok_silent();
    assert_eq!(ports(state), ["cni:web:c2:eth0"]);
}

type Case = (&'static str, fn(&Path));

fn main() -> ExitCode {
    if let Some(state) = std::env::var_os(STATE_VAR) {
        return cni::main_with_agent(&DirAgent { dir: state.into() });
    }
    let cases: [Case; 6] = [
        ("version", version),
        ("add_check_del", add_check_del),
        ("error_cases", error_cases),
        ("agent_down_then_back", agent_down_then_back),
        ("concurrent_adds", concurrent_adds),
        ("gc_frees_leaked_attachments", gc_frees_leaked_attachments),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    let mut failed = 0;
    for (name, case) in cases {
        if !filter.is_empty() && !filter.iter().any(|wanted| name.contains(wanted.as_str())) {
            continue;
        }
        let state = tempfile::tempdir().unwrap();
        let outcome = std::panic::catch_unwind(|| case(state.path()));
        println!("test {name} ... {}", if outcome.is_ok() { "ok" } else { "FAILED" });
        failed += usize::from(outcome.is_err());
    }
    println!("exec tests: {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
