//! vEthernet ports over real gRPC against a real store: binding numbers, port-binding,
//! max-ports, the events of attach/detach and of reported state changes, module offline, and
//! the shell's and REST's views of it all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Running, access_profile, eventually, host, open_store};
use proto::supervisor_client::SupervisorClient;
use store::Store as _;
use tonic::Code;
use tonic::transport::Channel;

/// An agent as the tests drive it: a gRPC client and its module.
struct Agent {
    client: SupervisorClient<Channel>,
    module: u32,
    host_id: String,
}

impl Agent {
    async fn join(supervisor: &Running, name: &str) -> Self {
        let mut client = supervisor.grpc_as(name).await;
        let module = client.register(host(name)).await.unwrap().into_inner().module;
        Self { client, module, host_id: format!("id-{name}") }
    }

    /// A bind request for container `owner`'s eth0, `iface` its iface-id, at LTL 48 + `index`.
    fn port(&self, iface: &str, profile: &str, owner: &str, index: u32) -> proto::BindPortRequest {
        proto::BindPortRequest {
            module: self.module,
            host_id: self.host_id.clone(),
            iface_id: iface.to_owned(),
            profile: profile.to_owned(),
            adapter: format!("veth{index}_{owner}"),
            container_ifname: "eth0".to_owned(),
            mac: format!("02:ab:cd:00:01:{index:02x}"),
            owner_uuid: format!("uuid-{owner}"),
            owner_name: owner.to_owned(),
            ltl: 48 + index,
        }
    }

    async fn bind(&mut self, iface: &str, profile: &str, owner: &str, index: u32) -> proto::BindPortReply {
        let request = self.port(iface, profile, owner, index);
        self.client.bind_port(request).await.unwrap().into_inner()
    }

    async fn unbind(&mut self, iface: &str) -> bool {
        let request = proto::UnbindPortRequest {
            module: self.module,
            host_id: self.host_id.clone(),
            iface_id: iface.to_owned(),
        };
        self.client.unbind_port(request).await.unwrap().into_inner().kept
    }

    async fn report(&mut self, ports: Vec<proto::PortStatus>, macs: Vec<proto::MacEntry>) {
        let report = proto::PortReport {
            module: self.module,
            host_id: self.host_id.clone(),
            ports,
            macs,
            ..Default::default()
        };
        self.client.report_ports(report).await.unwrap();
    }

    async fn heartbeat(&mut self) -> i64 {
        let request = proto::HeartbeatRequest { module: self.module, host_id: self.host_id.clone() };
        self.client.heartbeat(request).await.unwrap().into_inner().revision
    }

    /// Waits until the supervisor's policies reflect config `revision` (a bind sees profiles as
    /// the agent streams carry them).
    async fn wait_for_revision(&mut self, revision: i64) {
        for _ in 0..200 {
            if self.heartbeat().await >= revision {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("policies never reached revision {revision}");
    }
}

fn up(iface: &str, vlan: u32) -> proto::PortStatus {
    proto::PortStatus {
        iface_id: iface.to_owned(),
        veth: 0,
        up: true,
        reason: String::new(),
        mode: "access".to_owned(),
        vlan,
        counters: Some(proto::PortCounters::default()),
    }
}

fn down(iface: &str, reason: &str) -> proto::PortStatus {
    proto::PortStatus { up: false, reason: reason.to_owned(), ..up(iface, 0) }
}

/// Applies config text and waits until the policies reflect it.
async fn configure(supervisor: &Running, agent: &mut Agent, text: &str) {
    let reply = supervisor.configure(text).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    agent.wait_for_revision(reply.json()["revision"].as_i64().unwrap()).await;
}

/// The event messages from the first one matching `from` on.
async fn events_since(supervisor: &Running, from: usize) -> Vec<String> {
    supervisor.event_messages().await.split_off(from)
}

async fn show(supervisor: &Running, line: &str) -> String {
    let reply = supervisor.exec(line).await;
    assert_eq!(reply.status, 200, "{line}: {}", reply.body);
    reply.body
}

#[tokio::test]
async fn numbers_are_stable_across_rebinds_restarts_and_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    configure(&supervisor, &mut bilbo, &access_profile("vlan100", 100)).await;

    let first = bilbo.bind("iface-a", "vlan100", "web1", 1).await;
    assert_eq!(first.veth, 1);
    assert!(!first.policy_json.is_empty(), "the reply carries the policy");
    let policy: serde_json::Value = serde_json::from_str(&first.policy_json).unwrap();
    assert_eq!(policy["access_vlan"], 100);
    assert!(first.policy_revision > 0);
    assert_eq!(bilbo.bind("iface-b", "vlan100", "web2", 2).await.veth, 2);
    let before = supervisor.event_messages().await.len();
    assert_eq!(bilbo.bind("iface-a", "vlan100", "web1", 1).await.veth, 1, "a rebind keeps the number");
    assert_eq!(events_since(&supervisor, before).await, Vec::<String>::new(), "and logs nothing");
    drop(bilbo);
    supervisor.stop().await;

    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    assert_eq!(bilbo.bind("iface-b", "vlan100", "web2", 2).await.veth, 2, "kept across a restart");
    assert_eq!(bilbo.bind("iface-c", "vlan100", "web3", 3).await.veth, 3);
    // The container moves: detached from bilbo (static: the binding is kept), the same iface-id
    // from another host keeps its number.
    let mut frodo = Agent::join(&supervisor, "frodo").await;
    assert!(bilbo.unbind("iface-a").await);
    assert_eq!(frodo.bind("iface-a", "vlan100", "web1", 7).await.veth, 1);
    assert_eq!(
        supervisor.event_messages().await.last().unwrap(),
        "%VIM-5-IF_ATTACHED: Interface Vethernet1 is attached to veth7_web1 of web1 on port 7 of module 4"
    );
    // The old host's late detach does not take it from the new one.
    assert!(bilbo.unbind("iface-a").await);
    let view = supervisor.get("/api/v1/interfaces/Vethernet1").await.json();
    assert_eq!((view["module"].as_u64(), view["attached"].as_bool()), (Some(4), Some(true)));
    supervisor.stop().await;
}

#[tokio::test]
async fn static_keeps_the_number_dynamic_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    let dynamic = format!("{}  port-binding dynamic\n", access_profile("dyn", 200));
    configure(&supervisor, &mut agent, &format!("{}{dynamic}", access_profile("stat", 100))).await;

    assert_eq!(agent.bind("s1", "stat", "a", 1).await.veth, 1);
    assert_eq!(agent.bind("d1", "dyn", "b", 2).await.veth, 2);
    assert_eq!(agent.bind("s2", "stat", "c", 3).await.veth, 3);

    assert!(agent.unbind("s1").await, "static: kept");
    assert!(!agent.unbind("d1").await, "dynamic: released");
    assert!(!agent.unbind("d1").await, "a repeated detach succeeds");
    assert!(!agent.unbind("never-bound").await);

    // Vethernet1 stays reserved for s1; the freed Vethernet2 goes to the next new port (the
    // lowest free number), then numbers continue after the highest.
    assert_eq!(agent.bind("n1", "dyn", "d", 4).await.veth, 2);
    assert_eq!(agent.bind("n2", "dyn", "e", 5).await.veth, 4);
    assert_eq!(agent.bind("s1", "stat", "a", 1).await.veth, 1, "s1 comes back to its number");
    // d1 lost its number for good.
    assert_eq!(agent.bind("d1", "dyn", "b", 2).await.veth, 5);

    let events = supervisor.event_messages().await;
    let port_events: Vec<&String> = events.iter().filter(|e| e.contains("%VIM-")).collect();
    assert_eq!(
        port_events,
        [
            "%VIM-5-IF_ATTACHED: Interface Vethernet1 is attached to veth1_a of a on port 1 of module 3",
            "%VIM-5-IF_ATTACHED: Interface Vethernet2 is attached to veth2_b of b on port 2 of module 3",
            "%VIM-5-IF_ATTACHED: Interface Vethernet3 is attached to veth3_c of c on port 3 of module 3",
            "%VIM-5-IF_DETACHED: Interface Vethernet1 is detached",
            "%VIM-5-IF_DETACHED: Interface Vethernet2 is detached",
            "%VIM-5-IF_ATTACHED: Interface Vethernet2 is attached to veth4_d of d on port 4 of module 3",
            "%VIM-5-IF_ATTACHED: Interface Vethernet4 is attached to veth5_e of e on port 5 of module 3",
            "%VIM-5-IF_ATTACHED: Interface Vethernet1 is attached to veth1_a of a on port 1 of module 3",
            "%VIM-5-IF_ATTACHED: Interface Vethernet5 is attached to veth2_b of b on port 2 of module 3",
        ]
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn one_store_write_per_bind_and_unbind() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let supervisor = Running::start_on(store.clone(), dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    configure(&supervisor, &mut agent, &access_profile("web", 100)).await;

    let before = store.revision().await.unwrap();
    agent.bind("a", "web", "web1", 1).await;
    // The accounting entry follows in a transaction of its own, after the answer.
    audited(&supervisor, 1).await;
    let after_bind = store.revision().await.unwrap();
    assert_eq!(after_bind, before + 2, "the binding and its IF_ATTACHED line are one transaction");
    let binding = store.get("/switchyard/ports/a").await.unwrap().unwrap();
    assert_eq!(binding.mod_revision, before + 1);
    let record: serde_json::Value = serde_json::from_slice(&binding.value).unwrap();
    assert_eq!(record["veth"], 1);
    assert_eq!(record["mac"], "02:ab:cd:00:01:01");

    agent.bind("a", "web", "web1", 1).await;
    assert_eq!(store.revision().await.unwrap(), after_bind, "an unchanged rebind writes nothing");
    agent.unbind("a").await;
    audited(&supervisor, 2).await;
    assert_eq!(store.revision().await.unwrap(), after_bind + 2);
    drop(agent);
    supervisor.stop().await;
}

/// Waits until the accounting log holds `count` port entries.
async fn audited(supervisor: &Running, count: usize) {
    eventually(&format!("{count} port entries in the accounting log"), Duration::from_secs(10), || async {
        let entries = supervisor.audit("").await;
        (entries.iter().filter(|entry| entry["kind"] == "port").count() >= count).then_some(())
    })
    .await;
}

#[tokio::test]
async fn max_ports_is_enforced_at_bind() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    configure(&supervisor, &mut agent, &format!("{}  max-ports 2\n", access_profile("small", 100))).await;
    configure(&supervisor, &mut agent, "port-profile type ethernet uplink\n  switchport mode trunk\n").await;

    agent.bind("a", "small", "a", 1).await;
    agent.bind("b", "small", "b", 2).await;
    let before = supervisor.event_messages().await.len();
    let refused = agent.client.bind_port(agent.port("c", "small", "c", 3)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        "port-profile small allows 2 ports (max-ports) and 2 are attached; the port was not bound"
    );
    assert_eq!(events_since(&supervisor, before).await, Vec::<String>::new());
    assert_eq!(
        supervisor.get("/api/v1/interfaces").await.json().as_array().unwrap().len(),
        2,
        "nothing bound"
    );
    // A rebind of an attached port takes no new place; a detach frees one.
    agent.bind("a", "small", "a", 1).await;
    agent.unbind("b").await;
    assert_eq!(agent.bind("c", "small", "c", 3).await.veth, 3);

    let uplink = agent.client.bind_port(agent.port("d", "uplink", "d", 4)).await.unwrap_err();
    assert_eq!(uplink.code(), Code::FailedPrecondition);
    let mut bad = agent.port("e", "small", "e", 5);
    bad.mac = "not a mac".into();
    assert_eq!(agent.client.bind_port(bad).await.unwrap_err().code(), Code::InvalidArgument);
    let mut low = agent.port("e", "small", "e", 5);
    low.ltl = 17;
    assert_eq!(agent.client.bind_port(low).await.unwrap_err().code(), Code::InvalidArgument);
    let mut stranger = agent.port("e", "small", "e", 5);
    stranger.host_id = "id-frodo".into();
    // bilbo's certificate cannot speak for frodo.
    assert_eq!(agent.client.bind_port(stranger).await.unwrap_err().code(), Code::PermissionDenied);
    let mut unknown = agent.port("e", "small", "e", 5);
    unknown.module = 99;
    assert_eq!(agent.client.bind_port(unknown).await.unwrap_err().code(), Code::NotFound);
    supervisor.stop().await;
}

#[tokio::test]
async fn reported_state_changes_are_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    let mut watcher = supervisor.grpc_as("bilbo").await;
    let mut watch = watcher
        .watch(proto::WatchRequest {
            module: agent.module,
            host_id: agent.host_id.clone(),
            known: HashMap::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(watch.message().await.unwrap().unwrap().sync);
    configure(&supervisor, &mut agent, &access_profile("web", 100)).await;
    let update = watch.message().await.unwrap().unwrap();
    assert!(update.upserts.is_empty(), "no port of the module uses web yet: {update:?}");

    // A port whose profile does not exist: bound, no policy, down until the profile comes.
    let waiting = agent.bind("w", "db", "db1", 2).await;
    assert_eq!((waiting.veth, waiting.policy_json.as_str(), waiting.policy_revision), (1, "", 0));
    let bound = agent.bind("a", "web", "web1", 1).await;
    // The module's first port on web brings web to its stream.
    let entered =
        tokio::time::timeout(Duration::from_secs(5), watch.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(entered.upserts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["web"]);
    assert!(entered.revision < bound.policy_revision, "the reply's policy counts until the next revision");
    let before = supervisor.event_messages().await.len();
    agent.report(vec![down("w", "port-profile not found"), up("a", 100)], Vec::new()).await;
    agent.report(vec![down("w", "port-profile not found"), up("a", 100)], Vec::new()).await;
    assert_eq!(
        events_since(&supervisor, before).await,
        [
            "%ETHPORT-5-IF_DOWN_PORT_PROFILE_NOT_FOUND: Interface Vethernet1 is down (port-profile not found)",
            "%ETHPORT-5-IF_UP: Interface Vethernet2 is up in mode access",
        ]
    );
    let brief = show(&supervisor, "show interface brief").await;
    assert!(
        brief.contains("\nVeth1         --     virt access down    port-profile not found   auto\n"),
        "{brief}"
    );

    // The profile is created: it reaches the agent's stream, the agent brings the port up.
    let reply = supervisor.configure(&access_profile("db", 300)).await;
    let delta =
        tokio::time::timeout(Duration::from_secs(5), watch.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(delta.upserts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["db"]);
    assert_eq!(delta.revision, reply.json()["revision"].as_i64().unwrap());
    let before = supervisor.event_messages().await.len();
    agent.report(vec![up("w", 300), down("a", "administratively down")], Vec::new()).await;
    assert_eq!(
        events_since(&supervisor, before).await,
        [
            "%ETHPORT-5-IF_UP: Interface Vethernet1 is up in mode access",
            "%ETHPORT-5-IF_DOWN_ADMIN_DOWN: Interface Vethernet2 is down (Administratively down)",
        ]
    );
    // Down for another reason: no new line.
    agent.report(vec![up("w", 300), down("a", "port-profile disabled")], Vec::new()).await;
    assert_eq!(supervisor.event_messages().await.len(), before + 2);

    // Detach logs IF_DETACHED; the port's later absence from reports logs nothing.
    agent.unbind("w").await;
    agent.report(vec![down("a", "port-profile disabled")], Vec::new()).await;
    assert_eq!(
        events_since(&supervisor, before + 2).await,
        ["%VIM-5-IF_DETACHED: Interface Vethernet1 is detached"]
    );
    let stranger =
        proto::PortReport { module: agent.module, host_id: "id-other".into(), ..Default::default() };
    assert_eq!(agent.client.report_ports(stranger).await.unwrap_err().code(), Code::PermissionDenied);
    supervisor.stop().await;
}

#[tokio::test]
async fn an_offline_module_takes_its_ports_down() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.heartbeat_timeout = Duration::from_millis(300);
    })
    .await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    configure(&supervisor, &mut agent, &access_profile("web", 100)).await;
    agent.bind("a", "web", "web1", 1).await;
    agent.report(vec![up("a", 100)], Vec::new()).await;
    assert_eq!(supervisor.get("/api/v1/interfaces/1").await.json()["up"], true);

    // Silence: the module goes offline, its port down.
    let mut offline = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let events = supervisor.event_messages().await;
        if events.iter().any(|e| e.contains("IF_DOWN_MODULE_OFFLINE")) {
            offline = true;
            break;
        }
    }
    assert!(offline, "no IF_DOWN_MODULE_OFFLINE: {:?}", supervisor.event_messages().await);
    let events = supervisor.event_messages().await;
    assert_eq!(
        events[events.len() - 2..],
        [
            "%VEM_MGR-2-MOD_OFFLINE: Module 3 is offline",
            "%ETHPORT-5-IF_DOWN_MODULE_OFFLINE: Interface Vethernet1 is down (module offline)",
        ]
    );
    let view = supervisor.get("/api/v1/interfaces/Veth1").await.json();
    assert_eq!((view["up"].as_bool(), view["reason"].as_str()), (Some(false), Some("module offline")));
    let brief = show(&supervisor, "show interface brief").await;
    assert!(
        brief.contains("Veth1         100    virt access down    module offline           auto\n"),
        "{brief}"
    );

    // It comes back and reports the port up: IF_UP again.
    agent.heartbeat().await;
    agent.report(vec![up("a", 100)], Vec::new()).await;
    assert_eq!(
        supervisor.event_messages().await.last().unwrap(),
        "%ETHPORT-5-IF_UP: Interface Vethernet1 is up in mode access"
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn a_supervisor_restart_does_not_relog_port_states() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    configure(&supervisor, &mut agent, &access_profile("web", 100)).await;
    agent.bind("a", "web", "web1", 1).await;
    agent.report(vec![up("a", 100)], Vec::new()).await;
    drop(agent);
    supervisor.stop().await;

    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    let before = supervisor.event_messages().await.len();
    agent.bind("a", "web", "web1", 1).await;
    agent.report(vec![up("a", 100)], Vec::new()).await;
    assert_eq!(events_since(&supervisor, before).await, Vec::<String>::new());
    agent.report(vec![down("a", "administratively down")], Vec::new()).await;
    assert_eq!(events_since(&supervisor, before).await.len(), 1, "changes are logged again");
    supervisor.stop().await;
}

#[tokio::test]
async fn the_shell_and_rest_show_ports_and_mac_tables() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = Agent::join(&supervisor, "bilbo").await;
    configure(
        &supervisor,
        &mut agent,
        &format!("{}{}", access_profile("vlan100", 100), access_profile("vlan200", 200)),
    )
    .await;
    agent.bind("a", "vlan100", "web1", 1).await;
    agent.bind("b", "vlan100", "web2", 2).await;
    agent.bind("c", "vlan200", "db1", 3).await;
    agent.bind("d", "nope", "lost", 4).await;
    let counters = proto::PortCounters {
        rx_packets: 1024,
        rx_unicast: 980,
        rx_multicast: 40,
        rx_broadcast: 4,
        rx_bytes: 131_072,
        tx_packets: 998,
        tx_unicast: 990,
        tx_multicast: 6,
        tx_broadcast: 2,
        tx_flood: 12,
        tx_bytes: 129_000,
        rx_drops: 3,
        tx_drops: 1,
        drops_by_reason: [("vlan-mismatch".to_owned(), 3)].into(),
    };
    let mac = |vlan: u32, mac: &str, veth: u32, port: &str, kind: &str, age: u32| proto::MacEntry {
        vlan,
        mac: mac.to_owned(),
        kind: kind.to_owned(),
        age_seconds: age,
        veth,
        port: port.to_owned(),
        ..Default::default()
    };
    agent
        .report(
            vec![
                proto::PortStatus { counters: Some(counters), ..up("a", 100) },
                up("b", 100),
                up("c", 200),
                down("d", "port-profile not found"),
            ],
            vec![
                mac(100, "00:50:56:b3:06:d1", 1, "", "static", 0),
                mac(100, "00:50:56:b3:07:02", 0, "eth1", "dynamic", 12),
                mac(200, "02:ab:cd:00:01:03", 3, "", "static", 0),
            ],
        )
        .await;

    assert_eq!(
        show(&supervisor, "show interface virtual").await,
        "\
-------------------------------------------------------------------------------
Port        Adapter           Owner                    Mod Host
-------------------------------------------------------------------------------
Veth1       veth1_web1        web1                     3   bilbo
Veth2       veth2_web2        web2                     3   bilbo
Veth3       veth3_db1         db1                      3   bilbo
Veth4       veth4_lost        lost                     3   bilbo
"
    );
    assert_eq!(
        show(&supervisor, "show interface vethernet 1").await,
        "\
Vethernet1 is up
  Port description is web1, eth0
  Hardware: Virtual, address: 02ab.cd00.0101 (bia 02ab.cd00.0101)
  Owner is container \"web1\", adapter is eth0
  Active on module 3
  Port-Profile is vlan100
  Port mode is access
  5 minute input rate 0 bits/second, 0 packets/second
  5 minute output rate 0 bits/second, 0 packets/second
  Rx
    1024 Input Packets 980 Unicast Packets
    40 Multicast Packets 4 Broadcast Packets
    131072 Bytes
  Tx
    998 Output Packets 990 Unicast Packets
    6 Multicast Packets 2 Broadcast Packets 12 Flood Packets
    129000 Bytes
    3 Input Packet Drops 1 Output Packet Drops
"
    );
    assert!(
        show(&supervisor, "show interface vethernet 4")
            .await
            .starts_with("Vethernet4 is down (port-profile not found)\n  Port description is lost, eth0\n")
    );
    let missing = supervisor.exec("show interface vethernet 9").await;
    assert_eq!(
        (missing.status.as_u16(), missing.json()["error"].as_str()),
        (404, Some("Vethernet9 does not exist"))
    );
    assert_eq!(
        show(&supervisor, "show interface brief").await,
        "\
-------------------------------------------------------------------------------
Vethernet     VLAN   Type Mode   Status  Reason                   Speed
-------------------------------------------------------------------------------
Veth1         100    virt access up      none                     auto
Veth2         100    virt access up      none                     auto
Veth3         200    virt access up      none                     auto
Veth4         --     virt access down    port-profile not found   auto
"
    );
    assert_eq!(
        show(&supervisor, "show port-profile virtual usage").await,
        "\
-------------------------------------------------------------------------------
Port Profile               Port        Adapter        Owner
-------------------------------------------------------------------------------
nope                       Veth4       eth0           lost
vlan100                    Veth1       eth0           web1
                           Veth2       eth0           web2
vlan200                    Veth3       eth0           db1
"
    );
    assert_eq!(
        show(&supervisor, "show mac address-table").await,
        "\
VLAN      MAC Address       Type      Age       Port                           Mod
---------+-----------------+---------+---------+------------------------------+---
100       0050.56b3.06d1    static    0         Veth1                          3
100       0050.56b3.0702    dynamic   12        eth1                           3
200       02ab.cd00.0103    static    0         Veth3                          3
Total MAC Addresses: 3
"
    );
    assert!(show(&supervisor, "show mac address-table vlan 200").await.ends_with(
        "200       02ab.cd00.0103    static    0         Veth3                          3\nTotal MAC Addresses: 1\n"
    ));
    let module = show(&supervisor, "show module").await;
    assert!(
        module.contains("\n3    4      Virtual Ethernet Module           NA                  ok\n"),
        "{module}"
    );
    let profile = show(&supervisor, "show port-profile name vlan100").await;
    assert!(
        profile.contains(" assigned interfaces:\n  Vethernet1\n  Vethernet2\n port-binding: static\n"),
        "{profile}"
    );
    let brief = show(&supervisor, "show port-profile brief").await;
    assert!(
        brief.contains("\nvlan100                     Vethernet  1        2      3      2         0\n"),
        "{brief}"
    );

    // REST: the same, as JSON.
    let all = supervisor.get("/api/v1/interfaces").await.json();
    assert_eq!(all.as_array().unwrap().len(), 4);
    let one = supervisor.get("/api/v1/interfaces/Vethernet1").await.json();
    assert_eq!(one["name"], "Vethernet1");
    assert_eq!(one["iface_id"], "a");
    assert_eq!(one["owner_name"], "web1");
    assert_eq!(one["host_name"], "bilbo");
    assert_eq!(one["profile"], "vlan100");
    assert_eq!(one["vlan"], 100);
    assert_eq!(one["counters"]["rx_packets"], 1024);
    assert_eq!(one["counters"]["drops_by_reason"]["vlan-mismatch"], 3);
    assert_eq!(supervisor.get("/api/v1/interfaces/veth4").await.json()["reason"], "port-profile not found");
    assert_eq!(supervisor.get("/api/v1/interfaces/Vethernet9").await.status, 404);
    assert_eq!(supervisor.get("/api/v1/interfaces/eth1").await.status, 404);
    let macs = supervisor.get("/api/v1/mac-address-table?vlan=100").await.json();
    assert_eq!(macs.as_array().unwrap().len(), 2);
    assert_eq!(macs[0]["port"], "Veth1");
    assert_eq!(macs[1]["mac"], "00:50:56:b3:07:02");
    assert_eq!(supervisor.get("/api/v1/mac-address-table?vlan=9999").await.status, 400);
    assert_eq!(supervisor.get("/api/v1/mac-address-table").await.json().as_array().unwrap().len(), 3);
    let openapi = supervisor.get("/openapi.json").await.json();
    for path in ["/api/v1/interfaces", "/api/v1/interfaces/{veth}", "/api/v1/mac-address-table"] {
        assert!(openapi["paths"][path]["get"].is_object(), "{path} not documented");
    }
    supervisor.stop().await;
}
