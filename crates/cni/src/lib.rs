//! Switchyard's CNI 1.1 plugin, `switchyard-cni`: a thin client of the host's agent.
//!
//! The `switchyard` binary calls [`main`] when invoked under that name: it reads the network
//! configuration, reaches the host's agent through [`LocalAgent`] (the `agent.sock` of the
//! configuration's `dataDir`) and answers. [`run`] is the whole protocol as a function of the
//! environment and stdin over any [`Agent`], so every verb is testable without a runtime.
//!
//! The agent side must honour the trait's contract: `detach` of an absent port is `Ok`, `attach`
//! returns once the port's policy is in place, `cni_ports` lists iface_ids starting with
//! `cni:<network>:`, and "nothing listens on the socket" is [`AgentError::NotRunning`] (the
//! runtime then retries) while a refusal is [`AgentError::Refused`] with a reason that says what
//! to do.
//!
//! Each attachment is a port named `cni:<network>:<container id>:<ifname>` ([`IfaceId`]); the
//! plugin keeps no state of its own, so concurrent invocations and a restarted agent need no
//! coordination here.

mod agent;
mod config;
mod env;
mod error;
mod iface_id;
mod ipam;
mod local_agent;
mod net;
mod result;
mod verbs;
mod version;

use std::io::{Read, Write};

pub use agent::{AddressPlan, Agent, AgentError, AgentStatus, PortRequest, PortResult};
pub use config::{Attachment, Ipam, NetConf, SWITCHYARD_IPAM};
pub use env::{CniEnv, Command};
pub use error::{CniError, ErrorCode};
pub use iface_id::{IfaceId, IfaceIdError};
pub use ipam::{IpamError, IpamExec, ProcessIpamExec, find_plugin};
pub use local_agent::{DATA_DIR_KEY, DEFAULT_DATA_DIR, LocalAgent};
pub use net::{Cidr, CidrError, Dns, Route};
pub use result::{CniResult, Interface, IpConfig};
pub use version::{CniVersion, SUPPORTED_VERSIONS};

/// What the process prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 0 on success, 1 with an error object on stdout otherwise.
    pub exit_code: u8,
    /// The result, the version answer or the error object (empty for DEL, CHECK, STATUS, GC).
    pub stdout: Vec<u8>,
    /// Log lines for stderr (the runtime records them; they are not part of the protocol).
    pub notes: Vec<String>,
}

/// Runs one CNI invocation.
pub fn run<A: Agent, E: IpamExec>(agent: &A, env: &CniEnv, stdin: &[u8], exec: &E) -> Outcome {
    let mut notes = Vec::new();
    match dispatch(agent, env, stdin, exec, &mut notes) {
        Ok(stdout) => Outcome { exit_code: 0, stdout, notes },
        Err(error) => {
            let version = config::input_version(stdin).map_or(version::LATEST, CniVersion::as_str);
            notes.push(error.to_string());
            Outcome { exit_code: 1, stdout: error.to_json(version), notes }
        }
    }
}

fn dispatch<A: Agent, E: IpamExec>(
    agent: &A,
    env: &CniEnv,
    stdin: &[u8],
    exec: &E,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, CniError> {
    let command = env.command()?;
    if command == Command::Version {
        return Ok(version_answer(stdin));
    }
    let conf = NetConf::parse(stdin)?;
    let mut request = verbs::Request { conf: &conf, stdin, env, exec, notes: Vec::new() };
    let result = match command {
        Command::Add => verbs::add(agent, &mut request),
        Command::Del => verbs::del(agent, &mut request).map(|()| Vec::new()),
        Command::Check => verbs::check(agent, &mut request).map(|()| Vec::new()),
        Command::Status => verbs::status(agent, &mut request).map(|()| Vec::new()),
        Command::Gc => verbs::gc(agent, &mut request).map(|()| Vec::new()),
        Command::Version => Ok(version_answer(stdin)),
    };
    notes.append(&mut request.notes);
    result
}

/// VERSION's answer: the input's `cniVersion` echoed, and every version this plugin speaks.
fn version_answer(stdin: &[u8]) -> Vec<u8> {
    let asked = config::parse_object(stdin)
        .ok()
        .and_then(|object| object.get("cniVersion")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| version::LATEST.to_owned());
    let answer = serde_json::json!({"cniVersion": asked, "supportedVersions": SUPPORTED_VERSIONS});
    serde_json::to_vec(&answer).unwrap_or_default()
}

/// The process entry point: reads CNI_* and stdin, runs, prints, exits as the spec says.
pub fn main_with_agent<A: Agent>(agent: &A) -> std::process::ExitCode {
    main_with(|_| agent)
}

/// The `switchyard-cni` binary: the host's agent found through the configuration's `dataDir`
/// (see [`LocalAgent::for_config`]).
pub fn main() -> std::process::ExitCode {
    main_with(|stdin| Box::new(LocalAgent::for_config(stdin)))
}

/// Reads stdin, makes the agent from it, runs the verb and prints the outcome.
fn main_with<A: Agent, R: std::ops::Deref<Target = A>>(
    agent_for: impl FnOnce(&[u8]) -> R,
) -> std::process::ExitCode {
    let env = CniEnv::from_process();
    let mut stdin = Vec::new();
    let outcome = match std::io::stdin().read_to_end(&mut stdin) {
        Ok(_) => run(&*agent_for(&stdin), &env, &stdin, &ProcessIpamExec::default()),
        Err(error) => {
            let error = CniError::new(
                ErrorCode::Io,
                "Failed to read the network configuration",
                format!("reading stdin failed ({error}): the runtime must pass the configuration on stdin"),
            );
            Outcome { exit_code: 1, stdout: error.to_json(version::LATEST), notes: vec![error.to_string()] }
        }
    };
    let mut stderr = std::io::stderr().lock();
    for note in &outcome.notes {
        // stderr is a log for the runtime; failing to write it must not change the answer.
        let _ = writeln!(stderr, "switchyard-cni: {note}");
    }
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(&outcome.stdout).and_then(|()| stdout.flush()).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::from(outcome.exit_code)
}
