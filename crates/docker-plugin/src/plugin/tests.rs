//! The handler against an in-memory backend, with the bodies Docker 20.10 sends.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::backend::{
    Allocation, AllocationRequest, CreatedPort, DockerPort, JoinedEndpoint, PoolInfo, PoolQuery, ProfileInfo,
};

const NET: &str = "e69aa0000000000000000000000000000000000000000000000000000000000";
const EP: &str = "3e1bb0000000000000000000000000000000000000000000000000000000000";
const MAC: &str = "02:42:7c:6c:18:fa";

/// Pools and profiles of a pretend supervisor, and the ports of a pretend datapath.
#[derive(Debug, Default)]
struct MemoryBackend {
    allocated: Mutex<BTreeMap<(String, Ipv4Addr), String>>,
    ports: Mutex<BTreeMap<String, DockerPort>>,
    joined: Mutex<Vec<JoinedEndpoint>>,
    refuse_ports: AtomicBool,
    hang: AtomicBool,
}

impl MemoryBackend {
    fn web_pool() -> PoolInfo {
        PoolInfo {
            name: "web-pool".into(),
            network: "10.99.0.0/24".parse().unwrap(),
            default_router: Some(Ipv4Addr::new(10, 99, 0, 1)),
        }
    }

    fn bare_pool() -> PoolInfo {
        PoolInfo { name: "bare-pool".into(), network: "10.98.0.0/24".parse().unwrap(), default_router: None }
    }

    async fn hang_if_told(&self) {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait::async_trait]
impl Backend for MemoryBackend {
    async fn describe_pool(&self, query: PoolQuery) -> Result<PoolInfo, BackendError> {
        self.hang_if_told().await;
        if query == PoolQuery::Pool("bare-pool".into()) {
            return Ok(Self::bare_pool());
        }
        let pool = Self::web_pool();
        let found = match &query {
            PoolQuery::Profile(name) => name == "web",
            PoolQuery::Pool(name) => *name == pool.name,
            PoolQuery::Network(network) => *network == pool.network,
        };
        if found { Ok(pool) } else { Err(BackendError::NotFound(format!("no pool for {query:?}"))) }
    }

    async fn describe_profile(&self, profile: &str) -> Result<Option<ProfileInfo>, BackendError> {
        self.hang_if_told().await;
        Ok(match profile {
            "web" => Some(ProfileInfo { mtu: 1450 }),
            "db" => Some(ProfileInfo { mtu: 1500 }),
            _ => None,
        })
    }

    async fn allocate(&self, request: AllocationRequest) -> Result<Allocation, BackendError> {
        self.hang_if_told().await;
        let mut allocated = self.allocated.lock().unwrap();
        let free = |address: &Ipv4Addr| !allocated.contains_key(&(request.pool.clone(), *address));
        let address = match request.requested {
            Some(address) if free(&address) => address,
            Some(address) => return Err(BackendError::Refused(format!("{address} is taken"))),
            None => (5..250).map(|host| Ipv4Addr::new(10, 99, 0, host)).find(free).unwrap(),
        };
        allocated.insert((request.pool, address), request.owner);
        Ok(Allocation { address, prefix_len: 24 })
    }

    async fn release(&self, pool: &str, address: Ipv4Addr) -> Result<(), BackendError> {
        self.hang_if_told().await;
        self.allocated.lock().unwrap().remove(&(pool.to_owned(), address));
        Ok(())
    }

    async fn create_port(&self, port: DockerPort) -> Result<CreatedPort, BackendError> {
        self.hang_if_told().await;
        if self.refuse_ports.load(Ordering::SeqCst) {
            return Err(BackendError::Refused("profile web is full (max-ports 1)".into()));
        }
        self.ports.lock().unwrap().insert(port.iface_id.clone(), port);
        Ok(CreatedPort { host_ifname: "sy-host".into() })
    }

    async fn delete_port(&self, iface_id: &str) -> Result<(), BackendError> {
        self.hang_if_told().await;
        self.ports.lock().unwrap().remove(iface_id);
        Ok(())
    }

    async fn endpoint_joined(&self, joined: JoinedEndpoint) {
        self.joined.lock().unwrap().push(joined);
    }
}

struct Fixture {
    plugin: Plugin<MemoryBackend>,
    /// The state's directory, when the fixture owns it.
    _dir: Option<tempfile::TempDir>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    Fixture { plugin: open_in(dir.path()), _dir: Some(dir) }
}

fn open_in(dir: &std::path::Path) -> Plugin<MemoryBackend> {
    Plugin::open(MemoryBackend::default(), StateFile::in_dir(dir)).unwrap()
}

impl Fixture {
    fn backend(&self) -> &MemoryBackend {
        self.plugin.backend()
    }

    /// Sends a request that must succeed; returns its answer.
    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.plugin.handle(path, body.to_string().as_bytes()).await;
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(status, 200, "{path}: {answer}");
        assert!(answer.get("Err").is_none(), "{path}: {answer}");
        answer
    }

    /// Sends a request that must fail; returns the error's text.
    async fn err(&self, path: &str, body: &[u8]) -> (u16, String) {
        let (status, answer) = self.plugin.handle(path, body).await;
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        let message =
            answer["Err"].as_str().unwrap_or_else(|| panic!("{path}: no Err in {answer}")).to_owned();
        (status, message)
    }

    /// RequestPool, gateway and CreateNetwork as `docker network create -d switchyard
    /// --ipam-driver switchyard --ipam-opt profile=web -o profile=web` sends them.
    async fn create_web_network(&self) -> String {
        let pool = self
            .ok(
                "/IpamDriver.RequestPool",
                json!({"AddressSpace":"switchyard-local","Pool":"","SubPool":"","Options":{"profile":"web"},"V6":false}),
            )
            .await;
        assert_eq!(pool["Pool"], "10.99.0.0/24");
        let pool_id = pool["PoolID"].as_str().unwrap().to_owned();
        let gateway = self
            .ok(
                "/IpamDriver.RequestAddress",
                json!({"PoolID":pool_id,"Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}}),
            )
            .await;
        assert_eq!(gateway["Address"], "10.99.0.1/24");
        self.ok("/NetworkDriver.CreateNetwork", create_network_body("switchyard-local", Some("web"))).await;
        pool_id
    }

    async fn create_endpoint(&self, pool_id: &str) -> String {
        let address = self
            .ok(
                "/IpamDriver.RequestAddress",
                json!({"PoolID":pool_id,"Address":"","Options":{"com.docker.network.endpoint.macaddress":MAC}}),
            )
            .await;
        let address = address["Address"].as_str().unwrap().to_owned();
        let created = self
            .ok(
                "/NetworkDriver.CreateEndpoint",
                json!({"NetworkID":NET,"EndpointID":EP,"Interface":{"Address":address,"AddressIPv6":"",
                    "MacAddress":MAC},"Options":{"com.docker.network.endpoint.exposedports":[],
                    "com.docker.network.portmap":[]}}),
            )
            .await;
        assert_eq!(created, json!({}), "Docker chose the MAC: the driver must not set it again");
        address
    }
}

fn create_network_body(address_space: &str, profile: Option<&str>) -> Value {
    let generic = profile.map_or(json!({}), |profile| json!({ "profile": profile }));
    json!({"NetworkID":NET,"Options":{"com.docker.network.enable_ipv6":false,
        "com.docker.network.generic":generic},"IPv4Data":[{"AddressSpace":address_space,
        "Gateway":"10.99.0.1/24","Pool":"10.99.0.0/24"}],"IPv6Data":[]})
}

fn endpoint_ref() -> Value {
    json!({"NetworkID":NET,"EndpointID":EP})
}

#[tokio::test]
async fn a_container_s_whole_life_as_docker_sends_it() {
    let f = fixture();
    let activate = f.ok("/Plugin.Activate", json!({})).await;
    assert_eq!(activate, json!({"Implements":["NetworkDriver","IpamDriver"]}));
    assert_eq!(f.ok("/NetworkDriver.GetCapabilities", json!({})).await, json!({"Scope":"local"}));
    let caps = f.ok("/IpamDriver.GetCapabilities", json!({})).await;
    // Docker then leaves the MAC to the driver, which derives it from the address.
    assert_eq!(caps["RequiresMACAddress"], false);

    let pool_id = f.create_web_network().await;
    assert_eq!(f.plugin.state().networks[NET].mtu, 1450);
    let address = f.create_endpoint(&pool_id).await;
    assert_eq!(address, "10.99.0.5/24");
    assert_eq!(f.plugin.held_addresses(), vec![("web-pool".to_owned(), Ipv4Addr::new(10, 99, 0, 5))]);
    let owner =
        f.backend().allocated.lock().unwrap()[&("web-pool".to_owned(), Ipv4Addr::new(10, 99, 0, 5))].clone();
    assert!(owner.starts_with(&format!("docker:{pool_id}:")), "{owner}");

    let join = f
        .ok(
            "/NetworkDriver.Join",
            json!({"NetworkID":NET,"EndpointID":EP,"SandboxKey":"/var/run/docker/netns/75c9e5ad0bd4","Options":{}}),
        )
        .await;
    let src_name = join["InterfaceName"]["SrcName"].as_str().unwrap().to_owned();
    assert!(src_name.starts_with("syd") && src_name.len() <= 15, "{src_name}");
    assert_eq!(join["InterfaceName"]["DstPrefix"], "eth");
    assert_eq!(join["Gateway"], "10.99.0.1");
    let port = f.backend().ports.lock().unwrap()[&format!("docker:{EP}")].clone();
    assert_eq!(
        (port.profile.as_str(), port.mtu, port.mac.as_str(), port.container_end_name.as_str()),
        ("web", 1450, MAC, src_name.as_str())
    );
    assert_eq!(port.address, Some("10.99.0.5/24".parse().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while f.backend().joined.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "endpoint_joined was never called");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(f.backend().joined.lock().unwrap()[0].sandbox_key, "/var/run/docker/netns/75c9e5ad0bd4");
    assert_eq!(f.ok("/NetworkDriver.EndpointOperInfo", endpoint_ref()).await, json!({"Value":{}}));
    f.ok("/NetworkDriver.ProgramExternalConnectivity", json!({"NetworkID":NET,"EndpointID":EP,"Options":{}}))
        .await;
    f.ok("/NetworkDriver.RevokeExternalConnectivity", endpoint_ref()).await;

    f.ok("/NetworkDriver.Leave", endpoint_ref()).await;
    assert!(f.backend().ports.lock().unwrap().is_empty(), "Leave deletes the port");
    f.ok("/NetworkDriver.DeleteEndpoint", endpoint_ref()).await;
    f.ok("/IpamDriver.ReleaseAddress", json!({"PoolID":pool_id,"Address":"10.99.0.5"})).await;
    f.ok("/IpamDriver.ReleaseAddress", json!({"PoolID":pool_id,"Address":"10.99.0.1"})).await;
    f.ok("/IpamDriver.ReleasePool", json!({"PoolID":pool_id})).await;
    f.ok("/NetworkDriver.DeleteNetwork", json!({"NetworkID":NET})).await;
    assert!(f.backend().allocated.lock().unwrap().is_empty());
    let state = f.plugin.state();
    assert!(state.pools.is_empty() && state.addresses.is_empty() && state.networks.is_empty());
    assert!(state.endpoints.is_empty());
}

#[tokio::test]
async fn a_pool_must_be_named_and_exist() {
    let f = fixture();
    let no_choice = json!({"AddressSpace":"switchyard-local","Pool":"","SubPool":"","Options":{},"V6":false});
    let (_, message) = f.err("/IpamDriver.RequestPool", no_choice.to_string().as_bytes()).await;
    assert!(message.contains("--ipam-opt profile=NAME"), "{message}");
    let by_subnet = f
        .ok(
            "/IpamDriver.RequestPool",
            json!({"AddressSpace":"switchyard-local","Pool":"10.99.0.0/24","Options":null}),
        )
        .await;
    assert!(by_subnet["PoolID"].as_str().unwrap().starts_with("web-pool#"));
    f.ok("/IpamDriver.RequestPool", json!({"Pool":"","Options":{"pool":"web-pool"}})).await;
    let mismatch = json!({"Pool":"10.98.0.0/24","Options":{"profile":"web"}});
    let (_, message) = f.err("/IpamDriver.RequestPool", mismatch.to_string().as_bytes()).await;
    assert_eq!(message, "pool 'web-pool' has network 10.99.0.0/24, not the 10.98.0.0/24 given with --subnet");
    let unknown = json!({"Pool":"","Options":{"pool":"nope"}});
    let (_, message) = f.err("/IpamDriver.RequestPool", unknown.to_string().as_bytes()).await;
    assert!(message.starts_with("cannot find the pool for this network: no pool for"), "{message}");
    let v6 = json!({"Pool":"","Options":{"profile":"web"},"V6":true});
    let (_, message) = f.err("/IpamDriver.RequestPool", v6.to_string().as_bytes()).await;
    assert!(message.contains("IPv4 addresses only"), "{message}");
}

#[tokio::test]
async fn a_network_whose_profile_does_not_exist_is_refused() {
    let f = fixture();
    let body = create_network_body("LocalDefault", Some("nope")).to_string();
    let (status, message) = f.err("/NetworkDriver.CreateNetwork", body.as_bytes()).await;
    assert_eq!(status, 500);
    assert_eq!(
        message,
        "port-profile 'nope' does not exist on the supervisor: create it there (port-profile type vethernet \
         nope) first"
    );
    let body = create_network_body("LocalDefault", None).to_string();
    let (_, message) = f.err("/NetworkDriver.CreateNetwork", body.as_bytes()).await;
    assert!(message.contains("-o profile=NAME"), "{message}");
    assert!(f.plugin.state().networks.is_empty());
}

#[tokio::test]
async fn the_profile_may_come_from_the_ipam_options_alone() {
    let f = fixture();
    f.ok(
        "/IpamDriver.RequestPool",
        json!({"AddressSpace":"switchyard-local","Pool":"","Options":{"profile":"web"}}),
    )
    .await;
    f.ok("/NetworkDriver.CreateNetwork", create_network_body("switchyard-local", None)).await;
    let network = &f.plugin.state().networks[NET];
    assert_eq!(network.profile, "web");
    assert!(network.pool_id.is_some());
}

#[tokio::test]
async fn networks_with_docker_s_ipam_work_too() {
    let f = fixture();
    f.ok("/NetworkDriver.CreateNetwork", create_network_body("LocalDefault", Some("db"))).await;
    assert_eq!(f.plugin.state().networks[NET].pool_id, None);
    let created = f
        .ok(
            "/NetworkDriver.CreateEndpoint",
            json!({"NetworkID":NET,"EndpointID":EP,"Interface":{"Address":"10.99.0.7/24","MacAddress":""}}),
        )
        .await;
    let mac = created["Interface"]["MacAddress"].as_str().unwrap().to_owned();
    assert_eq!(
        mac, "02:42:0a:63:00:07",
        "no MAC from Docker: the driver derives it from the address: {created}"
    );
    f.ok("/NetworkDriver.Join", json!({"NetworkID":NET,"EndpointID":EP,"SandboxKey":"/x"})).await;
    let port = f.backend().ports.lock().unwrap()[&format!("docker:{EP}")].clone();
    assert_eq!((port.mtu, port.mac.as_str(), port.profile.as_str()), (1500, mac.as_str(), "db"));
    assert!(f.plugin.held_addresses().is_empty(), "Docker's addresses are not ours");
}

#[tokio::test]
async fn addresses_asked_for_pass_through_and_the_gateway_is_the_default_router() {
    let f = fixture();
    let pool_id = f.create_web_network().await;
    let fixed = f
        .ok("/IpamDriver.RequestAddress", json!({"PoolID":pool_id,"Address":"10.99.0.77","Options":{}}))
        .await;
    assert_eq!(fixed["Address"], "10.99.0.77/24");
    let again = json!({"PoolID":pool_id,"Address":"10.99.0.77","Options":{}});
    let (_, message) = f.err("/IpamDriver.RequestAddress", again.to_string().as_bytes()).await;
    assert_eq!(message, "cannot take an address from pool 'web-pool': 10.99.0.77 is taken");
    let gateway = json!({"PoolID":pool_id,"Address":"10.99.0.254",
        "Options":{"RequestAddressType":"com.docker.network.gateway"}});
    let (_, message) = f.err("/IpamDriver.RequestAddress", gateway.to_string().as_bytes()).await;
    assert!(message.contains("default-router 10.99.0.1"), "{message}");
    let (_, message) = f.err("/IpamDriver.RequestAddress", br#"{"PoolID":"gone#9","Address":""}"#).await;
    assert!(message.contains("pool id 'gone#9' is not known"), "{message}");
}

#[tokio::test]
async fn a_pool_without_default_router_needs_the_gateway_named() {
    let f = fixture();
    let pool = f.ok("/IpamDriver.RequestPool", json!({"Pool":"","Options":{"pool":"bare-pool"}})).await;
    let pool_id = pool["PoolID"].as_str().unwrap();
    let unnamed =
        json!({"PoolID":pool_id,"Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}});
    let (_, message) = f.err("/IpamDriver.RequestAddress", unnamed.to_string().as_bytes()).await;
    assert!(message.starts_with("pool 'bare-pool' has no default-router"), "{message}");
    let named = json!({"PoolID":pool_id,"Address":"10.98.0.254","Options":{"RequestAddressType":"com.docker.network.gateway"}});
    assert_eq!(f.ok("/IpamDriver.RequestAddress", named).await["Address"], "10.98.0.254/24");
    assert!(f.plugin.held_addresses().is_empty(), "a gateway is never allocated");
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_unknown_paths_404() {
    let f = fixture();
    let paths = [
        "/IpamDriver.RequestPool",
        "/IpamDriver.ReleasePool",
        "/IpamDriver.RequestAddress",
        "/IpamDriver.ReleaseAddress",
        "/NetworkDriver.CreateNetwork",
        "/NetworkDriver.DeleteNetwork",
        "/NetworkDriver.CreateEndpoint",
        "/NetworkDriver.EndpointOperInfo",
        "/NetworkDriver.Join",
        "/NetworkDriver.Leave",
        "/NetworkDriver.DeleteEndpoint",
    ];
    for path in paths {
        for body in [
            b"{".as_slice(),
            b"[1,2]",
            b"\xff\xfe",
            br#"{"NetworkID":7,"PoolID":[],"EndpointID":1,"Pool":3,"Address":4}"#,
        ] {
            let (status, message) = f.err(path, body).await;
            assert_eq!(status, 400, "{path}");
            assert!(message.starts_with(&format!("malformed request to {path}: ")), "{message}");
        }
    }
    let (_, message) = f.err("/IpamDriver.ReleaseAddress", br#"{"PoolID":"p","Address":"ten"}"#).await;
    assert_eq!(message, "'ten' is not an IPv4 address");
    for path in
        ["/NetworkDriver.Nope", "/Plugin.Deactivate", "/", "", "NetworkDriver.Join", "/VolumeDriver.Create"]
    {
        let (status, message) = f.err(path, b"{}").await;
        assert_eq!(status, 404, "{path}");
        assert!(message.contains("has no endpoint"), "{message}");
    }
}

#[tokio::test]
async fn deletes_of_what_is_unknown_succeed_so_dockerd_can_always_clean_up() {
    let f = fixture();
    f.ok("/NetworkDriver.Leave", endpoint_ref()).await;
    f.ok("/NetworkDriver.DeleteEndpoint", endpoint_ref()).await;
    f.ok("/NetworkDriver.DeleteNetwork", json!({"NetworkID":NET})).await;
    f.ok("/IpamDriver.ReleaseAddress", json!({"PoolID":"x#1","Address":"10.99.0.5"})).await;
    f.ok("/IpamDriver.ReleasePool", json!({"PoolID":"x#1"})).await;
    let (_, message) = f.err("/NetworkDriver.Join", endpoint_ref().to_string().as_bytes()).await;
    assert!(message.starts_with(&format!("network {NET} is not known")), "{message}");
    f.ok("/NetworkDriver.CreateNetwork", create_network_body("LocalDefault", Some("web"))).await;
    let (_, message) = f.err("/NetworkDriver.Join", endpoint_ref().to_string().as_bytes()).await;
    assert!(message.starts_with(&format!("endpoint {EP} is not known")), "{message}");
}

#[tokio::test]
async fn a_restarted_agent_picks_up_where_it_left_off() {
    let dir = tempfile::tempdir().unwrap();
    let first = Fixture { plugin: open_in(dir.path()), _dir: None };
    let pool_id = first.create_web_network().await;
    first.create_endpoint(&pool_id).await;
    first.ok("/NetworkDriver.Join", json!({"NetworkID":NET,"EndpointID":EP,"SandboxKey":"/x"})).await;
    let before = first.plugin.state();
    drop(first);

    let second = Fixture { plugin: open_in(dir.path()), _dir: None };
    assert_eq!(second.plugin.state(), before);
    assert_eq!(second.plugin.held_addresses(), vec![("web-pool".to_owned(), Ipv4Addr::new(10, 99, 0, 5))]);
    // A second network on the same pool gets a pool id of its own.
    let other = second
        .ok(
            "/IpamDriver.RequestPool",
            json!({"AddressSpace":"switchyard-local","Pool":"","Options":{"profile":"web"}}),
        )
        .await;
    assert_ne!(other["PoolID"], pool_id.as_str());
    second.ok("/NetworkDriver.Leave", endpoint_ref()).await;
    second.ok("/NetworkDriver.DeleteEndpoint", endpoint_ref()).await;
    second.ok("/IpamDriver.ReleaseAddress", json!({"PoolID":pool_id,"Address":"10.99.0.5"})).await;
    assert!(second.plugin.held_addresses().is_empty());
}

#[tokio::test]
async fn a_backend_that_never_answers_gets_an_error_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = open_in(dir.path()).with_backend_timeout(Duration::from_millis(200));
    let f = Fixture { plugin, _dir: Some(dir) };
    let pool_id = f.create_web_network().await;
    f.create_endpoint(&pool_id).await;
    f.backend().hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let body = json!({"NetworkID":NET,"EndpointID":EP,"SandboxKey":"/x"}).to_string();
    let (_, message) = f.err("/NetworkDriver.Join", body.as_bytes()).await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(message.contains("no answer within 200ms"), "{message}");
    assert!(message.starts_with("cannot make the port of endpoint 3e1bb0000000"), "{message}");
    let body = json!({"Pool":"","Options":{"profile":"web"}}).to_string();
    let (_, message) = f.err("/IpamDriver.RequestPool", body.as_bytes()).await;
    assert!(message.contains("connected to its supervisor"), "{message}");
    assert_eq!(f.plugin.state().endpoints[EP].sandbox_key, None, "a failed Join is not recorded");
}

#[tokio::test]
async fn a_refused_port_fails_join_and_leaves_nothing_behind() {
    let f = fixture();
    let pool_id = f.create_web_network().await;
    f.create_endpoint(&pool_id).await;
    f.backend().refuse_ports.store(true, Ordering::SeqCst);
    let body = json!({"NetworkID":NET,"EndpointID":EP,"SandboxKey":"/x"}).to_string();
    let (_, message) = f.err("/NetworkDriver.Join", body.as_bytes()).await;
    assert!(message.ends_with("profile web is full (max-ports 1)"), "{message}");
    assert!(f.backend().ports.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_change_that_cannot_be_saved_is_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    let f = Fixture { plugin: open_in(&state_dir), _dir: Some(dir) };
    let pool_id = f.create_web_network().await;
    std::fs::remove_dir_all(&state_dir).unwrap();
    let body = json!({"PoolID":pool_id,"Address":"","Options":{}}).to_string();
    let (_, message) = f.err("/IpamDriver.RequestAddress", body.as_bytes()).await;
    assert!(message.starts_with("cannot save the Docker plugin's state"), "{message}");
    assert!(f.plugin.held_addresses().is_empty());
    assert!(f.backend().allocated.lock().unwrap().is_empty(), "an address not remembered is given back");
}
