//! The VXLAN overlay over real gRPC: each agent's WatchOverlay stream starts with its whole view
//! and follows binds, unbinds, profile and segment id changes and VTEP changes; show
//! bridge-domain and its REST mirror present the same membership.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Running, access_profile, host, port};
use proto::supervisor_client::SupervisorClient;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

/// Two bridge-domains, a profile in each, and a VLAN profile.
const CONFIG: &str = "\
bridge-domain red
  segment id 5000
bridge-domain blue
  segment id 5001
port-profile type vethernet red
  switchport mode access
  switchport access bridge-domain red
  state enabled
port-profile type vethernet blue
  switchport mode access
  switchport access bridge-domain blue
  state enabled
";

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

    /// Binds `iface` on `profile` at local port `index` (its MAC is 02:ab:cd:00:00:<index>).
    async fn bind(&mut self, iface: &str, profile: &str, index: u32) -> u32 {
        let request = port(&self.name, self.module, iface, profile, index);
        self.client.bind_port(request).await.unwrap().into_inner().veth
    }

    async fn unbind(&mut self, iface: &str) {
        let request = proto::UnbindPortRequest {
            module: self.module,
            host_id: format!("id-{}", self.name),
            iface_id: iface.to_owned(),
        };
        self.client.unbind_port(request).await.unwrap();
    }

    async fn overlay(&mut self) -> Streaming<proto::OverlayUpdate> {
        let request = proto::OverlayRequest { module: self.module, host_id: format!("id-{}", self.name) };
        self.client.watch_overlay(request).await.unwrap().into_inner()
    }
}

async fn next(stream: &mut Streaming<proto::OverlayUpdate>) -> proto::OverlayUpdate {
    tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("no overlay update within 5 s")
        .expect("stream failed")
        .expect("stream ended")
}

/// Nothing more is waiting on the stream.
async fn quiet(stream: &mut Streaming<proto::OverlayUpdate>) {
    let more = tokio::time::timeout(Duration::from_millis(300), stream.message()).await;
    assert!(more.is_err(), "unexpected update {more:?}");
}

/// (segment id, name, vteps, [(mac, vtep, veth)]) per segment.
type Seen = Vec<SegmentRow>;

fn seen(update: &proto::OverlayUpdate) -> Seen {
    update
        .segments
        .iter()
        .map(|segment| {
            let macs = segment.macs.iter().map(|m| (m.mac.clone(), m.vtep.clone(), m.veth)).collect();
            (segment.segment_id, segment.name.clone(), segment.vteps.clone(), macs)
        })
        .collect()
}

/// One segment of an overlay view: segment id, name, VTEPs, (MAC, VTEP, veth).
type SegmentRow = (u32, String, Vec<String>, Vec<(String, String, u32)>);

fn segment(id: u32, name: &str, vteps: &[&str], macs: &[(&str, &str, u32)]) -> SegmentRow {
    (
        id,
        name.to_owned(),
        vteps.iter().map(|v| (*v).to_owned()).collect(),
        macs.iter().map(|&(mac, vtep, veth)| (mac.to_owned(), vtep.to_owned(), veth)).collect(),
    )
}

async fn configure(supervisor: &Running, text: &str) {
    let reply = supervisor.configure(text).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

const MAC1: &str = "02:ab:cd:00:00:01";
const MAC2: &str = "02:ab:cd:00:00:02";

#[tokio::test]
async fn overlay_views_follow_binds_profiles_segments_and_vteps() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, &[CONFIG, &access_profile("vlan100", 100)].concat()).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut frodo = Agent::join(&supervisor, "frodo", "10.78.0.12").await;

    let mut bilbo_view = bilbo.overlay().await;
    assert_eq!(seen(&next(&mut bilbo_view).await), Seen::new(), "no port, no segment, at once");
    let veth1 = bilbo.bind("p1", "red", 1).await;
    assert_eq!(seen(&next(&mut bilbo_view).await), [segment(5000, "red", &[], &[])], "alone in red");

    // A stream opened later starts with its whole view.
    let mut frodo_view = frodo.overlay().await;
    assert!(next(&mut frodo_view).await.segments.is_empty());
    let veth2 = frodo.bind("p2", "red", 2).await;
    assert_eq!(
        seen(&next(&mut frodo_view).await),
        [segment(5000, "red", &["10.78.0.11"], &[(MAC1, "10.78.0.11", veth1)])]
    );
    assert_eq!(
        seen(&next(&mut bilbo_view).await),
        [segment(5000, "red", &["10.78.0.12"], &[(MAC2, "10.78.0.12", veth2)])]
    );
    let mut again = frodo.overlay().await;
    assert_eq!(seen(&next(&mut again).await).len(), 1, "a reconnect gets the whole view again");

    // A VLAN port changes nobody's overlay.
    bilbo.bind("p3", "vlan100", 3).await;
    quiet(&mut bilbo_view).await;
    quiet(&mut frodo_view).await;

    // The profile moves to another bridge-domain; then that bridge-domain's segment id changes.
    configure(&supervisor, "port-profile type vethernet red\n  switchport access bridge-domain blue\n").await;
    assert_eq!(
        seen(&next(&mut bilbo_view).await),
        [segment(5001, "blue", &["10.78.0.12"], &[(MAC2, "10.78.0.12", veth2)])]
    );
    assert_eq!(seen(&next(&mut frodo_view).await)[0].0, 5001);
    configure(&supervisor, "bridge-domain blue\n  segment id 6001\n").await;
    assert_eq!(seen(&next(&mut bilbo_view).await)[0].0, 6001);
    assert_eq!(seen(&next(&mut frodo_view).await)[0].0, 6001);

    // frodo cannot move to a VTEP it did not enrol with: a VTEP is approved with its token.
    let request = proto::RegisterRequest { vtep: "10.78.0.22".into(), ..host("frodo") };
    let error = frodo.client.register(request).await.unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied, "{error:?}");
    assert!(error.message().contains("enrolled with (10.78.0.12)"), "{}", error.message());
    quiet(&mut frodo_view).await;

    // Unbinding frodo's port takes it out of bilbo's view and frodo out of the segment.
    frodo.unbind("p2").await;
    assert_eq!(seen(&next(&mut bilbo_view).await), [segment(6001, "blue", &[], &[])]);
    assert!(next(&mut frodo_view).await.segments.is_empty());
    supervisor.stop().await;
}

#[tokio::test]
async fn a_moved_port_leaves_its_old_hosts_view() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, CONFIG).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut frodo = Agent::join(&supervisor, "frodo", "10.78.0.12").await;
    let mut sam = Agent::join(&supervisor, "sam", "10.78.0.13").await;
    let veth1 = bilbo.bind("p1", "red", 1).await;
    sam.bind("p9", "red", 9).await;
    let mut sam_view = sam.overlay().await;
    assert_eq!(seen(&next(&mut sam_view).await)[0].2, ["10.78.0.11"]);

    // Detached from bilbo (its static binding kept), the same iface-id bound on frodo: it moved.
    bilbo.unbind("p1").await;
    assert_eq!(seen(&next(&mut sam_view).await)[0].2, Vec::<String>::new());
    assert_eq!(frodo.bind("p1", "red", 1).await, veth1);
    assert_eq!(
        seen(&next(&mut sam_view).await),
        [segment(5000, "red", &["10.78.0.12"], &[(MAC1, "10.78.0.12", veth1)])]
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn show_bridge_domain_and_rest_present_the_members() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    configure(&supervisor, &[CONFIG, "bridge-domain green\n"].concat()).await;
    let mut bilbo = Agent::join(&supervisor, "bilbo", "10.78.0.11").await;
    let mut frodo = Agent::join(&supervisor, "frodo", "10.78.0.12").await;
    bilbo.bind("p1", "red", 1).await;
    frodo.bind("p2", "red", 2).await;

    let summary = supervisor.exec("show bridge-domain").await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert!(
        summary.body.contains("Bridge-domain red (2 ports in all)\nSegment ID: 5000 (Manual/Active)\n"),
        "{}",
        summary.body
    );
    assert!(
        summary.body.contains("State: UP               Mac learning: Enabled\nVeth1, Veth2\n"),
        "{}",
        summary.body
    );
    assert!(
        summary.body.contains("Bridge-domain green (0 ports in all)\nSegment ID: none\n"),
        "{}",
        summary.body
    );

    let vteps = supervisor.exec("show bridge-domain red vteps").await.body;
    assert!(vteps.contains("\n10.78.0.11       3       bilbo                Veth1\n"), "{vteps}");
    assert!(vteps.contains("\n10.78.0.12       4       frodo                Veth2\n"), "{vteps}");
    assert!(vteps.ends_with("Total VTEPs: 2\n"), "{vteps}");
    let macs = supervisor.exec("show bridge-domain red mac").await.body;
    assert!(macs.contains("\n02ab.cd00.0001  3       Veth1     10.78.0.11\n"), "{macs}");
    assert!(macs.ends_with("Total MAC Addresses: 2\n"), "{macs}");
    let missing = supervisor.exec("show bridge-domain nope").await;
    assert_eq!(missing.status, 404, "{}", missing.body);

    let rest = supervisor.get("/api/v1/bridge-domains/red").await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    let red = rest.json();
    assert_eq!(red["segment_id"], 5000);
    assert_eq!(red["members"][1]["vtep"], "10.78.0.12");
    assert_eq!(red["members"][1]["ports"][0]["mac"], MAC2);
    let all = supervisor.get("/api/v1/bridge-domains").await.json();
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["blue", "green", "red"]);
    assert_eq!(supervisor.get("/api/v1/bridge-domains/nope").await.status, 404);
    supervisor.stop().await;
}

#[tokio::test]
async fn overlay_streams_check_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let bilbo = Agent::join(&supervisor, "bilbo", "").await;
    let mut client = supervisor.grpc_as("frodo").await;
    let wrong = proto::OverlayRequest { module: bilbo.module, host_id: String::new() };
    assert_eq!(client.watch_overlay(wrong).await.unwrap_err().code(), Code::FailedPrecondition);
    let forged = proto::OverlayRequest { module: bilbo.module, host_id: "id-bilbo".into() };
    assert_eq!(client.watch_overlay(forged).await.unwrap_err().code(), Code::PermissionDenied);
    let unknown = proto::OverlayRequest { module: 99, host_id: String::new() };
    assert_eq!(client.watch_overlay(unknown).await.unwrap_err().code(), Code::NotFound);
    supervisor.stop().await;
}
