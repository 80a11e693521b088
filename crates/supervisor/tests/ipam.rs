//! Cluster IPAM over real gRPC against a real store: allocations from a profile's pool, the
//! same owner getting its address back, two modules never colliding, requested and full pools,
//! releases (by the owner, on unbind, on `no module`), the leak collector, and the shell's and
//! REST's views.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Running, eventually, host, port};
use proto::supervisor_client::SupervisorClient;
use tonic::Code;
use tonic::transport::Channel;

const POOLS: &str = "\
ip pool web-pool
  network 10.100.0.0/24
  default-router 10.100.0.1
  range 10.100.0.10 10.100.0.200
  exclude 10.100.0.50
ip pool tiny
  network 10.200.0.0/30
bridge-domain red
  segment id 5000
port-profile type vethernet web
  switchport mode access
  switchport access vlan 100
  ip pool web-pool
  state enabled
port-profile type vethernet overlay
  switchport mode access
  switchport access bridge-domain red
  ip pool tiny
  state enabled
port-profile type vethernet plain
  state enabled
";

/// An agent as the tests drive it.
#[derive(Clone)]
struct Agent {
    client: SupervisorClient<Channel>,
    module: u32,
    name: String,
}

impl Agent {
    async fn join(supervisor: &Running, name: &str) -> Self {
        let mut client = supervisor.grpc_as(name).await;
        let module = client.register(host(name)).await.unwrap().into_inner().module;
        Self { client, module, name: name.to_owned() }
    }

    fn host_id(&self) -> String {
        format!("id-{}", self.name)
    }

    fn request(
        &self,
        pool: &str,
        profile: &str,
        owner: &str,
        address: &str,
    ) -> proto::AllocateAddressRequest {
        proto::AllocateAddressRequest {
            module: self.module,
            host_id: self.host_id(),
            pool: pool.to_owned(),
            profile: profile.to_owned(),
            owner: owner.to_owned(),
            owner_name: format!("ctr-{owner}"),
            address: address.to_owned(),
        }
    }

    async fn allocate(
        &mut self,
        pool: &str,
        profile: &str,
        owner: &str,
        address: &str,
    ) -> Result<proto::AllocateAddressReply, tonic::Status> {
        let request = self.request(pool, profile, owner, address);
        self.client.allocate_address(request).await.map(tonic::Response::into_inner)
    }

    async fn release(&mut self, owner: &str, pool: &str, address: &str) -> u32 {
        let request = proto::ReleaseAddressRequest {
            module: self.module,
            host_id: self.host_id(),
            owner: owner.to_owned(),
            pool: pool.to_owned(),
            address: address.to_owned(),
        };
        self.client.release_address(request).await.unwrap().into_inner().released
    }

    async fn describe(
        &mut self,
        profile: &str,
        pool: &str,
        network: &str,
    ) -> Result<proto::PoolInfo, tonic::Status> {
        let request = proto::DescribePoolRequest {
            module: self.module,
            host_id: self.host_id(),
            profile: profile.to_owned(),
            pool: pool.to_owned(),
            network: network.to_owned(),
        };
        self.client.describe_pool(request).await.map(tonic::Response::into_inner)
    }

    async fn report_held(&mut self, held: &[(&str, &str)], reports: bool) {
        let report = proto::PortReport {
            module: self.module,
            host_id: self.host_id(),
            held_addresses: held
                .iter()
                .map(|(pool, address)| proto::HeldAddress {
                    pool: (*pool).to_owned(),
                    address: (*address).to_owned(),
                })
                .collect(),
            reports_addresses: reports,
            ..Default::default()
        };
        self.client.report_ports(report).await.unwrap();
    }
}

async fn configure(supervisor: &Running, text: &str) {
    let reply = supervisor.configure(text).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn show(supervisor: &Running, line: &str) -> String {
    let reply = supervisor.exec(line).await;
    assert_eq!(reply.status, 200, "{line}: {}", reply.body);
    reply.body
}

/// The pool's allocations as (address, module, owner), from REST.
async fn allocations(supervisor: &Running, pool: &str) -> Vec<(String, u64, String)> {
    let reply = supervisor.get(&format!("/api/v1/ip-pools/{pool}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["address"].as_str().unwrap().to_owned(),
                a["module"].as_u64().unwrap(),
                a["owner"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_profile_pool_hands_out_addresses_once_per_owner() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, POOLS).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;

    let first = bilbo.allocate("", "web", "iface-a", "").await.unwrap();
    assert_eq!(
        (
            first.pool.as_str(),
            first.address.as_str(),
            first.prefix_len,
            first.default_router.as_str(),
            first.network.as_str()
        ),
        ("web-pool", "10.100.0.10", 24, "10.100.0.1", "10.100.0.0/24")
    );
    // The same owner again (an agent retrying after a lost reply): the same address.
    assert_eq!(bilbo.allocate("", "web", "iface-a", "").await.unwrap().address, "10.100.0.10");
    assert_eq!(bilbo.allocate("web-pool", "", "iface-a", "").await.unwrap().address, "10.100.0.10");
    assert_eq!(bilbo.allocate("web-pool", "", "iface-b", "").await.unwrap().address, "10.100.0.11");

    let info = bilbo.describe("web", "", "").await.unwrap();
    assert_eq!((info.name.as_str(), info.mtu, info.size, info.used), ("web-pool", 1500, 190, 2));
    let info = bilbo.describe("overlay", "", "").await.unwrap();
    assert_eq!((info.name.as_str(), info.mtu, info.size, info.used), ("tiny", 1450, 2, 0));
    let info = bilbo.describe("", "", "10.100.0.0/24").await.unwrap();
    assert_eq!((info.name.as_str(), info.mtu), ("web-pool", 0));

    let code = |r: Result<proto::PoolInfo, tonic::Status>| r.unwrap_err().code();
    assert_eq!(code(bilbo.describe("", "nope", "").await), Code::NotFound);
    assert_eq!(code(bilbo.describe("", "", "10.9.0.0/24").await), Code::NotFound);
    assert_eq!(code(bilbo.describe("plain", "", "").await), Code::FailedPrecondition);
    assert_eq!(code(bilbo.describe("", "", "10.100.0.1/24").await), Code::InvalidArgument);
    let e = bilbo.allocate("", "plain", "x", "").await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(bilbo.allocate("", "missing", "x", "").await.unwrap_err().code(), Code::NotFound);
    assert_eq!(bilbo.allocate("nope", "", "x", "").await.unwrap_err().code(), Code::NotFound);
    let e = bilbo.allocate("web-pool", "", "two words", "").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("owner"), "{}", e.message());
    // Excluded, the router, outside the range: not allocatable.
    for address in ["10.100.0.50", "10.100.0.1", "10.100.0.201", "10.100.0.255"] {
        let e = bilbo.allocate("web-pool", "", "z", address).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{address}: {e:?}");
    }
    // Another host's request for bilbo's module is refused.
    let mut mallory = Agent::join(&supervisor, "mallory").await;
    let mut forged = mallory.request("web-pool", "", "m", "");
    forged.module = bilbo.module;
    assert_eq!(mallory.client.allocate_address(forged).await.unwrap_err().code(), Code::FailedPrecondition);

    // Accounting: each allocation once, a repeat not at all.
    let allocated = |audit: &[serde_json::Value]| {
        audit
            .iter()
            .filter(|e| e["command"].as_str().is_some_and(|c| c.starts_with("allocate-address")))
            .map(|e| (e["success"].as_bool(), e["detail"].as_str().unwrap_or_default().to_owned()))
            .collect::<Vec<_>>()
    };
    let audit = eventually("the accounting log", Duration::from_secs(5), || async {
        let audit = supervisor.audit("").await;
        (allocated(&audit).iter().filter(|(ok, _)| *ok == Some(true)).count() >= 2).then_some(audit)
    })
    .await;
    let successes: Vec<String> =
        allocated(&audit).into_iter().filter(|(ok, _)| *ok == Some(true)).map(|(_, d)| d).collect();
    assert_eq!(successes, ["10.100.0.10 of ip pool web-pool", "10.100.0.11 of ip pool web-pool"]);
    supervisor.stop().await;
}

#[tokio::test]
async fn requested_taken_and_full() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, POOLS).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let mut frodo = Agent::join(&supervisor, "frodo").await;

    assert_eq!(bilbo.allocate("web-pool", "", "a", "10.100.0.77").await.unwrap().address, "10.100.0.77");
    let e = frodo.allocate("web-pool", "", "b", "10.100.0.77").await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    // The same owner name on another module is another owner.
    let e = frodo.allocate("web-pool", "", "a", "10.100.0.77").await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);

    assert_eq!(bilbo.allocate("tiny", "", "t1", "").await.unwrap().address, "10.200.0.1");
    assert_eq!(frodo.allocate("tiny", "", "t2", "").await.unwrap().address, "10.200.0.2");
    let e = frodo.allocate("tiny", "", "t3", "").await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(
        e.message(),
        "ip pool tiny is full: all 2 of its addresses are allocated; release some, or widen its range"
    );

    // Another module cannot release mine, by address or by owner.
    assert_eq!(frodo.release("", "tiny", "10.200.0.1").await, 0);
    assert_eq!(frodo.release("t1", "", "").await, 0);
    assert_eq!(allocations(&supervisor, "tiny").await.len(), 2);
    // Mine go, and the address is free again.
    assert_eq!(bilbo.release("", "tiny", "10.200.0.1").await, 1);
    assert_eq!(bilbo.release("", "tiny", "10.200.0.1").await, 0, "releasing what is not held succeeds");
    assert_eq!(frodo.allocate("tiny", "", "t3", "").await.unwrap().address, "10.200.0.1");
    supervisor.stop().await;
}

#[tokio::test]
async fn concurrent_allocations_from_two_modules_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, POOLS).await;
    let agents = [Agent::join(&supervisor, "bilbo").await, Agent::join(&supervisor, "frodo").await];
    let mut tasks = Vec::new();
    for i in 0..200 {
        let mut agent = agents[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("owner-{i}");
            agent.allocate("web-pool", "", &owner, "").await.map(|r| r.address)
        }));
    }
    let mut got = BTreeSet::new();
    let mut full = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(address) => assert!(got.insert(address.clone()), "{address} handed out twice"),
            Err(e) if e.code() == Code::ResourceExhausted => full += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    // 190 addresses: 190 distinct, then the pool is full.
    assert_eq!((got.len(), full), (190, 10));
    assert_eq!(allocations(&supervisor, "web-pool").await.len(), 190);
    let rows = show(&supervisor, "show ip pool").await;
    assert!(
        rows.contains("web-pool              10.100.0.0/24       10.100.0.1       190       190       0"),
        "{rows}"
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn unbind_releases_the_ports_addresses_and_show_names_the_vethernet() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, POOLS).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let veth = eventually("the profile reaches the bind path", Duration::from_secs(5), || {
        let mut client = bilbo.client.clone();
        let request = port("bilbo", bilbo.module, "iface-a", "web", 1);
        async move { client.bind_port(request).await.ok().map(|r| r.into_inner().veth) }
    })
    .await;
    bilbo.allocate("", "web", "iface-a", "").await.unwrap();
    bilbo.allocate("", "web", "docker-ep-1", "").await.unwrap();

    let text = show(&supervisor, "show ip pool web-pool").await;
    let (head, table) = text.split_once("\n\n").unwrap();
    assert_eq!(
        head,
        "ip pool web-pool\n  network 10.100.0.0/24\n  default-router 10.100.0.1\n  range 10.100.0.10 10.100.0.200\n  \
         exclude 10.100.0.50\n size: 190  used: 2  free: 188"
    );
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{table}");
    let module = bilbo.module.to_string();
    assert!(
        rows[0]
            .starts_with(&format!("10.100.0.10      {module:<5}ctr-iface-a               Vethernet{veth}")),
        "{table}"
    );
    assert!(
        rows[1].starts_with(&format!("10.100.0.11      {module:<5}ctr-docker-ep-1           -")),
        "{table}"
    );
    assert_eq!(supervisor.exec("show ip pool nope").await.status, 404);

    let request = proto::UnbindPortRequest {
        module: bilbo.module,
        host_id: bilbo.host_id(),
        iface_id: "iface-a".into(),
    };
    bilbo.client.unbind_port(request).await.unwrap();
    let left = allocations(&supervisor, "web-pool").await;
    assert_eq!(left, [("10.100.0.11".to_owned(), u64::from(bilbo.module), "docker-ep-1".to_owned())]);
    supervisor.stop().await;
}

#[tokio::test]
async fn removing_a_module_releases_its_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor =
        Running::start(dir.path(), |options| options.heartbeat_timeout = Duration::from_millis(300)).await;
    configure(&supervisor, POOLS).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let mut frodo = Agent::join(&supervisor, "frodo").await;
    bilbo.allocate("web-pool", "", "a", "").await.unwrap();
    bilbo.allocate("tiny", "", "b", "").await.unwrap();
    frodo.allocate("web-pool", "", "c", "").await.unwrap();

    let line = format!("no module {}", bilbo.module);
    eventually("bilbo offline and removed", Duration::from_secs(10), || {
        let supervisor = &supervisor;
        let line = line.clone();
        async move { (supervisor.exec(&line).await.status == 200).then_some(()) }
    })
    .await;
    assert!(allocations(&supervisor, "tiny").await.is_empty());
    assert_eq!(
        allocations(&supervisor, "web-pool").await,
        [("10.100.0.11".to_owned(), u64::from(frodo.module), "c".to_owned())]
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn the_leak_collector_frees_only_old_unreported_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let grace = Duration::from_millis(400);
    let supervisor = Running::start(dir.path(), |options| options.address_grace = grace).await;
    configure(&supervisor, POOLS).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let mut frodo = Agent::join(&supervisor, "frodo").await;
    let kept = bilbo.allocate("web-pool", "", "kept", "").await.unwrap().address;
    let leaked = bilbo.allocate("web-pool", "", "leaked", "").await.unwrap().address;
    let others = frodo.allocate("web-pool", "", "others", "").await.unwrap().address;

    // Young allocations are in flight, not leaks.
    bilbo.report_held(&[("web-pool", &kept)], true).await;
    assert_eq!(allocations(&supervisor, "web-pool").await.len(), 3);
    tokio::time::sleep(grace + Duration::from_millis(100)).await;
    // An agent that does not report addresses keeps them all.
    bilbo.report_held(&[], false).await;
    assert_eq!(allocations(&supervisor, "web-pool").await.len(), 3);
    bilbo.report_held(&[("web-pool", &kept)], true).await;
    let left: Vec<String> = allocations(&supervisor, "web-pool").await.into_iter().map(|a| a.0).collect();
    assert_eq!(left, [kept.clone(), others.clone()], "only bilbo's unreported one goes");
    let events = supervisor.event_messages().await;
    let reclaimed = format!(
        "%IPAM-4-ADDRESS_RECLAIMED: Address {leaked} of ip pool web-pool reclaimed from leaked on module {} (not \
         reported held for 400 ms)",
        bilbo.module
    );
    assert!(events.contains(&reclaimed), "{events:#?}");
    // A hostile list is refused whole.
    let bad = proto::PortReport {
        module: bilbo.module,
        host_id: bilbo.host_id(),
        held_addresses: vec![proto::HeldAddress { pool: "web-pool".into(), address: "nope".into() }],
        reports_addresses: true,
        ..Default::default()
    };
    assert_eq!(bilbo.client.report_ports(bad).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(allocations(&supervisor, "web-pool").await.len(), 2);
    supervisor.stop().await;
}

#[tokio::test]
async fn rest_lists_pools_and_refuses_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, POOLS).await;
    let reply = supervisor.get("/api/v1/ip-pools").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let pools = reply.json();
    let names: Vec<&str> = pools.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tiny", "web-pool"]);
    assert_eq!((pools[1]["size"].as_u64(), pools[1]["free"].as_u64()), (Some(190), Some(190)));
    assert_eq!(supervisor.get("/api/v1/ip-pools/nope").await.status, 404);
    let doc = supervisor.get("/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/ip-pools/{name}"]["get"].is_object());
    // A pool in use cannot be deleted; the running config prints what parses back.
    let reply = supervisor.configure("no ip pool web-pool\n").await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("ip pool 'web-pool' is used by port-profile 'web'"), "{}", reply.body);
    let running = show(&supervisor, "show running-config").await;
    assert!(running.contains("ip pool web-pool\n  network 10.100.0.0/24\n"), "{running}");
    supervisor.stop().await;
}
