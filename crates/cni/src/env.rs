//! The CNI_* environment a runtime sets for each invocation.

use crate::error::{CniError, ErrorCode};

/// The protocol parameters, as read from the environment (each `None` when unset or empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniEnv {
    /// CNI_COMMAND: ADD, DEL, CHECK, STATUS, GC or VERSION.
    pub command: Option<String>,
    /// CNI_CONTAINERID.
    pub container_id: Option<String>,
    /// CNI_NETNS: the path of the container's network namespace.
    pub netns: Option<String>,
    /// CNI_IFNAME.
    pub ifname: Option<String>,
    /// CNI_ARGS: `KEY=VALUE;KEY=VALUE`.
    pub args: Option<String>,
    /// CNI_PATH: where plugins (delegated IPAM) are found, `:`-separated.
    pub path: Option<String>,
}

/// The verbs of CNI 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Attach a container.
    Add,
    /// Detach it (idempotent).
    Del,
    /// Verify an attachment is as ADD left it.
    Check,
    /// Whether ADD can be served now.
    Status,
    /// Remove attachments the runtime no longer lists.
    Gc,
    /// Which versions this plugin speaks.
    Version,
}

impl Command {
    /// The name the spec gives the verb, as CNI_COMMAND carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "ADD",
            Self::Del => "DEL",
            Self::Check => "CHECK",
            Self::Status => "STATUS",
            Self::Gc => "GC",
            Self::Version => "VERSION",
        }
    }
}

fn invalid_env(details: String) -> CniError {
    CniError::new(ErrorCode::InvalidEnvironment, "Invalid environment variable", details)
}

impl CniEnv {
    /// Reads the CNI_* variables of this process.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self {
            command: var("CNI_COMMAND"),
            container_id: var("CNI_CONTAINERID"),
            netns: var("CNI_NETNS"),
            ifname: var("CNI_IFNAME"),
            args: var("CNI_ARGS"),
            path: var("CNI_PATH"),
        }
    }

    /// The verb asked for (code 4 when CNI_COMMAND is missing or unknown).
    pub fn command(&self) -> Result<Command, CniError> {
        let verbs =
            [Command::Add, Command::Del, Command::Check, Command::Status, Command::Gc, Command::Version];
        let Some(text) = &self.command else {
            return Err(invalid_env(
                "CNI_COMMAND is not set: this program is a CNI plugin, run by a container runtime with CNI_COMMAND=ADD, DEL, CHECK, STATUS, GC or VERSION".into(),
            ));
        };
        verbs.into_iter().find(|verb| verb.as_str() == text).ok_or_else(|| {
            invalid_env(format!(
                "CNI_COMMAND {text:?} is not a CNI verb: use ADD, DEL, CHECK, STATUS, GC or VERSION"
            ))
        })
    }

    /// A variable the verb cannot do without (code 4 naming it when unset).
    pub fn require<'a>(value: &'a Option<String>, name: &str, verb: Command) -> Result<&'a str, CniError> {
        value.as_deref().ok_or_else(|| {
            invalid_env(format!("{name} is not set; {} needs it (the runtime sets it)", verb.as_str()))
        })
    }

    /// The value of `key` in CNI_ARGS, if given (code 4 when CNI_ARGS is malformed).
    pub fn arg(&self, key: &str) -> Result<Option<&str>, CniError> {
        let Some(args) = &self.args else { return Ok(None) };
        for pair in args.split(';').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| {
                invalid_env(format!(
                    "CNI_ARGS entry {pair:?} is not KEY=VALUE (entries are separated by ';')"
                ))
            })?;
            if name == key {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// The owner name the agent records: `namespace/pod` when Kubernetes passed both, else the
    /// container id.
    pub fn owner_name(&self, container_id: &str) -> Result<String, CniError> {
        let namespace = self.arg("K8S_POD_NAMESPACE")?.filter(|value| !value.is_empty());
        let pod = self.arg("K8S_POD_NAME")?.filter(|value| !value.is_empty());
        Ok(match (namespace, pod) {
            (Some(namespace), Some(pod)) => format!("{namespace}/{pod}"),
            _ => container_id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn with_args(args: &str) -> CniEnv {
        CniEnv { args: Some(args.into()), ..CniEnv::default() }
    }

    #[test]
    fn commands_parse_and_unknown_is_code_4() {
        let env = CniEnv { command: Some("GC".into()), ..CniEnv::default() };
        assert_eq!(env.command().unwrap(), Command::Gc);
        let env = CniEnv { command: Some("add".into()), ..CniEnv::default() };
        let error = env.command().unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidEnvironment);
        assert!(error.details.contains("CNI_COMMAND"), "{error}");
        assert_eq!(CniEnv::default().command().unwrap_err().code, ErrorCode::InvalidEnvironment);
    }

    #[test]
    fn owner_is_the_pod_when_kubernetes_names_it() {
        let env = with_args(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc",
        );
        assert_eq!(env.owner_name("abc").unwrap(), "shop/web-0");
        assert_eq!(with_args("K8S_POD_NAME=web-0").owner_name("abc").unwrap(), "abc");
        assert_eq!(CniEnv::default().owner_name("abc").unwrap(), "abc");
    }

    #[test]
    fn malformed_args_are_code_4() {
        let error = with_args("K8S_POD_NAME").owner_name("abc").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidEnvironment);
        assert!(error.details.contains("CNI_ARGS"), "{error}");
    }

    #[test]
    fn require_names_the_variable() {
        let error = CniEnv::require(&None, "CNI_NETNS", Command::Add).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidEnvironment);
        assert!(error.details.contains("CNI_NETNS") && error.details.contains("ADD"), "{error}");
    }
}
