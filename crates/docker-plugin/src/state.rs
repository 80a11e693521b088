//! What the plugin remembers across restarts of the agent and of dockerd, and its file: JSON,
//! replaced atomically (temporary file, fsync, rename, fsync of the directory).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cidr::Cidr;

/// The state file's name inside the directory the agent gives.
pub const STATE_FILE: &str = "docker-plugin.json";

/// A failure reading or writing the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the Docker plugin's state {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "the Docker plugin's state {path} is not valid ({source}); move it aside to start empty \
         (Docker networks of this host made before then must be removed and created again)"
    )]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("cannot save the Docker plugin's state to {path}: {source}; check the disk and try again")]
    Write { path: PathBuf, source: io::Error },
}

/// A pool this plugin's IPAM handed to Docker (RequestPool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRecord {
    /// The pool's name on the supervisor.
    pub pool: String,
    pub network: Cidr,
    pub default_router: Option<Ipv4Addr>,
    /// The port-profile named in `--ipam-opt profile=`, if that is how the pool was found.
    pub profile: Option<String>,
}

/// An address this plugin's IPAM took for Docker (RequestAddress).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRecord {
    /// The owner key the supervisor knows the address by.
    pub owner: String,
    /// The endpoint holding it, once CreateEndpoint said.
    pub endpoint: Option<String>,
}

/// A Docker network of this driver (CreateNetwork).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub profile: String,
    /// Docker's pool id when this plugin's IPAM serves the network; None with Docker's IPAM.
    pub pool_id: Option<String>,
    pub gateway: Option<Ipv4Addr>,
    pub mtu: u32,
}

/// An endpoint of one of this driver's networks (CreateEndpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub network_id: String,
    pub address: Option<Cidr>,
    pub mac: String,
    pub iface_id: String,
    pub container_end_name: String,
    /// The sandbox it joined, while joined.
    pub sandbox_key: Option<String>,
}

/// Everything the plugin keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// By Docker's pool id.
    pub pools: BTreeMap<String, PoolRecord>,
    /// By (Docker's pool id, address).
    #[serde(with = "address_keys")]
    pub addresses: BTreeMap<(String, Ipv4Addr), AddressRecord>,
    /// By Docker's network id.
    pub networks: BTreeMap<String, NetworkRecord>,
    /// By Docker's endpoint id.
    pub endpoints: BTreeMap<String, EndpointRecord>,
    /// Makes pool ids and owner keys unique.
    pub next_sequence: u64,
}

impl State {
    /// A number never handed out before.
    pub fn take_sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence
    }

    /// Every address held from the supervisor: (pool name, address).
    pub fn held_addresses(&self) -> Vec<(String, Ipv4Addr)> {
        self.addresses
            .keys()
            .filter_map(|(pool_id, address)| {
                self.pools.get(pool_id).map(|pool| (pool.pool.clone(), *address))
            })
            .collect()
    }
}

/// JSON objects need string keys: the address map is stored as a list.
mod address_keys {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        pool_id: String,
        address: Ipv4Addr,
        #[serde(flatten)]
        record: AddressRecord,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<(String, Ipv4Addr), AddressRecord>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter().map(|((pool_id, address), record)| Entry {
            pool_id: pool_id.clone(),
            address: *address,
            record: record.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<(String, Ipv4Addr), AddressRecord>, D::Error> {
        let entries = Vec::<Entry>::deserialize(deserializer)?;
        Ok(entries.into_iter().map(|entry| ((entry.pool_id, entry.address), entry.record)).collect())
    }
}

/// The state file.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file inside `dir` (which must exist).
    pub fn in_dir(dir: &Path) -> Self {
        Self { path: dir.join(STATE_FILE) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, or an empty one when there is no file yet.
    pub fn load(&self) -> Result<State, StateError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(source) => return Err(StateError::Read { path: self.path.clone(), source }),
        };
        serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Corrupt { path: self.path.clone(), source })
    }

    /// Replaces the file with `state`; after a crash the file holds either the old or the new
    /// state, never a mix.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        self.write_atomically(state).map_err(|source| StateError::Write { path: self.path.clone(), source })
    }

    fn write_atomically(&self, state: &State) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
        let temp = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut state = State::default();
        let pool_id = format!("web-pool#{}", state.take_sequence());
        state.pools.insert(
            pool_id.clone(),
            PoolRecord {
                pool: "web-pool".into(),
                network: "10.99.0.0/24".parse().unwrap(),
                default_router: Some(Ipv4Addr::new(10, 99, 0, 1)),
                profile: Some("web".into()),
            },
        );
        state.addresses.insert(
            (pool_id.clone(), Ipv4Addr::new(10, 99, 0, 5)),
            AddressRecord { owner: "docker:x:2".into(), endpoint: Some("ep".into()) },
        );
        state.networks.insert(
            "net".into(),
            NetworkRecord {
                profile: "web".into(),
                pool_id: Some(pool_id),
                gateway: Some(Ipv4Addr::new(10, 99, 0, 1)),
                mtu: 1450,
            },
        );
        state.endpoints.insert(
            "ep".into(),
            EndpointRecord {
                network_id: "net".into(),
                address: Some("10.99.0.5/24".parse().unwrap()),
                mac: "02:42:00:00:00:05".into(),
                iface_id: "docker:ep".into(),
                container_end_name: "syd000000000000".into(),
                sandbox_key: None,
            },
        );
        state
    }

    #[test]
    fn a_saved_state_loads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::in_dir(dir.path());
        assert_eq!(file.load().unwrap(), State::default(), "no file yet: empty");
        let state = sample();
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), state);
        assert_eq!(state.held_addresses(), vec![("web-pool".to_owned(), Ipv4Addr::new(10, 99, 0, 5))]);
        assert!(!dir.path().join("docker-plugin.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::in_dir(dir.path());
        std::fs::write(file.path(), b"{\"pools\": 3").unwrap();
        let err = file.load().unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }));
        assert!(err.to_string().contains("move it aside"), "{err}");
    }

    #[test]
    fn an_unwritable_directory_is_an_error() {
        let file = StateFile::in_dir(Path::new("/nonexistent-switchyard-dir"));
        assert!(matches!(file.save(&sample()), Err(StateError::Write { .. })));
    }
}
