//! `--uplink IFACE=PROFILE`: what the operator asks for, checked before the agent starts.

use std::fmt;
use std::str::FromStr;

use datapath::PortId;

/// The LTL of uplink 1; uplink K is LTL `16 + K` (17–48, as on the Nexus 1000V).
pub const FIRST_UPLINK_LTL: u32 = 17;

/// The most uplinks a module has (LTLs 17–48).
pub const MAX_UPLINKS: usize = 32;

/// The longest Linux interface name (`IFNAMSIZ` − 1).
const IFNAME_MAX: usize = 15;

/// One `--uplink IFACE=PROFILE` flag: host NIC `iface` is an uplink under the `type ethernet`
/// port-profile `profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkSpec {
    /// The host interface (a NIC, or one end of a veth pair in tests).
    pub iface: String,
    /// The `port-profile type ethernet` it inherits.
    pub profile: String,
}

/// Why the uplinks asked for cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UplinkError {
    #[error("expected IFACE=PROFILE, e.g. eth1=system-uplink; got {0:?}")]
    Malformed(String),
    #[error(
        "--uplink {flag:?}: {name:?} is not a valid interface name (1-15 characters, no '/', ':' or spaces)"
    )]
    BadIfname { flag: String, name: String },
    #[error("the port-profile name is empty or has spaces in {flag:?}")]
    BadProfile { flag: String },
    #[error("interface {iface} is given as an uplink twice (--uplink flags {first} and {second})")]
    Duplicate { iface: String, first: usize, second: usize },
    #[error("at most {MAX_UPLINKS} uplinks (LTL 17-48); {0} given")]
    TooMany(usize),
    #[error("uplink interface {iface}: no such interface on this host")]
    NoSuchInterface { iface: String },
    #[error(
        "uplink interface {iface} is already Vethernet{veth} on this host (a container's port); detach it first or choose another NIC"
    )]
    IsVethernet { iface: String, veth: u32 },
}

impl FromStr for UplinkSpec {
    type Err = UplinkError;

    fn from_str(flag: &str) -> Result<Self, Self::Err> {
        let (iface, profile) = flag.split_once('=').ok_or_else(|| UplinkError::Malformed(flag.to_owned()))?;
        let (iface, profile) = (iface.trim(), profile.trim());
        if iface.is_empty() && profile.is_empty() {
            return Err(UplinkError::Malformed(flag.to_owned()));
        }
        let bad_name = iface.is_empty()
            || iface.len() > IFNAME_MAX
            || iface == "."
            || iface == ".."
            || iface.chars().any(|c| c == '/' || c == ':' || c == '=' || c.is_whitespace() || c.is_control());
        if bad_name {
            return Err(UplinkError::BadIfname { flag: flag.to_owned(), name: iface.to_owned() });
        }
        if profile.is_empty() || profile.chars().any(char::is_whitespace) {
            return Err(UplinkError::BadProfile { flag: flag.to_owned() });
        }
        Ok(Self { iface: iface.to_owned(), profile: profile.to_owned() })
    }
}

impl fmt::Display for UplinkSpec {
    /// `eth1=system-uplink`, as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.iface, self.profile)
    }
}

/// Checks the flags together: at most [`MAX_UPLINKS`], no interface twice.
pub fn validate(specs: &[UplinkSpec]) -> Result<(), UplinkError> {
    if specs.len() > MAX_UPLINKS {
        return Err(UplinkError::TooMany(specs.len()));
    }
    for (second, spec) in specs.iter().enumerate() {
        if let Some(first) = specs[..second].iter().position(|other| other.iface == spec.iface) {
            return Err(UplinkError::Duplicate {
                iface: spec.iface.clone(),
                first: first + 1,
                second: second + 1,
            });
        }
    }
    Ok(())
}

/// The LTL of uplink `index` (1-based: the position of its flag).
pub fn uplink_ltl(index: u32) -> PortId {
    PortId(FIRST_UPLINK_LTL - 1 + index)
}

/// `Eth3/1` for uplink 1 of module 3; `Eth-/1` before the module has a number.
pub fn short_name(module: Option<u32>, index: u32) -> String {
    match module {
        Some(module) => format!("Eth{module}/{index}"),
        None => format!("Eth-/{index}"),
    }
}

/// The uplinks as `RegisterRequest.uplinks` carries them.
pub fn register_uplinks(specs: &[UplinkSpec]) -> Vec<proto::Uplink> {
    specs
        .iter()
        .zip(1..)
        .map(|(spec, index)| proto::Uplink { index, name: spec.iface.clone(), profile: spec.profile.clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<UplinkSpec, UplinkError> {
        text.parse()
    }

    #[test]
    fn flags_parse_into_interface_and_profile() {
        let parsed = spec("eth1=system-uplink").expect("valid");
        assert_eq!(parsed, UplinkSpec { iface: "eth1".into(), profile: "system-uplink".into() });
        assert_eq!(parsed.to_string(), "eth1=system-uplink");
        assert_eq!(spec(" eth2 = up ").expect("trimmed").iface, "eth2");
    }

    #[test]
    fn malformed_flags_say_what_is_wrong() {
        assert_eq!(spec("eth1").expect_err("refused"), UplinkError::Malformed("eth1".into()));
        assert_eq!(spec("=").expect_err("refused"), UplinkError::Malformed("=".into()));
        assert!(matches!(spec("=up"), Err(UplinkError::BadIfname { .. })));
        assert!(matches!(spec("a-very-long-interface=up"), Err(UplinkError::BadIfname { .. })));
        assert!(matches!(spec("eth/1=up"), Err(UplinkError::BadIfname { .. })));
        assert!(matches!(spec("eth1="), Err(UplinkError::BadProfile { .. })));
        assert!(matches!(spec("eth1=a b"), Err(UplinkError::BadProfile { .. })));
        let text = spec("eth1").expect_err("refused").to_string();
        assert_eq!(text, "expected IFACE=PROFILE, e.g. eth1=system-uplink; got \"eth1\"");
    }

    #[test]
    fn an_interface_may_be_one_uplink_only() {
        let specs = ["eth1=a", "eth2=a", "eth1=b"].map(|text| spec(text).expect("valid"));
        assert_eq!(
            validate(&specs).expect_err("refused").to_string(),
            "interface eth1 is given as an uplink twice (--uplink flags 1 and 3)"
        );
        assert_eq!(validate(&specs[..2]), Ok(()));
        let many: Vec<UplinkSpec> =
            (0..=MAX_UPLINKS).map(|n| spec(&format!("eth{n}=a")).expect("valid")).collect();
        assert_eq!(validate(&many), Err(UplinkError::TooMany(33)));
        assert_eq!(validate(&many[..MAX_UPLINKS]), Ok(()));
    }

    #[test]
    fn registration_numbers_uplinks_by_flag() {
        let specs = ["eth1=a", "eth2=b"].map(|text| spec(text).expect("valid"));
        let wire = register_uplinks(&specs);
        assert_eq!(
            wire,
            [
                proto::Uplink { index: 1, name: "eth1".into(), profile: "a".into() },
                proto::Uplink { index: 2, name: "eth2".into(), profile: "b".into() }
            ]
        );
    }

    #[test]
    fn uplinks_are_numbered_from_ltl_17() {
        assert_eq!(uplink_ltl(1), PortId(17));
        assert_eq!(uplink_ltl(32), PortId(48));
        assert_eq!(short_name(Some(3), 2), "Eth3/2");
        assert_eq!(short_name(None, 1), "Eth-/1");
    }
}
