//! The overlay as the supervisor sends it (`OverlayUpdate`), as persisted (`D/overlay.json`),
//! and as the datapath runs it ([`datapath::Overlay`]). Pure, except [`OverlayFile::save`] and
//! [`OverlayFile::load`].

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use datapath::{Overlay, OverlaySegment};
use serde::{Deserialize, Serialize};
use wire::{MacAddr, Vni};

use crate::fs_atomic::write_atomically;

/// The file name in the data dir.
pub const FILE_NAME: &str = "overlay.json";

/// `D/overlay.json` under the data dir `root`.
pub fn file_in(root: &Path) -> PathBuf {
    root.join(FILE_NAME)
}

/// The remote side of every bridge-domain this host has ports in, by segment id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayFile {
    /// By segment id.
    pub segments: BTreeMap<u32, SegmentEntry>,
}

/// One bridge-domain's remote side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// The bridge-domain's name.
    pub name: String,
    /// The other hosts' VTEPs with ports in it.
    pub vteps: Vec<Ipv4Addr>,
    /// Their ports' MACs.
    pub macs: Vec<RemoteMacEntry>,
}

/// A MAC of a port on another host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteMacEntry {
    /// The MAC.
    #[serde(with = "mac_text")]
    pub mac: MacAddr,
    /// The VTEP of its host.
    pub vtep: Ipv4Addr,
    /// N of its VethernetN.
    pub veth: u32,
}

impl OverlayFile {
    /// Reads an update. What cannot be read (a VTEP that is not IPv4 text, a bad MAC, a segment
    /// id beyond 24 bits) is left out and named in the second value, one line each.
    pub fn from_update(update: &proto::OverlayUpdate) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut segments = BTreeMap::new();
        for segment in &update.segments {
            if Vni::new(segment.segment_id).is_none() || segment.segment_id == 0 {
                problems.push(format!("segment id {} is not a VXLAN VNI", segment.segment_id));
                continue;
            }
            let mut entry = SegmentEntry { name: segment.name.clone(), ..SegmentEntry::default() };
            for vtep in &segment.vteps {
                match vtep.parse() {
                    Ok(address) => entry.vteps.push(address),
                    Err(_) => {
                        problems.push(format!("segment {}: VTEP {vtep:?} is not IPv4", segment.segment_id))
                    }
                }
            }
            for remote in &segment.macs {
                match (remote.mac.parse::<MacAddr>(), remote.vtep.parse::<Ipv4Addr>()) {
                    (Ok(mac), Ok(vtep)) => entry.macs.push(RemoteMacEntry { mac, vtep, veth: remote.veth }),
                    _ => problems.push(format!(
                        "segment {}: remote MAC {:?} at VTEP {:?} unreadable",
                        segment.segment_id, remote.mac, remote.vtep
                    )),
                }
            }
            entry.vteps.sort_unstable();
            entry.vteps.dedup();
            segments.insert(segment.segment_id, entry);
        }
        (Self { segments }, problems)
    }

    /// The datapath's overlay (without the local VTEP, which the tunnel supplies).
    pub fn to_overlay(&self) -> Overlay {
        let segments = self
            .segments
            .iter()
            .filter_map(|(&id, entry)| {
                let vni = Vni::new(id)?;
                let macs = entry.macs.iter().map(|remote| (remote.mac, remote.vtep)).collect();
                Some((vni, OverlaySegment { vteps: entry.vteps.clone(), macs }))
            })
            .collect();
        Overlay { local_vtep: None, segments }
    }

    /// The segment id of the bridge-domain called `name`, if the overlay has it.
    pub fn segment_named(&self, name: &str) -> Option<u32> {
        self.segments.iter().find(|(_, entry)| entry.name == name).map(|(&id, _)| id)
    }

    /// Reads `path`; `Ok(None)` if there is no file.
    pub fn load(path: &Path) -> io::Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(io::Error::other),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// [`Self::load`], logging a file that cannot be read and starting empty.
    pub fn load_or_empty(path: &Path) -> Self {
        Self::load(path)
            .unwrap_or_else(|error| {
                tracing::warn!("ignoring {}: {error}; the overlay starts empty", path.display());
                None
            })
            .unwrap_or_default()
    }

    /// Writes `path` atomically.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        write_atomically(path, &bytes)
    }
}

/// A MAC as `aa:bb:cc:dd:ee:ff` text in the file.
mod mac_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use wire::MacAddr;

    pub fn serialize<S: Serializer>(mac: &MacAddr, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&mac.colon())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MacAddr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|_| D::Error::custom(format!("{text:?} is not a MAC address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update() -> proto::OverlayUpdate {
        proto::OverlayUpdate {
            segments: vec![
                proto::OverlaySegment {
                    segment_id: 5000,
                    name: "tenant-a".to_owned(),
                    vteps: vec![
                        "192.168.50.2".to_owned(),
                        "192.168.50.3".to_owned(),
                        "192.168.50.2".to_owned(),
                    ],
                    macs: vec![
                        proto::RemoteMac {
                            mac: "02:00:00:00:00:07".to_owned(),
                            vtep: "192.168.50.2".to_owned(),
                            veth: 7,
                        },
                        proto::RemoteMac {
                            mac: "nonsense".to_owned(),
                            vtep: "192.168.50.2".to_owned(),
                            veth: 8,
                        },
                    ],
                },
                proto::OverlaySegment {
                    segment_id: 1 << 24,
                    name: "too-big".to_owned(),
                    ..Default::default()
                },
                proto::OverlaySegment {
                    segment_id: 6000,
                    name: "tenant-b".to_owned(),
                    vteps: vec!["fd00::1".to_owned()],
                    macs: vec![],
                },
            ],
        }
    }

    #[test]
    fn reads_an_update_and_names_what_it_left_out() {
        let (file, problems) = OverlayFile::from_update(&update());
        assert_eq!(
            problems,
            [
                "segment 5000: remote MAC \"nonsense\" at VTEP \"192.168.50.2\" unreadable",
                "segment id 16777216 is not a VXLAN VNI",
                "segment 6000: VTEP \"fd00::1\" is not IPv4",
            ]
        );
        let a = &file.segments[&5000];
        assert_eq!(a.vteps, [Ipv4Addr::new(192, 168, 50, 2), Ipv4Addr::new(192, 168, 50, 3)]);
        assert_eq!(
            a.macs,
            [RemoteMacEntry {
                mac: MacAddr([2, 0, 0, 0, 0, 7]),
                vtep: Ipv4Addr::new(192, 168, 50, 2),
                veth: 7
            }]
        );
        assert!(file.segments[&6000].vteps.is_empty());
        assert_eq!((file.segment_named("tenant-b"), file.segment_named("nope")), (Some(6000), None));
    }

    #[test]
    fn becomes_the_datapath_overlay() {
        let overlay = OverlayFile::from_update(&update()).0.to_overlay();
        assert_eq!(overlay.local_vtep, None);
        let segment = &overlay.segments[&Vni::new(5000).expect("24 bits")];
        assert_eq!(segment.macs, [(MacAddr([2, 0, 0, 0, 0, 7]), Ipv4Addr::new(192, 168, 50, 2))]);
        assert_eq!(overlay.segments.len(), 2);
    }

    #[test]
    fn survives_a_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = file_in(dir.path());
        assert_eq!(OverlayFile::load(&path).expect("no file is fine"), None);
        let (file, _) = OverlayFile::from_update(&update());
        file.save(&path).expect("saved");
        assert_eq!(OverlayFile::load(&path).expect("readable"), Some(file));
        std::fs::write(&path, b"{ not json").expect("written");
        assert!(OverlayFile::load(&path).is_err());
        assert_eq!(OverlayFile::load_or_empty(&path), OverlayFile::default());
    }
}
