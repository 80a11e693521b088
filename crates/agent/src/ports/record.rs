//! One attached port as the agent remembers it, and `ports.json`, where it is kept (written
//! atomically, like `policies.json`) so a restarted agent restores its ports without re-attach.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use datapath::PortId;
use serde::{Deserialize, Serialize};
use wire::MacAddr;

use super::spec::TargetSpec;
use crate::attach::KernelLink;
use crate::dataplane::AttachedPort;
use crate::fs_atomic::write_atomically;
use crate::snapshot::PolicyEntry;

/// The on-disk format version; bump it when the layout changes incompatibly.
const FORMAT: u32 = 1;

/// A port attached on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRecord {
    /// The port's stable identity (the seed's `iface-id`).
    pub iface_id: String,
    /// N of VethernetN, from the supervisor.
    pub veth: u32,
    /// The local port number (LTL, 49 and up): the datapath's port id.
    pub ltl: u32,
    /// The port-profile it inherits.
    pub profile: String,
    /// The host end of the veth pair, which the dataplane switches.
    pub host_ifname: String,
    /// The container interface's MAC (the attached MAC).
    #[serde(with = "mac_text")]
    pub mac: MacAddr,
    /// The interface's name inside the container (`eth0`).
    pub container_ifname: String,
    /// The owner's name (`vm-name`) and identity (`vm-uuid`).
    pub owner_name: String,
    pub owner_uuid: String,
    /// Whose namespace the container end is in, as the attach named it; `None` for a port
    /// adopted from OVSDB (whoever made its interface put the peer somewhere the agent is not
    /// told).
    #[serde(default)]
    pub target: Option<TargetSpec>,
    /// That namespace's inode: tells a later `detach --pid` it is the same namespace (0 when
    /// unknown).
    pub netns_inode: u64,
    /// Who made the port, and so who owns its interface.
    #[serde(default)]
    pub origin: PortOrigin,
    /// The policy the supervisor sent with the binding; used until the agent's policy
    /// snapshot reaches its revision (see [`super::table::PortTable::effective_policies`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_policy: Option<PolicyEntry>,
    /// The addresses the port was attached with (`attach --ip`): bound to it for `ip verify
    /// source` and `ip arp inspection`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpAddr>,
    /// The `ip pool` the supervisor allocated `ips` from (`attach --ip auto`, CNI): the agent
    /// reports them as held, so the supervisor's leak collector keeps them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_pool: Option<String>,
    /// The prefix length of `ips` on the container end (`--ip A/LEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_prefix_len: Option<u8>,
    /// The default route's next hop the attach set in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<std::net::Ipv4Addr>,
    /// The MTU of both ends, as made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// How a port came to be, which decides who owns its interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortOrigin {
    /// `switchyard attach` made the veth pair (its host end carries the iface-id in its alias):
    /// detach deletes it.
    #[default]
    Attach,
    /// An Interface row on OVSDB bridge `bridge` (`ovs-vsctl add-port`, the seed's way): the
    /// interface belongs to whoever made it; the agent switches it and never deletes it.
    Ovsdb {
        /// The bridge the row is on.
        bridge: String,
    },
}

impl PortOrigin {
    /// The OVSDB bridge of an adopted port.
    pub fn ovsdb_bridge(&self) -> Option<&str> {
        match self {
            PortOrigin::Attach => None,
            PortOrigin::Ovsdb { bridge } => Some(bridge),
        }
    }
}

impl PortRecord {
    /// Whether the port's interface is still on the host: for an attached port, a link of its
    /// name carrying its iface-id (a new pair that took the name is not it); for an adopted one,
    /// any link of its name.
    pub fn link_alive(&self, links: &[KernelLink]) -> bool {
        links.iter().any(|link| {
            link.name == self.host_ifname
                && match self.origin {
                    PortOrigin::Attach => link.iface_id.as_deref() == Some(self.iface_id.as_str()),
                    PortOrigin::Ovsdb { .. } => true,
                }
        })
    }

    /// `Veth7`: the port's short name in tables and traces.
    pub fn short_name(&self) -> String {
        format!("Veth{}", self.veth)
    }

    /// What the datapath needs to know of the port besides its policy.
    pub fn attached_port(&self) -> AttachedPort {
        AttachedPort {
            id: PortId(self.ltl),
            name: self.short_name(),
            profile: self.profile.clone(),
            mac: Some(self.mac),
            ips: self.ips.as_slice().into(),
        }
    }

    /// The `BindPort` request that binds (or, after a restart, re-binds) this port.
    pub fn bind_request(&self, module: u32, host_id: &str) -> proto::BindPortRequest {
        proto::BindPortRequest {
            module,
            host_id: host_id.to_owned(),
            iface_id: self.iface_id.clone(),
            profile: self.profile.clone(),
            adapter: self.host_ifname.clone(),
            container_ifname: self.container_ifname.clone(),
            mac: self.mac.colon().to_string(),
            owner_uuid: self.owner_uuid.clone(),
            owner_name: self.owner_name.clone(),
            ltl: self.ltl,
        }
    }
}

/// Everything `ports.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortsFile {
    /// The ports, by LTL.
    pub ports: Vec<PortRecord>,
    /// Ports that left this host while the supervisor could not be told: their bindings are
    /// released (UnbindPort) once it answers.
    pub pending_unbinds: Vec<String>,
}

/// A failure reading or writing `ports.json`.
#[derive(Debug, thiserror::Error)]
pub enum PortsFileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a ports file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path} has format {found}; this agent reads format {FORMAT}")]
    UnsupportedFormat { path: PathBuf, found: u32 },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

#[derive(Serialize)]
struct OnDiskRef<'a> {
    format: u32,
    #[serde(flatten)]
    file: &'a PortsFile,
}

#[derive(Deserialize)]
struct OnDisk {
    format: u32,
    #[serde(flatten)]
    file: PortsFile,
}

impl PortsFile {
    /// Writes the file at `path` atomically and durably.
    pub fn save(&self, path: &Path) -> Result<(), PortsFileError> {
        let write_error = |source| PortsFileError::Write { path: path.to_owned(), source };
        let mut bytes = serde_json::to_vec_pretty(&OnDiskRef { format: FORMAT, file: self })
            .map_err(|error| write_error(error.into()))?;
        bytes.push(b'\n');
        write_atomically(path, &bytes).map_err(write_error)
    }

    /// Reads the file at `path`; empty when there is none yet.
    pub fn load(path: &Path) -> Result<Self, PortsFileError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(PortsFileError::Read { path: path.to_owned(), source }),
        };
        let on_disk: OnDisk = serde_json::from_slice(&bytes)
            .map_err(|source| PortsFileError::Parse { path: path.to_owned(), source })?;
        if on_disk.format != FORMAT {
            return Err(PortsFileError::UnsupportedFormat { path: path.to_owned(), found: on_disk.format });
        }
        Ok(on_disk.file)
    }
}

/// A MAC as `aa:bb:cc:dd:ee:ff` in JSON.
mod mac_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use wire::MacAddr;

    pub(super) fn serialize<S: Serializer>(mac: &MacAddr, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&mac.colon())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MacAddr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Records for tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Port `veth` on LTL `ltl`, with profile `profile`, in namespace `ns{veth}`.
    pub(crate) fn record(veth: u32, ltl: u32, profile: &str) -> PortRecord {
        let byte = u8::try_from(veth).unwrap_or(0xff);
        PortRecord {
            iface_id: format!("port-{veth}"),
            veth,
            ltl,
            profile: profile.to_owned(),
            host_ifname: format!("sy00000000{veth:02}_0"),
            mac: MacAddr([0x02, 0, 0, 0, 0, byte]),
            container_ifname: "eth0".to_owned(),
            owner_name: format!("web{veth}"),
            owner_uuid: format!("uuid-{veth}"),
            target: Some(TargetSpec::Netns(format!("ns{veth}"))),
            netns_inode: 4_026_532_000 + u64::from(veth),
            origin: PortOrigin::Attach,
            bound_policy: None,
            ips: Vec::new(),
            ip_pool: None,
            ip_prefix_len: None,
            gateway: None,
            mtu: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::record;
    use super::*;

    #[test]
    fn round_trips_and_absent_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ports.json");
        assert_eq!(PortsFile::load(&path).expect("absent"), PortsFile::default());
        let file = PortsFile {
            ports: vec![record(1, 49, "web"), record(2, 50, "db")],
            pending_unbinds: vec!["gone".into()],
        };
        file.save(&path).expect("save");
        assert_eq!(PortsFile::load(&path).expect("load"), file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("\"format\": 1") && text.contains("\"mac\": \"02:00:00:00:00:01\""), "{text}");
    }

    #[test]
    fn garbage_and_other_formats_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ports.json");
        std::fs::write(&path, "{\"format\": 1, \"ports\": [{\"iface_id\": 3}]").expect("write");
        assert!(matches!(PortsFile::load(&path), Err(PortsFileError::Parse { .. })));
        std::fs::write(&path, r#"{"format": 7, "ports": [], "pending_unbinds": []}"#).expect("write");
        assert!(matches!(PortsFile::load(&path), Err(PortsFileError::UnsupportedFormat { found: 7, .. })));
    }

    #[test]
    fn bind_requests_carry_the_port() {
        let request = record(3, 51, "web").bind_request(4, "host-a");
        assert_eq!((request.module, request.ltl, request.mac.as_str()), (4, 51, "02:00:00:00:00:03"));
        assert_eq!((request.adapter.as_str(), request.owner_name.as_str()), ("sy0000000003_0", "web3"));
    }

    #[test]
    fn files_from_before_adoption_read_as_attached_ports() {
        let mut port = serde_json::to_value(record(1, 49, "web")).expect("json");
        let fields = port.as_object_mut().expect("object");
        fields.remove("origin");
        assert_eq!(fields["target"], serde_json::json!({"netns": "ns1"}));
        let old: PortRecord = serde_json::from_value(port).expect("an older record");
        assert_eq!(old, record(1, 49, "web"));
    }

    #[test]
    fn adopted_ports_round_trip_and_live_while_their_link_does() {
        let adopted = PortRecord {
            target: None,
            netns_inode: 0,
            container_ifname: String::new(),
            host_ifname: "veth18924_eth0".into(),
            origin: PortOrigin::Ovsdb { bridge: "sy-br".into() },
            ..record(2, 50, "web")
        };
        let json = serde_json::to_string(&adopted).expect("json");
        assert!(json.contains(r#""origin":{"ovsdb":{"bridge":"sy-br"}}"#), "{json}");
        assert_eq!(serde_json::from_str::<PortRecord>(&json).expect("parse"), adopted);

        let link = |name: &str, iface_id: Option<&str>| KernelLink {
            name: name.into(),
            ifindex: 7,
            iface_id: iface_id.map(str::to_owned),
            admin_up: true,
            carrier: true,
        };
        // Anyone's link of the name will do for an adopted port…
        assert!(adopted.link_alive(&[link("veth18924_eth0", None)]));
        assert!(!adopted.link_alive(&[link("veth18924_eth1", None)]));
        // …but an attached port's link must carry its iface-id.
        let attached = record(3, 51, "web");
        assert!(attached.link_alive(&[link("sy0000000003_0", Some("port-3"))]));
        assert!(!attached.link_alive(&[link("sy0000000003_0", None)]));
        assert!(!attached.link_alive(&[link("sy0000000003_0", Some("port-4"))]));
    }
}
