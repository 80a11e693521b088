//! The local API's messages.

use serde::{Deserialize, Serialize};

use crate::status::ConnectionState;

/// The longest request line the agent reads; anything longer is refused.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// A question to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// `vemcmd show card`.
    ShowCard,
}

/// The agent's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "kebab-case")]
pub enum Response {
    Card(Box<CardInfo>),
    /// The request could not be served; `message` says why.
    Error {
        message: String,
    },
}

/// Everything `vemcmd show card` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardInfo {
    /// The host name.
    pub card_name: String,
    pub host_id: String,
    pub switch_name: String,
    /// The module number (slot); `None` before the first register.
    pub module: Option<u32>,
    /// The supervisor URL the agent connects to.
    pub supervisor: String,
    pub state: ConnectionState,
    /// Milliseconds since the supervisor last answered a heartbeat.
    pub last_heartbeat_ack_ms: Option<u64>,
    pub policy_count: usize,
    /// The config revision of the agent's snapshot.
    pub policy_revision: i64,
    /// The config revision the supervisor last reported.
    pub supervisor_revision: Option<i64>,
    pub max_virtual_ports: u32,
    pub addresses: Vec<String>,
    pub hardware: String,
    pub version: String,
}

impl Request {
    /// Parses one request line (without its newline).
    pub fn decode(line: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(line).map_err(|err| format!("malformed request: {err}"))
    }
}

impl Response {
    /// An error answer.
    pub fn error(message: impl Into<String>) -> Self {
        Self::Error { message: message.into() }
    }
}

/// Serializes `message` as one line, newline included.
pub(crate) fn encode_line(message: &impl Serialize) -> Vec<u8> {
    // Plain data with string keys: serialization cannot fail.
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json() {
        assert_eq!(encode_line(&Request::ShowCard), b"{\"request\":\"show-card\"}\n");
        assert_eq!(Request::decode(br#"{"request":"show-card"}"#), Ok(Request::ShowCard));
    }

    #[test]
    fn malformed_requests_say_why() {
        for bad in [&b"show card"[..], br#"{"request":"show-everything"}"#, b"\xff\xfe", b"{}"] {
            let err = Request::decode(bad).expect_err("accepted");
            assert!(err.starts_with("malformed request: "), "{err}");
        }
    }
}
