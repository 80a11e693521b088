//! The plugin configuration a runtime passes on stdin: the plugin's object from the conflist,
//! with the conflist's `cniVersion` and `name` injected, plus `prevResult`, `runtimeConfig` and
//! `cni.dev/valid-attachments` as the verb needs.

use serde::Deserialize;

use crate::error::{CniError, ErrorCode};
use crate::iface_id::is_valid_cni_name;
use crate::net::Dns;
use crate::version::CniVersion;

/// The IPAM type the plugin serves itself, through the agent.
pub const SWITCHYARD_IPAM: &str = "switchyard";

/// The fields this plugin reads; the runtime's others (`runtimeConfig`, `args`, `capabilities`)
/// are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Wire {
    #[serde(rename = "cniVersion")]
    cni_version: String,
    name: String,
    profile: Option<String>,
    ipam: Option<WireIpam>,
    #[serde(default)]
    dns: Dns,
    mtu: Option<u32>,
    #[serde(rename = "prevResult")]
    prev_result: Option<serde_json::Value>,
    #[serde(rename = "cni.dev/valid-attachments")]
    valid_attachments: Option<Vec<Attachment>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct WireIpam {
    #[serde(rename = "type")]
    ipam_type: String,
}

/// One attachment the runtime still holds (GC's `cni.dev/valid-attachments`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct Attachment {
    /// CNI_CONTAINERID of its ADD.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// CNI_IFNAME of its ADD.
    pub ifname: String,
}

/// Where addresses come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipam {
    /// `"ipam": {"type": "switchyard"}`: the agent allocates from the profile's pool.
    Switchyard,
    /// Any other type: that plugin, found in CNI_PATH, is run with the same configuration.
    Delegated(String),
    /// No `ipam` section: no addresses.
    None,
}

/// A parsed, checked network configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConf {
    /// The protocol version the runtime selected; results are rendered in it.
    pub version: CniVersion,
    /// The network's name (the conflist's `name`).
    pub network: String,
    /// The port-profile new ports bind to (`profile`).
    pub profile: Option<String>,
    /// Where addresses come from.
    pub ipam: Ipam,
    /// Resolver settings to report (used when IPAM reports none).
    pub dns: Dns,
    /// The MTU for the container interface.
    pub mtu: Option<u32>,
    /// The previous plugin's result (CHECK, DEL, chained ADD).
    pub prev_result: Option<serde_json::Value>,
    /// GC's list of attachments the runtime still holds.
    pub valid_attachments: Option<Vec<Attachment>>,
}

fn invalid_config(details: String) -> CniError {
    CniError::new(ErrorCode::InvalidConfig, "Invalid network configuration", details)
}

fn decode_error(details: String) -> CniError {
    CniError::new(ErrorCode::Decode, "Failed to decode the network configuration", details)
}

/// The raw JSON object on stdin (code 6 when it is not one).
pub fn parse_object(stdin: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, CniError> {
    match serde_json::from_slice(stdin) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(_) => Err(decode_error(
            "stdin holds JSON but not an object: pass the plugin configuration object".into(),
        )),
        Err(error) => {
            Err(decode_error(format!("stdin is not JSON ({error}): pass the plugin configuration object")))
        }
    }
}

/// The `cniVersion` the input names, if it names one this plugin speaks.
pub fn input_version(stdin: &[u8]) -> Option<CniVersion> {
    let object = parse_object(stdin).ok()?;
    CniVersion::parse(object.get("cniVersion")?.as_str()?).ok()
}

/// The `type` of an `ipam` section, checked to be a plain file name (code 7 otherwise).
fn ipam_kind(ipam: Option<WireIpam>) -> Result<Ipam, CniError> {
    let Some(WireIpam { ipam_type }) = ipam else { return Ok(Ipam::None) };
    if ipam_type == SWITCHYARD_IPAM {
        return Ok(Ipam::Switchyard);
    }
    let plain = !ipam_type.is_empty()
        && !ipam_type.contains(['/', '\\', '\0'])
        && ipam_type != "."
        && ipam_type != "..";
    if !plain {
        return Err(invalid_config(format!(
            "ipam.type {ipam_type:?} is not a plugin name: name a binary in CNI_PATH (e.g. host-local) or use \"switchyard\""
        )));
    }
    Ok(Ipam::Delegated(ipam_type))
}

impl NetConf {
    /// Parses and checks stdin: code 6 for bad JSON, 1 for an unsupported version, 7 for missing
    /// or ill-typed fields.
    pub fn parse(stdin: &[u8]) -> Result<Self, CniError> {
        let object = parse_object(stdin)?;
        let wire: Wire = serde_json::from_value(serde_json::Value::Object(object))
            .map_err(|error| invalid_config(format!("{error}; see docs/CNI.md for the plugin's fields")))?;
        let version = CniVersion::parse(&wire.cni_version)?;
        if !is_valid_cni_name(&wire.name) {
            return Err(invalid_config(format!(
                "network name {:?} is invalid: it must start with a letter or digit, followed by letters, digits, '_', '.' or '-'",
                wire.name
            )));
        }
        if wire.profile.as_deref().is_some_and(str::is_empty) {
            return Err(invalid_config("profile is empty: name the port-profile new ports bind to".into()));
        }
        Ok(Self {
            version,
            network: wire.name,
            profile: wire.profile,
            ipam: ipam_kind(wire.ipam)?,
            dns: wire.dns,
            mtu: wire.mtu,
            prev_result: wire.prev_result,
            valid_attachments: wire.valid_attachments,
        })
    }

    /// The port-profile, which ADD cannot do without (code 7).
    pub fn require_profile(&self) -> Result<&str, CniError> {
        self.profile.as_deref().ok_or_else(|| {
            invalid_config(format!(
                "network {:?} has no \"profile\": add \"profile\": \"<port-profile>\" to the switchyard-cni plugin object",
                self.network
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(json: &str) -> Result<NetConf, CniError> {
        NetConf::parse(json.as_bytes())
    }

    #[test]
    fn reads_the_conflist_injected_fields() {
        let conf = parse(
            r#"{"cniVersion":"1.1.0","name":"web","type":"switchyard-cni","profile":"web",
                "ipam":{"type":"switchyard"},"runtimeConfig":{"portMappings":[]},"args":{"cni":{}},
                "dns":{"nameservers":["10.0.0.53"]},"mtu":1400}"#,
        )
        .unwrap();
        assert_eq!(conf.version, CniVersion::V1_1_0);
        assert_eq!(conf.network, "web");
        assert_eq!(conf.profile.as_deref(), Some("web"));
        assert_eq!(conf.ipam, Ipam::Switchyard);
        assert_eq!(conf.dns.nameservers, ["10.0.0.53"]);
        assert_eq!(conf.mtu, Some(1400));
    }

    #[test]
    fn other_ipam_types_are_delegated_and_paths_refused() {
        let conf =
            parse(r#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","subnet":"10.1.0.0/24"}}"#);
        assert_eq!(conf.unwrap().ipam, Ipam::Delegated("host-local".into()));
        assert_eq!(parse(r#"{"cniVersion":"1.0.0","name":"n"}"#).unwrap().ipam, Ipam::None);
        for bad in ["../sbin/x", "/bin/sh", "..", ""] {
            let json = format!(r#"{{"cniVersion":"1.0.0","name":"n","ipam":{{"type":"{bad}"}}}}"#);
            assert_eq!(parse(&json).unwrap_err().code, ErrorCode::InvalidConfig, "{bad}");
        }
    }

    #[test]
    fn bad_json_is_code_6() {
        for bad in ["", "{", "[1]", "\"x\""] {
            assert_eq!(parse(bad).unwrap_err().code, ErrorCode::Decode, "{bad:?}");
        }
    }

    #[test]
    fn missing_or_ill_typed_fields_are_code_7() {
        let missing_name = parse(r#"{"cniVersion":"1.1.0"}"#).unwrap_err();
        assert_eq!(missing_name.code, ErrorCode::InvalidConfig);
        assert!(missing_name.details.contains("name"), "{missing_name}");
        assert_eq!(
            parse(r#"{"cniVersion":"1.1.0","name":"n","mtu":"big"}"#).unwrap_err().code,
            ErrorCode::InvalidConfig
        );
        assert_eq!(
            parse(r#"{"cniVersion":"1.1.0","name":"-n"}"#).unwrap_err().code,
            ErrorCode::InvalidConfig
        );
    }

    #[test]
    fn missing_profile_is_code_7_naming_it() {
        let conf = parse(r#"{"cniVersion":"1.1.0","name":"web"}"#).unwrap();
        let error = conf.require_profile().unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidConfig);
        assert!(error.details.contains("\"profile\""), "{error}");
    }

    #[test]
    fn unsupported_version_is_code_1() {
        assert_eq!(
            parse(r#"{"cniVersion":"0.2.0","name":"n"}"#).unwrap_err().code,
            ErrorCode::IncompatibleVersion
        );
    }

    #[test]
    fn reads_valid_attachments() {
        let conf = parse(
            r#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]}"#,
        )
        .unwrap();
        assert_eq!(
            conf.valid_attachments.unwrap(),
            [Attachment { container_id: "c1".into(), ifname: "eth0".into() }]
        );
    }
}
