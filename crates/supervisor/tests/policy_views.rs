//! The supervisor's views of policy over real gRPC and REST: access-list matches summed over
//! modules, flow monitors and exporters, and the recovery of error-disabled vEthernets
//! (`interface vethernet N` + `no shutdown`) delivered in the module's next report reply.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN, As, Running, access_profile, host};
use hyper::http::{Method, StatusCode};
use proto::supervisor_client::SupervisorClient;
use tonic::transport::Channel;

const OPERATOR_LINE: &str = "username olive password 0live-pw role network-operator\n";
const OPERATOR: As<'static> = As::User("olive", "0live-pw");

const POLICY: &str = "ip access-list WEB\n  statistics per-entry\n  10 permit tcp any 10.100.0.0/24 eq 80\n  \
                      20 permit icmp any any\n  30 deny ip any any\n\
                      ip access-list QUIET\n  10 permit ip any any\n\
                      ipv6 access-list WEB6\n  statistics per-entry\n  10 permit tcp any any eq 80\n\
                      flow exporter COLLECTOR\n  destination 10.100.0.250\n  transport udp 4739\n  version ipfix\n\
                      flow monitor MON\n  record netflow-original\n  exporter COLLECTOR\n  timeout active 60\n  timeout inactive 15\n\
                      port-profile type vethernet web\n  switchport mode access\n  switchport access vlan 100\n  \
                      ip port access-group WEB in\n  ip flow monitor MON input\n  state enabled\n";

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

    /// Sends a report with this policy state; returns the reply's port commands.
    async fn report(&mut self, policy: proto::PolicyReport) -> Vec<proto::PortCommand> {
        let report = proto::PortReport {
            module: self.module,
            host_id: self.host_id.clone(),
            policy: Some(policy),
            ..Default::default()
        };
        self.client.report_ports(report).await.unwrap().into_inner().commands
    }

    async fn bind(&mut self, iface: &str, index: u32) -> u32 {
        let request = common::port(&self.host_id["id-".len()..], self.module, iface, "web", index);
        self.client.bind_port(request).await.unwrap().into_inner().veth
    }
}

fn hits(list: &str, ipv6: bool, sequence: u32, matches: u64) -> proto::AclEntryHits {
    proto::AclEntryHits { list: list.to_owned(), ipv6, sequence, matches }
}

async fn show(supervisor: &Running, line: &str) -> String {
    let reply = supervisor.exec(line).await;
    assert_eq!(reply.status, StatusCode::OK, "{line}: {}", reply.body);
    reply.body
}

#[tokio::test]
async fn access_list_matches_are_summed_over_modules() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    assert_eq!(supervisor.configure(POLICY).await.status, StatusCode::OK);
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let mut frodo = Agent::join(&supervisor, "frodo").await;
    bilbo
        .report(proto::PolicyReport {
            acl_hits: vec![hits("WEB", false, 10, 40), hits("WEB", false, 30, 1), hits("WEB6", true, 10, 5)],
            ..Default::default()
        })
        .await;
    frodo
        .report(proto::PolicyReport {
            acl_hits: vec![hits("WEB", false, 10, 2), hits("WEB", false, 30, 2), hits("WEB", false, 0, 4)],
            ..Default::default()
        })
        .await;

    assert_eq!(
        show(&supervisor, "show ip access-lists WEB").await,
        "IP access list WEB\n\
         \x20       statistics per-entry\n\
         \x20       10 permit tcp any 10.100.0.0/24 eq 80 [match=42]\n\
         \x20       20 permit icmp any any [match=0]\n\
         \x20       30 deny ip any any [match=3]\n\
         \x20       implicit deny ip any any [match=4]\n"
    );
    // Every IPv4 list; one without statistics shows no counts. IPv6 lists on their own.
    let all = show(&supervisor, "sh ip access-lists").await;
    assert!(
        all.starts_with("IP access list QUIET\n        10 permit ip any any\n\nIP access list WEB\n"),
        "{all}"
    );
    assert!(!all.contains("WEB6"), "{all}");
    assert_eq!(
        show(&supervisor, "show ipv6 access-lists").await,
        "IPv6 access list WEB6\n        statistics per-entry\n        10 permit tcp any any eq 80 [match=5]\n"
    );
    // A report replaces its module's previous one: counters are totals.
    bilbo
        .report(proto::PolicyReport { acl_hits: vec![hits("WEB", false, 10, 50)], ..Default::default() })
        .await;
    assert!(show(&supervisor, "show ip access-lists WEB").await.contains("eq 80 [match=52]"));

    let missing = supervisor.exec("show ip access-lists NOPE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    assert!(missing.body.contains("ip access-list NOPE does not exist"), "{}", missing.body);
    let wrong_family = supervisor.exec("show ipv6 access-lists WEB").await;
    assert_eq!(wrong_family.status, StatusCode::NOT_FOUND, "{}", wrong_family.body);

    // REST: the same counts, whatever statistics says, with the implicit deny's.
    let lists = supervisor.get("/api/v1/access-lists").await.json();
    let names: Vec<(&str, &str)> = lists
        .as_array()
        .unwrap()
        .iter()
        .map(|list| (list["family"].as_str().unwrap(), list["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("ipv4", "QUIET"), ("ipv4", "WEB"), ("ipv6", "WEB6")]);
    let web = &lists[1];
    assert_eq!(web["statistics_per_entry"], true);
    assert_eq!(web["implicit_deny_matches"], 4);
    assert_eq!(web["entries"][0]["sequence"], 10);
    assert_eq!(web["entries"][0]["entry"], "permit tcp any 10.100.0.0/24 eq 80");
    assert_eq!(web["entries"][0]["matches"], 52);
    let document = supervisor.get("/openapi.json").await.json();
    assert!(document["paths"]["/api/v1/access-lists"]["get"].is_object());
    assert!(document["components"]["schemas"]["AccessListView"]["properties"]["entries"].is_object());
    supervisor.stop().await;
}

#[tokio::test]
async fn flow_monitors_and_exporters_come_from_the_config_and_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    assert_eq!(supervisor.configure(POLICY).await.status, StatusCode::OK);
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    bilbo.bind("iface-a", 1).await;
    bilbo.bind("iface-b", 2).await;
    assert_eq!(
        show(&supervisor, "show flow monitor").await,
        "Flow Monitor MON:\n\
         \x20   Use count: 2\n\
         \x20   Flow Record: netflow-original\n\
         \x20   Flow Exporter: COLLECTOR\n\
         \x20   Inactive timeout: 15\n\
         \x20   Active timeout: 60\n\
         \x20   Port-profile web: input (2 vEthernets)\n"
    );
    assert_eq!(supervisor.exec("show flow monitor NOPE").await.status, StatusCode::NOT_FOUND);
    let before = show(&supervisor, "show flow exporter").await;
    assert!(
        before.contains(
            "Flow exporter COLLECTOR:\n    Destination: 10.100.0.250\n    Destination UDP Port 4739\n    Export Version IPFIX (10)\n    Exporter Statistics: no module has reported it yet\n"
        ),
        "{before}"
    );
    let status = proto::ExporterStatus {
        name: "COLLECTOR".into(),
        destination: "10.100.0.250:4739".into(),
        version: "ipfix".into(),
        records: 7,
        ..Default::default()
    };
    bilbo.report(proto::PolicyReport { exporters: vec![status], ..Default::default() }).await;
    let after = show(&supervisor, "show flow exporter").await;
    assert!(
        after.contains("    Exporter Statistics of module 3\n        Number of Flow Records Exported: 7\n"),
        "{after}"
    );
    assert!(!after.contains("no module has reported it yet"), "{after}");
    supervisor.stop().await;
}

#[tokio::test]
async fn no_shutdown_reaches_the_module_in_its_next_report_reply_once() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let text = format!("{OPERATOR_LINE}{}", access_profile("web", 100));
    assert_eq!(supervisor.configure(&text).await.status, StatusCode::OK);
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let mut frodo = Agent::join(&supervisor, "frodo").await;
    let veth = bilbo.bind("iface-a", 1).await;
    assert_eq!(frodo.bind("iface-b", 2).await, veth + 1);

    let reply = supervisor.exec(&format!("interface vethernet {veth} no shutdown")).await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, ""));
    assert!(frodo.report(proto::PolicyReport::default()).await.is_empty(), "not frodo's port");
    assert_eq!(
        bilbo.report(proto::PolicyReport::default()).await,
        [proto::PortCommand { veth, shutdown: false }]
    );
    assert!(bilbo.report(proto::PolicyReport::default()).await.is_empty(), "delivered once");
    // The last request before a report is the one delivered.
    supervisor.exec(&format!("interface vethernet {} shutdown", veth + 1)).await;
    supervisor.exec(&format!("interface vethernet {} shutdown", veth)).await;
    assert_eq!(
        frodo.report(proto::PolicyReport::default()).await,
        [proto::PortCommand { veth: veth + 1, shutdown: true }]
    );
    assert_eq!(
        bilbo.report(proto::PolicyReport::default()).await,
        [proto::PortCommand { veth, shutdown: true }]
    );

    // A missing vEthernet, a network-operator: refused, nothing queued.
    let missing = supervisor.exec("interface vethernet 99 no shutdown").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    assert!(missing.body.contains("Vethernet99 does not exist"), "{}", missing.body);
    let line = format!("interface vethernet {veth} no shutdown");
    let refused = supervisor.request(OPERATOR, Method::POST, "/api/v1/exec", &[], line.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("needs network-admin"), "{}", refused.body);
    assert!(bilbo.report(proto::PolicyReport::default()).await.is_empty());
    // Entering the sub-mode is the shell's business.
    let session_only =
        supervisor.request(ADMIN, Method::POST, "/api/v1/exec", &[], "interface vethernet 1").await;
    assert_eq!(session_only.status, StatusCode::BAD_REQUEST, "{}", session_only.body);

    // Every request past the role check is in the accounting log, failed ones too (the
    // operator's is refused before it and not logged).
    let entries = supervisor.audit("").await;
    let port_lines: Vec<(String, bool)> = entries
        .iter()
        .filter(|entry| entry["command"].as_str().unwrap().starts_with("interface vethernet"))
        .map(|entry| (entry["command"].as_str().unwrap().to_owned(), entry["success"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        port_lines,
        [
            (format!("interface vethernet {veth} no shutdown"), true),
            (format!("interface vethernet {} shutdown", veth + 1), true),
            (format!("interface vethernet {veth} shutdown"), true),
            ("interface vethernet 99 no shutdown".to_owned(), false),
        ]
    );
    let recovered = format!("interface vethernet {veth} no shutdown");
    let detail = entries.iter().rev().find(|e| e["command"] == recovered.as_str()).unwrap();
    assert_eq!(detail["detail"], "sent to module 3 with its next report");
    supervisor.stop().await;
}

#[tokio::test]
async fn a_detached_vethernet_cannot_be_recovered_and_err_disabled_shows_in_views() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let text = access_profile("web", 100).replace("state enabled", "port-binding static\n  state enabled");
    assert_eq!(supervisor.configure(&text).await.status, StatusCode::OK);
    let mut bilbo = Agent::join(&supervisor, "bilbo").await;
    let kept = bilbo.bind("iface-kept", 1).await;
    let port = bilbo.bind("iface-a", 2).await;
    let report = proto::PortReport {
        module: bilbo.module,
        host_id: bilbo.host_id.clone(),
        ports: vec![proto::PortStatus {
            iface_id: "iface-a".into(),
            up: false,
            reason: "Error disabled. Reason:Port Security violation".into(),
            mode: "access".into(),
            vlan: 100,
            ..Default::default()
        }],
        ..Default::default()
    };
    bilbo.client.report_ports(report).await.unwrap();
    let shown = show(&supervisor, &format!("show interface vethernet {port}")).await;
    assert!(shown.starts_with(&format!("Vethernet{port} is down (errDisabled)\n")), "{shown}");
    let brief = show(&supervisor, "show interface brief").await;
    assert!(brief.contains(&format!("Veth{port}         100    virt access down    errDisabled")), "{brief}");
    let events = supervisor.event_messages().await;
    assert!(
        events.contains(&format!(
            "%ETHPORT-2-IF_DOWN_ERROR_DISABLED: Interface Vethernet{port} is down (Error disabled. Reason:Port Security violation)"
        )),
        "{events:?}"
    );

    let unbind = proto::UnbindPortRequest {
        module: bilbo.module,
        host_id: bilbo.host_id.clone(),
        iface_id: "iface-kept".into(),
    };
    assert!(bilbo.client.unbind_port(unbind).await.unwrap().into_inner().kept);
    let detached = supervisor.exec(&format!("interface vethernet {kept} no shutdown")).await;
    assert_eq!(detached.status, StatusCode::CONFLICT, "{}", detached.body);
    assert!(detached.body.contains("is not attached to any module"), "{}", detached.body);
    supervisor.stop().await;
}
