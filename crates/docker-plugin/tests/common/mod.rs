//! A backend for the integration tests: one pool and two profiles held in memory, and ports
//! that are real veth pairs in the host namespace when asked (for dockerd to move).

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use docker_plugin::{
    Allocation, AllocationRequest, Backend, BackendError, Cidr, CreatedPort, DockerPort, PoolInfo, PoolQuery,
    ProfileInfo,
};

/// The pool of profile `web`: a network no test host uses.
pub const WEB_NETWORK: &str = "10.213.77.0/24";
pub const WEB_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 213, 77, 1);
pub const WEB_MTU: u32 = 1450;

#[derive(Debug, Default)]
pub struct TestBackend {
    /// Make ports as real veth pairs (needs root).
    pub real_links: bool,
    pub allocated: Mutex<BTreeMap<Ipv4Addr, String>>,
    /// iface id → (port, host end name).
    pub ports: Mutex<BTreeMap<String, (DockerPort, String)>>,
    /// Never answer describe_pool, like a supervisor that is stuck.
    pub hang: AtomicBool,
}

impl TestBackend {
    fn web_pool() -> PoolInfo {
        PoolInfo {
            name: "web-pool".into(),
            network: WEB_NETWORK.parse().unwrap(),
            default_router: Some(WEB_GATEWAY),
        }
    }
}

/// The host end's name: the container end's with "syd" turned to "syh".
pub fn host_end_name(container_end: &str) -> String {
    format!("syh{}", container_end.trim_start_matches("syd"))
}

pub fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip").args(args).output().map_err(|err| format!("ip: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()))
    }
}

#[async_trait::async_trait]
impl Backend for TestBackend {
    async fn describe_pool(&self, query: PoolQuery) -> Result<PoolInfo, BackendError> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let pool = Self::web_pool();
        match &query {
            PoolQuery::Profile(name) if name == "web" => Ok(pool),
            PoolQuery::Pool(name) if *name == pool.name => Ok(pool),
            PoolQuery::Network(network) if *network == pool.network => Ok(pool),
            _ => Err(BackendError::NotFound(format!("no pool matches {query:?}"))),
        }
    }

    async fn describe_profile(&self, profile: &str) -> Result<Option<ProfileInfo>, BackendError> {
        Ok((profile == "web").then_some(ProfileInfo { mtu: WEB_MTU }))
    }

    async fn allocate(&self, request: AllocationRequest) -> Result<Allocation, BackendError> {
        let mut allocated = self.allocated.lock().unwrap();
        let network: Cidr = WEB_NETWORK.parse().unwrap();
        let base = u32::from(network.address);
        let address = match request.requested {
            Some(address) if allocated.contains_key(&address) => {
                return Err(BackendError::Refused(format!("{address} is taken")));
            }
            Some(address) => address,
            None => (5..250)
                .map(|host| Ipv4Addr::from(base + host))
                .find(|address| !allocated.contains_key(address))
                .ok_or_else(|| BackendError::Refused("pool exhausted".into()))?,
        };
        allocated.insert(address, request.owner);
        Ok(Allocation { address, prefix_len: network.prefix_len })
    }

    async fn release(&self, _pool: &str, address: Ipv4Addr) -> Result<(), BackendError> {
        self.allocated.lock().unwrap().remove(&address);
        Ok(())
    }

    async fn create_port(&self, port: DockerPort) -> Result<CreatedPort, BackendError> {
        let host_end = host_end_name(&port.container_end_name);
        if self.real_links {
            let mtu = port.mtu.to_string();
            ip(&[
                "link",
                "add",
                &port.container_end_name,
                "mtu",
                &mtu,
                "address",
                &port.mac,
                "type",
                "veth",
                "peer",
                "name",
                &host_end,
                "mtu",
                &mtu,
            ])
            .map_err(BackendError::Unavailable)?;
            ip(&["link", "set", &host_end, "up"]).map_err(BackendError::Unavailable)?;
        }
        self.ports.lock().unwrap().insert(port.iface_id.clone(), (port, host_end.clone()));
        Ok(CreatedPort { host_ifname: host_end })
    }

    async fn delete_port(&self, iface_id: &str) -> Result<(), BackendError> {
        let removed = self.ports.lock().unwrap().remove(iface_id);
        if let (true, Some((_, host_end))) = (self.real_links, removed) {
            // Deleting one end deletes the pair, wherever the other end is; gone already is fine.
            let _ = ip(&["link", "del", &host_end]);
        }
        Ok(())
    }
}
