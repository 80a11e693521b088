//! The local API's messages.

use serde::{Deserialize, Serialize};

use crate::ports::flow_view::{ConntrackView, FlowView};
use crate::ports::{
    AttachSpec, AttachedView, DetachSpec, DetachedView, MacView, PortsView, TraceView, VxlanView,
};
use crate::status::ConnectionState;

/// The longest request line the agent reads; anything longer is refused.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// A question to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// `vemcmd show card`.
    ShowCard,
    /// `switchyard attach`: answered once the port's policy is in force.
    Attach {
        /// What to attach.
        spec: AttachSpec,
    },
    /// `switchyard detach`.
    Detach {
        /// Which port.
        port: DetachSpec,
    },
    /// Detaches the port of `iface_id` if there is one (CNI's DEL, Docker's DeleteEndpoint):
    /// answered `done` either way.
    DetachIfAttached { iface_id: String },
    /// One port, as an attach answered it (CNI's CHECK); `port` is absent when there is none.
    ShowAttached { iface_id: String },
    /// `vemcmd show port`, `show port vlans`, `show stats`, `show drops`.
    ShowPorts,
    /// `vemcmd show l2 VLAN` (every VLAN when `vlan` is absent).
    ShowL2 {
        /// The VLAN.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vlan: Option<u16>,
    },
    /// `vemcmd show l2 bd-name NAME`: one bridge-domain's MAC table.
    ShowL2BridgeDomain {
        /// The bridge-domain's name.
        name: String,
    },
    /// `vemcmd show vxlan`.
    ShowVxlan,
    /// `vemcmd show conntrack`.
    ShowConntrack,
    /// `vemcmd clear conntrack`.
    ClearConntrack,
    /// `vemcmd show flows`.
    ShowFlows,
    /// `vemcmd trace`: run a frame through the datapath without switching it.
    Trace {
        /// The ingress port: `Veth3`, `Vethernet3`, or an LTL number.
        port: String,
        /// The frame, in hex.
        frame_hex: String,
    },
}

/// The agent's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "kebab-case")]
pub enum Response {
    Card(Box<CardInfo>),
    Attached(AttachedView),
    /// The answer to `show-attached`.
    Port {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<AttachedView>,
    },
    Detached(DetachedView),
    Ports(PortsView),
    L2 {
        /// The entries, by segment (VLANs, then bridge-domains) then MAC.
        entries: Vec<MacView>,
    },
    /// One bridge-domain's MAC table.
    BridgeDomainL2 {
        name: String,
        segment_id: u32,
        /// The entries, by MAC.
        entries: Vec<MacView>,
    },
    Vxlan(Box<VxlanView>),
    Trace(TraceView),
    Conntrack(ConntrackView),
    /// Done, nothing to show (`clear conntrack`).
    Done,
    Flows {
        flows: Vec<FlowView>,
    },
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
    /// The supervisor the agent is connected to (its URL, and the address it reached when the
    /// URL's name has several); while headless, the configured ones, comma-separated.
    pub supervisor: String,
    /// Every supervisor the agent may connect to (`--supervisor`), in the order it tries them.
    #[serde(default)]
    pub supervisors: Vec<String>,
    /// How the link is secured: mutual TLS with which certificate, not enrolled yet, or insecure.
    #[serde(default)]
    pub trust: String,
    pub state: ConnectionState,
    /// Milliseconds since the supervisor last answered a heartbeat.
    pub last_heartbeat_ack_ms: Option<u64>,
    /// The policies the agent holds: those of the port-profiles its ports use (the supervisor
    /// sends an agent only those).
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

/// `bytes` as lowercase hex (how a trace's frame travels).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Bytes from hex (either case, no separators).
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err("hex frame has an odd number of digits".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()).ok_or_else(|| {
                format!("hex frame: {:?} at {at} is not a hex byte", text.get(at..at + 2).unwrap_or(""))
            })
        })
        .collect()
}

/// Serializes `message` as one line, newline included.
pub fn encode_line(message: &impl Serialize) -> Vec<u8> {
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
    fn port_requests_round_trip() {
        use crate::ports::TargetSpec;
        let requests = [
            Request::Attach { spec: AttachSpec::new(TargetSpec::Pid(7), "web") },
            Request::Detach { port: DetachSpec::Vethernet(3) },
            Request::ShowPorts,
            Request::ShowL2 { vlan: Some(100) },
            Request::ShowL2 { vlan: None },
            Request::ShowL2BridgeDomain { name: "tenant-red".into() },
            Request::ShowVxlan,
            Request::Trace { port: "Veth1".into(), frame_hex: "ffff".into() },
        ];
        for request in requests {
            let line = encode_line(&request);
            assert_eq!(Request::decode(&line[..line.len() - 1]).as_ref(), Ok(&request), "{request:?}");
        }
        assert_eq!(
            encode_line(&Request::Detach { port: DetachSpec::IfaceId("x".into()) }),
            b"{\"request\":\"detach\",\"port\":{\"iface-id\":\"x\"}}\n"
        );
    }

    #[test]
    fn hex_round_trips() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(to_hex(&bytes), "0001abff");
        assert_eq!(from_hex("0001ABff"), Ok(bytes.to_vec()));
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
        assert!(from_hex("é1").is_err());
    }

    #[test]
    fn malformed_requests_say_why() {
        for bad in [&b"show card"[..], br#"{"request":"show-everything"}"#, b"\xff\xfe", b"{}"] {
            let err = Request::decode(bad).expect_err("accepted");
            assert!(err.starts_with("malformed request: "), "{err}");
        }
    }
}
