//! What an agent sends cannot break, forge or steal — even a registered one, over the real gRPC
//! service of an in-process supervisor: ports stay with their module, every field is checked,
//! host names are unique, an operator removes modules that are gone (`no module N`), and an
//! offline module leaves the overlay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use common::{Running, access_profile, host, open_store, port, up};
use hyper::http::Method;
use proto::supervisor_client::SupervisorClient;
use store::Store as _;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

/// A registered agent as a test drives it.
struct Agent {
    name: String,
    module: u32,
    client: SupervisorClient<Channel>,
}

impl Agent {
    async fn join(supervisor: &Running, name: &str, vtep: &str) -> Self {
        let mut client = supervisor.grpc_enrolled(name, vtep).await;
        let request = proto::RegisterRequest { vtep: vtep.to_owned(), ..host(name) };
        let module = client.register(request).await.unwrap().into_inner().module;
        Self { name: name.to_owned(), module, client }
    }

    fn host_id(&self) -> String {
        format!("id-{}", self.name)
    }

    fn port(&self, iface: &str, profile: &str, index: u32) -> proto::BindPortRequest {
        port(&self.name, self.module, iface, profile, index)
    }

    async fn bind(&mut self, iface: &str, profile: &str, index: u32) -> Result<u32, tonic::Status> {
        let request = self.port(iface, profile, index);
        self.client.bind_port(request).await.map(|reply| reply.into_inner().veth)
    }

    async fn unbind(&mut self, iface: &str) -> bool {
        let request = proto::UnbindPortRequest {
            module: self.module,
            host_id: self.host_id(),
            iface_id: iface.to_owned(),
        };
        self.client.unbind_port(request).await.unwrap().into_inner().kept
    }

    async fn report(&mut self, ports: Vec<proto::PortStatus>) -> Result<(), tonic::Status> {
        let report =
            proto::PortReport { module: self.module, host_id: self.host_id(), ports, ..Default::default() };
        self.client.report_ports(report).await.map(|_| ())
    }

    async fn heartbeat(&mut self) -> Result<(), tonic::Status> {
        let request = proto::HeartbeatRequest { module: self.module, host_id: self.host_id() };
        self.client.heartbeat(request).await.map(|_| ())
    }

    async fn overlay(&mut self) -> Streaming<proto::OverlayUpdate> {
        let request = proto::OverlayRequest { module: self.module, host_id: self.host_id() };
        self.client.watch_overlay(request).await.unwrap().into_inner()
    }
}

/// Applies config text and waits, through `agent`'s heartbeats, until the policies reflect it
/// (binds see profiles as the agent streams carry them).
async fn configure(supervisor: &Running, agent: &mut Agent, text: &str) {
    let reply = supervisor.configure(text).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let revision = reply.json()["revision"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let request = proto::HeartbeatRequest { module: agent.module, host_id: agent.host_id() };
        if agent.client.heartbeat(request).await.unwrap().into_inner().revision >= revision {
            return;
        }
        assert!(Instant::now() < deadline, "policies never reached revision {revision}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls `check` until it holds, keeping `alive` heartbeating meanwhile (so that only the
/// others go offline); fails after 5 s.
async fn until<F, Fut>(what: &str, alive: &mut [&mut Agent], mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for agent in alive.iter_mut() {
            agent.heartbeat().await.unwrap();
        }
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn status_of(supervisor: &Running, module: u32) -> String {
    let modules = supervisor.get("/api/v1/modules").await.json();
    modules
        .as_array()
        .unwrap()
        .iter()
        .find(|view| view["module"] == module)
        .map_or_else(|| "absent".to_owned(), |view| view["status"].as_str().unwrap().to_owned())
}

async fn show(supervisor: &Running, line: &str) -> String {
    let reply = supervisor.exec(line).await;
    assert_eq!(reply.status, 200, "{line}: {}", reply.body);
    reply.body
}

/// A supervisor whose modules go offline after 300 ms of silence.
async fn quick(dir: &std::path::Path) -> Running {
    Running::start(dir, |options| options.heartbeat_timeout = Duration::from_millis(300)).await
}

#[tokio::test]
async fn another_module_cannot_take_bind_unbind_or_report_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = quick(dir.path()).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "").await;
    let mut mallory = Agent::join(&supervisor, "mallory", "").await;
    configure(&supervisor, &mut bilbo, &access_profile("vlan100", 100)).await;
    let veth = bilbo.bind("web1", "vlan100", 1).await.unwrap();
    bilbo.report(vec![up("web1")]).await.unwrap();
    let before = supervisor.event_messages().await.len();
    let owned = supervisor.get(&format!("/api/v1/interfaces/{veth}")).await.json();

    // A claim from another module is refused, naming the owner; nothing changes.
    let claim = mallory.bind("web1", "vlan100", 1).await.unwrap_err();
    assert_eq!(claim.code(), Code::FailedPrecondition);
    assert_eq!(
        claim.message(),
        format!(
            "iface-id web1 is attached on module {0}; it moves only when module {0} detaches it or an \
             operator removes the module (no module {0})",
            bilbo.module
        )
    );
    // Nor with another profile (the probe's port-profile-not-found attack).
    let mut other = mallory.port("web1", "nope", 1);
    other.mac = "02:66:66:66:66:66".into();
    assert_eq!(mallory.client.bind_port(other).await.unwrap_err().code(), Code::FailedPrecondition);
    // Its unbind and its reports touch only its own ports.
    assert!(mallory.unbind("web1").await, "an unbind of another module's port changes nothing");
    mallory.report(Vec::new()).await.unwrap();
    mallory
        .report(vec![proto::PortStatus { up: false, reason: "administratively down".into(), ..up("web1") }])
        .await
        .unwrap();
    let after = supervisor.get(&format!("/api/v1/interfaces/{veth}")).await.json();
    assert_eq!(after, owned, "the owner's port, policy and state are untouched");
    assert_eq!(
        (after["module"].as_u64(), after["up"].as_bool()),
        (Some(u64::from(bilbo.module)), Some(true))
    );
    assert_eq!(supervisor.event_messages().await.len(), before, "nothing logged");
    // A report or unbind naming the owner's module but not its host id is refused.
    let forged = proto::PortReport { module: bilbo.module, host_id: mallory.host_id(), ..Default::default() };
    assert_eq!(mallory.client.report_ports(forged).await.unwrap_err().code(), Code::FailedPrecondition);
    let forged = proto::UnbindPortRequest {
        module: bilbo.module,
        host_id: mallory.host_id(),
        iface_id: "web1".into(),
    };
    assert_eq!(mallory.client.unbind_port(forged).await.unwrap_err().code(), Code::FailedPrecondition);

    // The owner goes offline: its port stays its own (NX-OS keeps an offline VEM's ports).
    let module = bilbo.module;
    until("bilbo offline", &mut [&mut mallory], || async {
        status_of(&supervisor, module).await == "offline"
    })
    .await;
    assert_eq!(mallory.bind("web1", "vlan100", 1).await.unwrap_err().code(), Code::FailedPrecondition);
    // The operator removes it: the static binding is kept detached, and may attach anywhere.
    let removed = show(&supervisor, &format!("no module {}", bilbo.module)).await;
    assert_eq!(
        removed,
        format!(
            "Module {} (host bilbo) removed\n  Vethernet{veth}: kept, detached (port-binding static)\n",
            bilbo.module
        )
    );
    assert_eq!(mallory.bind("web1", "vlan100", 1).await.unwrap(), veth, "the number follows the iface-id");
    // And the owner's own detach moves a port too.
    mallory.unbind("web1").await;
    let mut frodo = Agent::join(&supervisor, "frodo", "").await;
    assert_eq!(frodo.bind("web1", "vlan100", 2).await.unwrap(), veth);
    supervisor.stop().await;
}

#[tokio::test]
async fn every_field_an_agent_sends_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "").await;
    configure(&supervisor, &mut bilbo, &access_profile("vlan100", 100)).await;
    let mut client = supervisor.grpc_as("x").await;
    let refused = |result: Result<tonic::Response<proto::RegisterReply>, tonic::Status>| {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        status.message().to_owned()
    };
    // The probe's forged `show module` row and terminal escapes.
    let forged =
        proto::RegisterRequest { version: "0.1.0\n9    0      Virtual Ethernet Module".into(), ..host("x") };
    assert_eq!(
        refused(client.register(forged).await),
        "invalid version: contains the control or format character '\\n'"
    );
    let escape = proto::RegisterRequest { hardware: "\u{1b}[2J\u{1b}]0;owned\u{7}".into(), ..host("x") };
    assert!(refused(client.register(escape).await).starts_with("invalid hardware: "));
    let bidi = proto::RegisterRequest { hardware: "Linux \u{202e}46x".into(), ..host("x") };
    assert!(refused(client.register(bidi).await).starts_with("invalid hardware: "));
    let address = proto::RegisterRequest { addresses: vec!["10.0.0.1; rm".into()], ..host("x") };
    assert_eq!(
        refused(client.register(address).await),
        "invalid addresses[0]: \"10.0.0.1; rm\" is not an IP address"
    );
    let long = proto::RegisterRequest { host_name: "h".repeat(300), ..host("x") };
    assert!(refused(client.register(long).await).starts_with("invalid host_name: is 300 bytes long"));
    let uplinks = proto::RegisterRequest {
        uplinks: (1..=33)
            .map(|index| proto::Uplink { index, name: format!("eth{index}"), profile: "u".into() })
            .collect(),
        ..host("x")
    };
    assert!(refused(client.register(uplinks).await).starts_with("invalid uplinks: 33 uplinks; at most 32"));
    assert_eq!(supervisor.get("/api/v1/modules").await.json().as_array().unwrap().len(), 1, "only bilbo");

    bilbo.bind("a", "vlan100", 1).await.unwrap();
    let bind = |mutate: fn(&mut proto::BindPortRequest)| {
        let mut request = bilbo.port("b", "vlan100", 2);
        mutate(&mut request);
        request
    };
    let cases: [(proto::BindPortRequest, &str); 6] = [
        (
            bind(|r| r.mac = "ff:ff:ff:ff:ff:ff".into()),
            "invalid mac: ff:ff:ff:ff:ff:ff is a broadcast address",
        ),
        (
            bind(|r| r.mac = "01:00:5e:00:00:fb".into()),
            "invalid mac: 01:00:5e:00:00:fb is a multicast address",
        ),
        (bind(|r| r.mac = "00:00:00:00:00:00".into()), "invalid mac: 00:00:00:00:00:00 is no port's address"),
        // Port a's MAC, in the same VLAN.
        (
            bind(|r| r.mac = "02:AB:CD:00:00:01".into()),
            "invalid mac: 02:ab:cd:00:00:01 is already Vethernet1's",
        ),
        (bind(|r| r.ltl = u32::MAX), "invalid ltl: 4294967295 is not a vEthernet LTL (49-1072"),
        (bind(|r| r.owner_name = "web\r\n%VIM-5-IF_ATTACHED".into()), "invalid owner_name: contains"),
    ];
    let mut client = bilbo.client.clone();
    for (request, message) in cases {
        let status = client.bind_port(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(message), "{} does not start with {message}", status.message());
    }
    assert_eq!(
        supervisor.get("/api/v1/interfaces").await.json().as_array().unwrap().len(),
        1,
        "nothing bound"
    );

    let report = |ports: Vec<proto::PortStatus>, macs: Vec<proto::MacEntry>| proto::PortReport {
        module: bilbo.module,
        host_id: bilbo.host_id(),
        ports,
        macs,
        ..Default::default()
    };
    let escape = proto::PortStatus { up: false, reason: "\u{1b}[31mdown".into(), ..up("a") };
    let status = client.report_ports(report(vec![escape], Vec::new())).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::InvalidArgument,
            "invalid ports[0].reason: contains the control or format character '\\u{1b}'"
        )
    );
    let entry = proto::MacEntry {
        vlan: 100,
        mac: "02:00:00:00:00:09".into(),
        kind: "dynamic".into(),
        port: "eth1".into(),
        ..Default::default()
    };
    let flood = report(Vec::new(), vec![entry; 65_537]);
    let status = client.report_ports(flood).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::InvalidArgument, "invalid macs: 65537 entries; at most 65536")
    );
    // A Watch's `known` names are echoed back as removes: they must be names, and not too many.
    let known = proto::WatchRequest {
        module: bilbo.module,
        host_id: bilbo.host_id(),
        known: [("a\u{1b}[2J".to_owned(), 1)].into(),
    };
    let status = client.watch(known).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::InvalidArgument,
            "invalid known: \"a\\u{1b}[2J\" is not a port-profile name (one word, at most 80 characters)"
        )
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn renderers_print_no_control_characters_whatever_the_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    // A record written before these rules (or by a supervisor without them).
    let record = serde_json::json!({
        "module": 3, "host_name": "old\u{1b}[2J", "host_id": "id-old",
        "version": "0.1.0\n4    0      Virtual Ethernet Module           NA                  ok",
        "addresses": [], "hardware": "\u{1b}]0;owned\u{7}Linux"
    });
    store.put("/switchyard/modules/id-old", serde_json::to_vec(&record).unwrap()).await.unwrap();
    let supervisor = Running::start_on(store, dir.path(), |_| {}).await;
    let text = show(&supervisor, "show module").await;
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    assert_eq!(text.lines().filter(|line| line.starts_with("4 ")).count(), 0, "no forged row: {text}");
    assert!(text.contains("3    0.1.0?4    0      Virtual Ethernet Module"), "{text}");
    supervisor.stop().await;
}

#[tokio::test]
async fn host_names_are_unique_until_the_module_is_removed() {
    // With TLS, enrolment already refuses a taken name (tests/trust.rs); this is the rule at
    // Register, which also holds for a supervisor run --insecure, where identities are fields.
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.heartbeat_timeout = Duration::from_millis(300);
        options.insecure = true;
    })
    .await;
    let mut client = supervisor.grpc().await;
    let bilbo = client.register(host("bilbo")).await.unwrap().into_inner().module;
    for name in ["bilbo", "BILBO"] {
        let impostor = proto::RegisterRequest { host_id: "id-impostor".into(), ..host(name) };
        let status = client.register(impostor).await.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            format!(
                "host name {name} is module {bilbo}'s (another host id); remove that module first (no module \
                 {bilbo}) or give this host another name"
            )
        );
    }
    let events = supervisor.event_messages().await;
    assert_eq!(
        events.last().unwrap(),
        &format!(
            "%VEM_MGR-2-VEM_MGR_REMOVE_DUP_HOST_NAME: Host BILBO (host id id-impostor) refused: module {bilbo} has that host name"
        )
    );
    // A host renamed to another's name is refused too; its own name it keeps.
    let frodo = client.register(host("frodo")).await.unwrap().into_inner().module;
    let rename = proto::RegisterRequest { host_id: "id-frodo".into(), ..host("bilbo") };
    assert_eq!(client.register(rename).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(client.register(host("frodo")).await.unwrap().into_inner().module, frodo);

    // bilbo goes away for good; the operator removes it; the name is free.
    let mut keep = Agent { name: "frodo".into(), module: frodo, client: client.clone() };
    until("bilbo offline", &mut [&mut keep], || async { status_of(&supervisor, bilbo).await == "offline" })
        .await;
    show(&supervisor, &format!("no module {bilbo}")).await;
    let newcomer = proto::RegisterRequest { host_id: "id-impostor".into(), ..host("bilbo") };
    assert!(client.register(newcomer).await.unwrap().into_inner().module > frodo);
    supervisor.stop().await;
}

#[tokio::test]
async fn no_module_removes_an_offline_module_and_releases_its_ports() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = quick(dir.path()).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut frodo = Agent::join(&supervisor, "frodo", "10.78.0.12").await;
    let dynamic = format!("{}  port-binding dynamic\n", access_profile("dyn", 200));
    configure(&supervisor, &mut bilbo, &format!("{}{dynamic}", access_profile("vlan100", 100))).await;
    let kept = bilbo.bind("s1", "vlan100", 1).await.unwrap();
    let released = bilbo.bind("d1", "dyn", 2).await.unwrap();
    let module = bilbo.module;

    // Online: refused, in the shell and over REST; unknown modules are 404.
    let online = supervisor.exec(&format!("no module {module}")).await;
    assert_eq!(online.status, 409, "{}", online.body);
    assert_eq!(
        online.json()["error"],
        format!(
            "module {module} is online; stop its agent and wait until the module is offline (show module), then remove it"
        )
    );
    let path = format!("/api/v1/modules/{module}");
    assert_eq!(supervisor.http(Method::DELETE, &path, None, "").await.status, 409);
    assert_eq!(supervisor.http(Method::DELETE, "/api/v1/modules/99", None, "").await.status, 404);
    assert_eq!(supervisor.exec("no module 99").await.status, 404);

    until("bilbo offline", &mut [&mut frodo], || async { status_of(&supervisor, module).await == "offline" })
        .await;
    let before = supervisor.event_messages().await.len();
    let reply = supervisor.http(Method::DELETE, &path, None, "").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["host_name"], "bilbo");
    assert_eq!(body["released"][0], serde_json::json!({"veth": kept, "iface_id": "s1", "kept": true}));
    assert_eq!(body["released"][1], serde_json::json!({"veth": released, "iface_id": "d1", "kept": false}));
    // MOD_OFFLINE is logged just after the status turns offline: it may land in between.
    let mut removal = supervisor.event_messages().await.split_off(before);
    removal.retain(|line| !line.contains("MOD_OFFLINE"));
    assert_eq!(
        removal,
        [
            format!("%VIM-5-IF_DETACHED: Interface Vethernet{kept} is detached"),
            format!("%VIM-5-IF_DETACHED: Interface Vethernet{released} is detached"),
            format!("%VEM_MGR-2-VEM_MGR_REMOVED: Module {module} (host bilbo) removed by the operator"),
        ]
    );
    assert_eq!(status_of(&supervisor, module).await, "absent");
    assert!(!show(&supervisor, "show module").await.contains("bilbo"));
    let interfaces = supervisor.get("/api/v1/interfaces").await.json();
    let listed: Vec<(u64, bool)> = interfaces
        .as_array()
        .unwrap()
        .iter()
        .map(|view| (view["veth"].as_u64().unwrap(), view["attached"].as_bool().unwrap()))
        .collect();
    assert_eq!(listed, [(u64::from(kept), false)], "the static binding kept, detached; the dynamic one gone");
    assert_eq!(supervisor.http(Method::DELETE, &path, None, "").await.status, 404, "removed once");

    // The removed module's host is no longer enrolled: its certificate is refused, and it
    // returns only with a new token, as a new module.
    let gone = bilbo.heartbeat().await.unwrap_err();
    assert_eq!(gone.code(), Code::Unauthenticated, "{gone:?}");
    std::fs::remove_file(dir.path().join("test-agent-bilbo.pem")).unwrap();
    let again = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    assert!(again.module > frodo.module, "a new number");
    let openapi = supervisor.get("/openapi.json").await.json();
    assert!(openapi["paths"]["/api/v1/modules/{module}"]["delete"].is_object());
    supervisor.stop().await;
}

#[tokio::test]
async fn an_offline_module_leaves_the_overlay_and_rejoins() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = quick(dir.path()).await;
    let config = "bridge-domain red\n  segment id 5000\nport-profile type vethernet red\n  switchport mode access\n  switchport access bridge-domain red\n  state enabled\n";
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut fake = Agent::join(&supervisor, "fake", "10.66.6.6").await;
    configure(&supervisor, &mut bilbo, config).await;
    bilbo.bind("p1", "red", 1).await.unwrap();
    fake.bind("p2", "red", 2).await.unwrap();
    let mut view = bilbo.overlay().await;
    let vteps =
        |update: &proto::OverlayUpdate| update.segments.first().map(|s| s.vteps.clone()).unwrap_or_default();
    let first = tokio::time::timeout(Duration::from_secs(5), view.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(vteps(&first), ["10.66.6.6"]);

    // The fake VTEP goes silent: bilbo's view drops it (while bilbo itself stays online).
    let mut next = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    while next.is_none() {
        bilbo.heartbeat().await.unwrap();
        if let Ok(update) = tokio::time::timeout(Duration::from_millis(50), view.message()).await {
            next = Some(update.unwrap().unwrap());
        }
        assert!(Instant::now() < deadline, "the offline VTEP never left the view");
    }
    let next = next.unwrap();
    assert_eq!(vteps(&next), Vec::<String>::new());
    assert!(next.segments[0].macs.is_empty(), "nor its MACs");
    let shown = show(&supervisor, "show bridge-domain red vteps").await;
    assert!(
        shown.contains("10.66.6.6        4       fake                 Veth2 (module offline)\n"),
        "{shown}"
    );

    // It comes back: it rejoins.
    fake.heartbeat().await.unwrap();
    let back = tokio::time::timeout(Duration::from_secs(5), view.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(vteps(&back), ["10.66.6.6"]);
    supervisor.stop().await;
}

#[tokio::test]
async fn the_number_of_modules_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.heartbeat_timeout = Duration::from_millis(300);
        options.max_modules = 2;
    })
    .await;
    let mut client = supervisor.grpc_as("a").await;
    let a = client.register(host("a")).await.unwrap().into_inner().module;
    supervisor.grpc_as("b").await.register(host("b")).await.unwrap();
    let mut newcomer = supervisor.grpc_as("c").await;
    let full = newcomer.register(host("c")).await.unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted);
    assert_eq!(
        full.message(),
        "the domain holds 2 modules, the most it takes; an operator removes modules that are gone (no module N)"
    );
    assert_eq!(client.register(host("a")).await.unwrap().into_inner().module, a, "known hosts come back");
    // b goes away and is removed: there is room again.
    let mut keep = Agent { name: "a".into(), module: a, client: client.clone() };
    until("b offline", &mut [&mut keep], || async { status_of(&supervisor, a + 1).await == "offline" }).await;
    show(&supervisor, &format!("no module {}", a + 1)).await;
    assert!(newcomer.register(host("c")).await.is_ok());
    supervisor.stop().await;
}

#[tokio::test]
async fn after_a_restart_members_keep_their_place_for_one_heartbeat_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = quick(dir.path()).await;
    let config = "bridge-domain red\n  segment id 5000\nport-profile type vethernet red\n  switchport mode access\n  switchport access bridge-domain red\n  state enabled\n";
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut gone = Agent::join(&supervisor, "gone", "10.66.6.6").await;
    configure(&supervisor, &mut bilbo, config).await;
    bilbo.bind("p1", "red", 1).await.unwrap();
    gone.bind("p2", "red", 2).await.unwrap();
    drop((bilbo, gone));
    supervisor.stop().await;

    // Restarted: every module is offline until it heartbeats, but a running agent reconnecting
    // first must not lose the others' VTEPs meanwhile.
    let supervisor = quick(dir.path()).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut view = bilbo.overlay().await;
    let vteps =
        |update: &proto::OverlayUpdate| update.segments.first().map(|s| s.vteps.clone()).unwrap_or_default();
    let first = tokio::time::timeout(Duration::from_secs(5), view.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(vteps(&first), ["10.66.6.6"], "kept during the grace");
    // The other never comes back: after one heartbeat timeout it leaves the view.
    let started = Instant::now();
    let mut next = None;
    while next.is_none() {
        bilbo.heartbeat().await.unwrap();
        if let Ok(update) = tokio::time::timeout(Duration::from_millis(50), view.message()).await {
            next = Some(update.unwrap().unwrap());
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the module that never came back stayed in the view"
        );
    }
    assert_eq!(vteps(&next.unwrap()), Vec::<String>::new());
    supervisor.stop().await;
}

#[tokio::test]
async fn a_module_holds_a_bounded_number_of_streams() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "").await;
    let request =
        proto::WatchRequest { module: bilbo.module, host_id: bilbo.host_id(), known: Default::default() };
    let mut streams = Vec::new();
    for _ in 0..8 {
        streams.push(bilbo.client.watch(request.clone()).await.unwrap().into_inner());
    }
    let refused = bilbo.client.watch(request.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(
        refused.message(),
        format!("module {} holds 8 streams of this kind open already; close one first", bilbo.module)
    );
    // Overlay streams are counted apart; another module is not affected.
    bilbo.overlay().await;
    let mut frodo = Agent::join(&supervisor, "frodo", "").await;
    let theirs =
        proto::WatchRequest { module: frodo.module, host_id: frodo.host_id(), known: Default::default() };
    assert!(frodo.client.watch(theirs).await.is_ok());
    // A stream closed frees its place (once the server has seen the cancel).
    drop(streams.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while bilbo.client.watch(request.clone()).await.is_err() {
        assert!(Instant::now() < deadline, "the closed stream's place was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    supervisor.stop().await;
}
