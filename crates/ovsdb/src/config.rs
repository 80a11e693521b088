//! Where ovsdb-server is and what the agent owns in it: `--ovsdb unix:PATH --ovs-bridge NAME`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::OvsdbError;

/// An ovsdb-server address, in Open vSwitch's own syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:PATH`: the server's `--remote=punix:PATH` socket.
    Unix(PathBuf),
}

impl FromStr for Endpoint {
    type Err = OvsdbError;

    fn from_str(text: &str) -> Result<Self, OvsdbError> {
        match text.strip_prefix("unix:") {
            Some(path) if !path.is_empty() => Ok(Endpoint::Unix(PathBuf::from(path))),
            _ => Err(OvsdbError::BadEndpoint(text.to_owned())),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How the OVSDB client connects and what it manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsdbConfig {
    /// The server.
    pub endpoint: Endpoint,
    /// The bridge whose ports are the agent's (`--ovs-bridge`); created when missing.
    pub bridge: String,
    /// The first reconnect delay.
    pub reconnect_min: Duration,
    /// The longest reconnect delay.
    pub reconnect_max: Duration,
}

impl OvsdbConfig {
    /// Reconnects between 100 ms and 5 s: quick enough that an `ovs-vsctl` waiting through an
    /// ovsdb-server restart is released within its default timeout.
    pub fn new(endpoint: Endpoint, bridge: impl Into<String>) -> Self {
        Self {
            endpoint,
            bridge: bridge.into(),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use super::*;

    #[test]
    fn parses_unix_endpoints_and_refuses_the_rest() {
        let endpoint: Endpoint = "unix:/run/openvswitch/db.sock".parse().unwrap();
        assert_eq!(endpoint, Endpoint::Unix("/run/openvswitch/db.sock".into()));
        assert_eq!(endpoint.to_string(), "unix:/run/openvswitch/db.sock");
        for bad in ["tcp:127.0.0.1:6640", "unix:", "/run/openvswitch/db.sock"] {
            let error = bad.parse::<Endpoint>().unwrap_err();
            assert_eq!(error.to_string(), format!("ovsdb endpoint '{bad}': expected unix:PATH"));
        }
    }
}
