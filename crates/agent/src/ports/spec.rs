//! What `switchyard attach` and `switchyard detach` ask the agent ([`agent_api::ports::spec`]),
//! and the checks that turn an attach into an [`AttachRequest`]. Pure.

pub use agent_api::ports::spec::{
    AUTO_ADDRESS, AttachSpec, DetachSpec, TargetSpec, parse_cidr, parse_vethernet,
};
use wire::MacAddr;

use super::PortError;
use crate::attach::{AttachRequest, DEFAULT_IFNAME, Target};

impl From<&TargetSpec> for Target {
    fn from(spec: &TargetSpec) -> Self {
        match spec {
            TargetSpec::Pid(pid) => Target::Pid(*pid),
            TargetSpec::Netns(name) => Target::Netns(name.clone()),
            TargetSpec::Container(name) => Target::Container(name.clone()),
            TargetSpec::NetnsPath(path) => Target::NetnsPath(path.into()),
        }
    }
}

/// The request for [`crate::attach::create_port`] of `spec`, with `iface_id` (given or
/// generated), fully checked. Also what `switchyard attach` runs before it sends anything, so a
/// typo fails at once.
pub fn attach_request(spec: &AttachSpec, iface_id: &str) -> Result<AttachRequest, PortError> {
    if spec.profile.trim().is_empty() {
        return Err(PortError::Invalid("port-profile name is empty".into()));
    }
    if spec.name.as_deref().is_some_and(|name| name.trim().is_empty()) {
        return Err(PortError::Invalid("owner name is empty".into()));
    }
    let mac = spec
        .mac
        .as_deref()
        .map(|text| {
            text.parse::<MacAddr>().map_err(|error| PortError::Invalid(format!("mac {text}: {error}")))
        })
        .transpose()?;
    // `auto` is resolved by the agent before the port is made; here it is only checked.
    let ip = spec
        .ip
        .as_deref()
        .filter(|ip| *ip != AUTO_ADDRESS)
        .map(parse_cidr)
        .transpose()
        .map_err(PortError::Invalid)?;
    let request = AttachRequest {
        target: Target::from(&spec.target),
        iface_id: iface_id.to_owned(),
        ifname: spec.ifname.clone().unwrap_or_else(|| DEFAULT_IFNAME.to_owned()),
        mac,
        ip,
        gateway: spec.gateway,
        mtu: spec.mtu,
        // A CNI runtime adds a container's interfaces one by one: the first one's route stays.
        keep_default_route: matches!(spec.target, TargetSpec::NetnsPath(_)),
    };
    request.validate()?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn targets_read_the_same_in_the_api_and_the_agent() {
        for spec in [TargetSpec::Pid(7), TargetSpec::Netns("red".into()), TargetSpec::Container("web".into())]
        {
            assert_eq!(spec.to_string(), Target::from(&spec).to_string());
        }
    }

    #[test]
    fn a_spec_becomes_a_checked_request() {
        let mut spec = AttachSpec::new(TargetSpec::Pid(42), "web");
        spec.ip = Some("10.0.0.5/24".into());
        spec.gateway = Some(Ipv4Addr::new(10, 0, 0, 1));
        spec.mac = Some("0250.5600.0001".into());
        spec.mtu = Some(9000);
        let request = attach_request(&spec, "port-1").expect("valid");
        assert_eq!(request.target, Target::Pid(42));
        assert_eq!(request.ifname, "eth0");
        assert_eq!(request.ip, Some((Ipv4Addr::new(10, 0, 0, 5), 24)));
        assert_eq!(request.mac, Some(MacAddr([0x02, 0x50, 0x56, 0, 0, 1])));
        assert_eq!(spec.owner_name(), "pid-42");
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let base = AttachSpec::new(TargetSpec::Netns("red".into()), "web");
        let cases = [
            (AttachSpec { profile: " ".into(), ..base.clone() }, "port-profile name is empty"),
            (AttachSpec { ip: Some("10.0.0.1".into()), ..base.clone() }, "expected ADDRESS/PREFIX"),
            (AttachSpec { ip: Some("10.0.0.1/40".into()), ..base.clone() }, "prefix must be 0-32"),
            (AttachSpec { mac: Some("nope".into()), ..base.clone() }, "mac nope: "),
            (AttachSpec { mtu: Some(20), ..base.clone() }, "mtu 20: must be 68-65535"),
            (AttachSpec { gateway: Some(Ipv4Addr::new(10, 0, 0, 1)), ..base.clone() }, "needs an address"),
            (AttachSpec { name: Some(String::new()), ..base.clone() }, "owner name is empty"),
        ];
        for (spec, message) in cases {
            let error = attach_request(&spec, "id").expect_err(message).to_string();
            assert!(error.contains(message), "{error:?} lacks {message:?}");
        }
    }
}
