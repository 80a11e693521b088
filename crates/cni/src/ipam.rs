//! Delegated IPAM: running another CNI plugin (e.g. host-local) found in CNI_PATH, as section 4
//! of the spec says: same environment, same configuration on stdin, its stderr passed through.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config;
use crate::env::{CniEnv, Command};
use crate::error::{CniError, ErrorCode};
use crate::version::CniVersion;

/// Runs a delegated plugin. The binary uses [`ProcessIpamExec`]; tests may script one.
pub trait IpamExec {
    /// Runs plugin `plugin` with CNI_COMMAND=`command`, the other CNI_* variables from `env`
    /// and `stdin`; returns its stdout when it exits 0.
    fn exec(&self, plugin: &str, command: Command, env: &CniEnv, stdin: &[u8]) -> Result<Vec<u8>, IpamError>;
}

/// Why a delegated plugin did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// No executable of that name in CNI_PATH.
    #[error("IPAM plugin {plugin:?} is not in CNI_PATH ({path}): install it there or fix ipam.type")]
    NotFound {
        /// The plugin type.
        plugin: String,
        /// The CNI_PATH searched.
        path: String,
    },
    /// It could not be started or talked to.
    #[error("IPAM plugin {plugin:?} could not be run: {reason}")]
    Io {
        /// The plugin type.
        plugin: String,
        /// What failed.
        reason: String,
    },
    /// It did not finish in time and was killed.
    #[error("IPAM plugin {plugin:?} did not answer within {seconds} s and was stopped; check it and retry")]
    TimedOut {
        /// The plugin type.
        plugin: String,
        /// The limit.
        seconds: u64,
    },
    /// It exited non-zero, with the error it printed.
    #[error("IPAM plugin {plugin:?} failed (code {code}): {msg}{details}", details = if details.is_empty() { String::new() } else { format!(": {details}") })]
    Failed {
        /// The plugin type.
        plugin: String,
        /// The spec error code it gave (5 when it printed none).
        code: u32,
        /// Its message.
        msg: String,
        /// Its details.
        details: String,
    },
}

impl IpamError {
    /// The spec error the runtime sees: the plugin's own code when it gave one.
    pub fn into_cni(self) -> CniError {
        let code = match &self {
            Self::NotFound { .. } => ErrorCode::InvalidConfig,
            Self::Io { .. } => ErrorCode::Io,
            Self::TimedOut { .. } => ErrorCode::TryAgainLater,
            Self::Failed { code, .. } => ErrorCode::from_number(*code),
        };
        CniError::new(code, "Delegated IPAM failed", self.to_string())
    }
}

/// Runs delegated plugins as child processes, bounded in time.
#[derive(Debug, Clone)]
pub struct ProcessIpamExec {
    /// How long a plugin may take before it is killed.
    pub timeout: Duration,
}

impl Default for ProcessIpamExec {
    fn default() -> Self {
        // Long enough for a DHCP exchange, short enough that a stuck plugin does not hang the
        // runtime's own (usually longer) timeout.
        Self { timeout: Duration::from_secs(60) }
    }
}

/// The first executable file named `plugin` in the `:`-separated `cni_path`.
pub fn find_plugin(plugin: &str, cni_path: &str) -> Option<PathBuf> {
    cni_path
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(plugin))
        .find(|candidate| candidate.is_file())
}

impl ProcessIpamExec {
    fn spawn(&self, binary: &Path, command: Command, env: &CniEnv) -> std::io::Result<Child> {
        let mut process = std::process::Command::new(binary);
        process.env("CNI_COMMAND", command.as_str());
        let variables = [
            ("CNI_CONTAINERID", &env.container_id),
            ("CNI_NETNS", &env.netns),
            ("CNI_IFNAME", &env.ifname),
            ("CNI_ARGS", &env.args),
            ("CNI_PATH", &env.path),
        ];
        for (name, value) in variables {
            match value {
                Some(value) => process.env(name, value),
                None => process.env_remove(name),
            };
        }
        process.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn()
    }

    /// Waits for `child` until the deadline, killing it past that.
    fn wait(&self, child: &mut Child, plugin: &str) -> Result<std::process::ExitStatus, IpamError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    // Best effort: it may have exited between the two calls.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(IpamError::TimedOut {
                        plugin: plugin.into(),
                        seconds: self.timeout.as_secs(),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(error) => return Err(IpamError::Io { plugin: plugin.into(), reason: error.to_string() }),
            }
        }
    }
}

/// The error object a failing plugin prints, read leniently.
#[derive(Deserialize)]
struct PluginError {
    code: u32,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    details: String,
}

impl IpamExec for ProcessIpamExec {
    fn exec(&self, plugin: &str, command: Command, env: &CniEnv, stdin: &[u8]) -> Result<Vec<u8>, IpamError> {
        let cni_path = env.path.clone().unwrap_or_default();
        let binary = find_plugin(plugin, &cni_path)
            .ok_or_else(|| IpamError::NotFound { plugin: plugin.into(), path: cni_path.clone() })?;
        let io_error =
            |error: std::io::Error| IpamError::Io { plugin: plugin.into(), reason: error.to_string() };
        let mut child = self.spawn(&binary, command, env).map_err(io_error)?;
        // Feed stdin and drain stdout on their own threads so neither pipe can fill and stall.
        let mut child_stdin = child.stdin.take();
        let input = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            if let Some(pipe) = child_stdin.as_mut() {
                // A plugin that exits without reading stdin closes the pipe: not our error.
                let _ = pipe.write_all(&input);
            }
        });
        let mut child_stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut output = Vec::new();
            if let Some(pipe) = child_stdout.as_mut() {
                let _ = pipe.read_to_end(&mut output);
            }
            output
        });
        let status = self.wait(&mut child, plugin)?;
        let _ = writer.join();
        let output = reader.join().unwrap_or_default();
        if status.success() {
            return Ok(output);
        }
        Err(match serde_json::from_slice::<PluginError>(&output) {
            Ok(error) => IpamError::Failed {
                plugin: plugin.into(),
                code: error.code,
                msg: error.msg,
                details: error.details,
            },
            Err(_) => IpamError::Failed {
                plugin: plugin.into(),
                code: ErrorCode::Io.number(),
                msg: format!("exited with {status}"),
                details: String::from_utf8_lossy(&output).trim().to_owned(),
            },
        })
    }
}

/// The versions `plugin` says it speaks (its VERSION answer).
pub fn supported_versions(
    exec: &impl IpamExec,
    plugin: &str,
    env: &CniEnv,
) -> Result<Vec<String>, IpamError> {
    #[derive(Deserialize)]
    struct Versions {
        #[serde(rename = "supportedVersions")]
        supported: Vec<String>,
    }
    let output = exec.exec(plugin, Command::Version, env, br#"{"cniVersion":"1.1.0"}"#)?;
    serde_json::from_slice::<Versions>(&output).map(|versions| versions.supported).map_err(|error| {
        IpamError::Io {
            plugin: plugin.into(),
            reason: format!("its VERSION answer is not a version list: {error}"),
        }
    })
}

/// Whether `plugin` says it speaks CNI 1.1 (so it knows GC and STATUS).
pub fn speaks_1_1(exec: &impl IpamExec, plugin: &str, env: &CniEnv) -> bool {
    supported_versions(exec, plugin, env)
        .is_ok_and(|versions| versions.iter().any(|version| version == "1.1.0"))
}

/// The configuration to give `plugin`: `stdin` unchanged when it speaks `wanted`, else with
/// `cniVersion` lowered to the newest version both speak. An IPAM result reads the same from
/// 0.3.0 on, so e.g. Debian's host-local (up to 1.0.0) serves a 1.1.0 network. Code 1 when the
/// two share no version.
pub fn config_for(
    exec: &impl IpamExec,
    plugin: &str,
    env: &CniEnv,
    stdin: &[u8],
    wanted: CniVersion,
) -> Result<Vec<u8>, CniError> {
    let theirs = supported_versions(exec, plugin, env).map_err(IpamError::into_cni)?;
    let common = theirs
        .iter()
        .filter_map(|version| CniVersion::parse(version).ok())
        .filter(|version| *version <= wanted)
        .max()
        .ok_or_else(|| {
            CniError::new(
                ErrorCode::IncompatibleVersion,
                "Incompatible CNI version",
                format!(
                    "IPAM plugin {plugin:?} speaks {} but this network needs {} or an older version from 0.3.0 on: update the plugin",
                    theirs.join(", "),
                    wanted.as_str()
                ),
            )
        })?;
    if common == wanted {
        return Ok(stdin.to_vec());
    }
    let mut object = config::parse_object(stdin)?;
    object.insert("cniVersion".into(), common.as_str().into());
    Ok(serde_json::to_vec(&object).unwrap_or_else(|_| stdin.to_vec()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env_with_path(path: &str) -> CniEnv {
        CniEnv { path: Some(path.into()), ..CniEnv::default() }
    }

    #[test]
    fn finds_the_first_match_in_cni_path() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        std::fs::write(second.path().join("ipam"), b"").unwrap();
        let path = format!("{}::{}", first.path().display(), second.path().display());
        assert_eq!(find_plugin("ipam", &path), Some(second.path().join("ipam")));
        assert_eq!(find_plugin("other", &path), None);
    }

    #[test]
    fn a_missing_plugin_is_a_config_error_naming_the_path() {
        let error =
            ProcessIpamExec::default().exec("nope", Command::Add, &env_with_path("/nonexistent"), b"{}");
        let error = error.unwrap_err();
        assert!(matches!(error, IpamError::NotFound { .. }));
        let cni = error.into_cni();
        assert_eq!(cni.code, ErrorCode::InvalidConfig);
        assert!(cni.details.contains("/nonexistent"), "{cni}");
    }

    fn script(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn passes_command_env_and_stdin_and_reads_errors() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "echoer", r#"printf '%s|%s|' "$CNI_COMMAND" "$CNI_CONTAINERID"; cat"#);
        script(dir.path(), "failer", r#"echo '{"code":11,"msg":"busy","details":"later"}'; exit 1"#);
        let env =
            CniEnv { container_id: Some("c1".into()), ..env_with_path(&dir.path().display().to_string()) };
        let exec = ProcessIpamExec::default();
        assert_eq!(exec.exec("echoer", Command::Del, &env, b"{}").unwrap(), b"DEL|c1|{}");
        let error = exec.exec("failer", Command::Add, &env, b"{}").unwrap_err().into_cni();
        assert_eq!(error.code, ErrorCode::TryAgainLater);
        assert!(error.details.contains("busy: later"), "{error}");
    }

    #[test]
    fn a_hung_plugin_is_killed_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "hang", "exec sleep 30");
        let exec = ProcessIpamExec { timeout: Duration::from_millis(200) };
        let started = Instant::now();
        let error = exec.exec("hang", Command::Add, &env_with_path(&dir.path().display().to_string()), b"{}");
        assert!(matches!(error, Err(IpamError::TimedOut { .. })), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
