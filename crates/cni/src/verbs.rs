//! One file per CNI verb; this module holds what they share.

mod add;
mod check;
mod del;
mod gc;
mod status;

pub use add::add;
pub use check::check;
pub use del::del;
pub use gc::gc;
pub use status::status;

use crate::agent::AgentError;
use crate::config::Ipam;
use crate::config::NetConf;
use crate::env::{CniEnv, Command};
use crate::error::{CniError, ErrorCode};
use crate::iface_id::{IfaceId, IfaceIdError};
use crate::ipam::{IpamError, IpamExec, config_for};

/// What every verb gets: the parsed configuration and the raw one (delegated plugins get that
/// unchanged), the environment, and a place for notes the runtime logs from stderr.
#[derive(Debug)]
pub struct Request<'a, E: IpamExec> {
    /// The checked configuration.
    pub conf: &'a NetConf,
    /// The configuration exactly as the runtime passed it.
    pub stdin: &'a [u8],
    /// CNI_* variables.
    pub env: &'a CniEnv,
    /// How delegated IPAM runs.
    pub exec: &'a E,
    /// Lines for stderr.
    pub notes: Vec<String>,
}

/// A delegated IPAM plugin with the configuration it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegate {
    /// Its type (the binary's name in CNI_PATH).
    pub plugin: String,
    /// The configuration, its `cniVersion` lowered to one the plugin speaks if need be.
    pub stdin: Vec<u8>,
}

impl<E: IpamExec> Request<'_, E> {
    /// The delegated IPAM plugin, if the configuration names one, with the configuration for it.
    pub fn delegate(&self) -> Result<Option<Delegate>, CniError> {
        self.delegate_with(self.stdin)
    }

    /// As [`Request::delegate`], for a configuration other than the one on stdin.
    pub fn delegate_with(&self, stdin: &[u8]) -> Result<Option<Delegate>, CniError> {
        let Ipam::Delegated(plugin) = &self.conf.ipam else { return Ok(None) };
        let stdin = config_for(self.exec, plugin, self.env, stdin, self.conf.version)?;
        Ok(Some(Delegate { plugin: plugin.clone(), stdin }))
    }

    /// Runs the delegate with `command` in `env`; its stdout on success.
    pub fn run_delegate(
        &self,
        delegate: &Delegate,
        command: Command,
        env: &CniEnv,
    ) -> Result<Vec<u8>, CniError> {
        self.exec.exec(&delegate.plugin, command, env, &delegate.stdin).map_err(IpamError::into_cni)
    }
}

/// The spec error an agent failure becomes for `verb`: a stopped agent is transient for the
/// attachment verbs (the runtime retries) and "not available" for STATUS.
pub fn agent_error(verb: Command, error: &AgentError) -> CniError {
    let code = match (error, verb) {
        (AgentError::NotRunning(_) | AgentError::Unavailable(_), Command::Status) => ErrorCode::NotAvailable,
        (AgentError::NotRunning(_) | AgentError::Unavailable(_), _) => ErrorCode::TryAgainLater,
        (AgentError::Refused(_), _) => ErrorCode::InvalidConfig,
        (AgentError::Failed(_), _) => ErrorCode::Io,
    };
    CniError::new(code, format!("{} failed at the Switchyard agent", verb.as_str()), error.to_string())
}

/// The attachment's port id from the configuration and the environment (code 4/7 when invalid).
pub fn attachment_id(conf: &NetConf, env: &CniEnv, verb: Command) -> Result<IfaceId, CniError> {
    attachment_id_raw(conf, env, verb)?.map_err(IfaceIdError::into_cni)
}

/// As [`attachment_id`], but an invalid name is returned to the caller to judge (DEL forgives it).
fn attachment_id_raw(
    conf: &NetConf,
    env: &CniEnv,
    verb: Command,
) -> Result<Result<IfaceId, IfaceIdError>, CniError> {
    let container_id = CniEnv::require(&env.container_id, "CNI_CONTAINERID", verb)?;
    let ifname = CniEnv::require(&env.ifname, "CNI_IFNAME", verb)?;
    Ok(IfaceId::new(&conf.network, container_id, ifname))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_failures_map_to_the_specs_codes() {
        let stopped = AgentError::NotRunning("no socket".into());
        assert_eq!(agent_error(Command::Add, &stopped).code, ErrorCode::TryAgainLater);
        assert_eq!(agent_error(Command::Del, &stopped).code, ErrorCode::TryAgainLater);
        assert_eq!(agent_error(Command::Status, &stopped).code, ErrorCode::NotAvailable);
        let refused = agent_error(Command::Add, &AgentError::Refused("no profile db".into()));
        assert_eq!(refused.code, ErrorCode::InvalidConfig);
        assert!(refused.details.contains("no profile db"), "{refused}");
        let failed = agent_error(Command::Check, &AgentError::Failed("netlink: EBUSY".into()));
        assert_eq!(failed.code, ErrorCode::Io);
        assert!(failed.details.contains("agent's log"), "{failed}");
    }
}
