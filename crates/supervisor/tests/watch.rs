//! Policy watch streams: each module's stream carries the port-profiles its attached ports use;
//! sync against `known`, deltas to every concerned stream, interest changes on live streams,
//! slow streams ended.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Running, access_profile, host, port};
use proto::supervisor_client::SupervisorClient;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

/// A host as the tests drive it: registered as a module, binding ports over gRPC.
struct Host {
    name: String,
    module: u32,
    client: SupervisorClient<Channel>,
    next_index: u32,
}

impl Host {
    async fn join(supervisor: &Running, name: &str) -> Self {
        let mut client = supervisor.grpc_as(name).await;
        let module = client.register(host(name)).await.unwrap().into_inner().module;
        Self { name: name.to_owned(), module, client, next_index: 1 }
    }

    async fn bind(&mut self, iface: &str, profile: &str) -> proto::BindPortReply {
        let request = port(&self.name, self.module, iface, profile, self.next_index);
        self.next_index += 1;
        self.client.bind_port(request).await.unwrap().into_inner()
    }

    async fn unbind(&mut self, iface: &str) -> bool {
        let request = proto::UnbindPortRequest {
            module: self.module,
            host_id: format!("id-{}", self.name),
            iface_id: iface.to_owned(),
        };
        self.client.unbind_port(request).await.unwrap().into_inner().kept
    }

    async fn watch(&mut self, known: HashMap<String, i64>) -> Streaming<proto::PolicyUpdate> {
        let host_id = format!("id-{}", self.name);
        open_watch(&mut self.client, self.module, &host_id, known).await
    }

    /// Applies config text and waits until the supervisor's policies reflect it (so a bind
    /// sees it); returns its revision.
    async fn configure(&mut self, supervisor: &Running, text: &str) -> i64 {
        let reply = supervisor.configure(text).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let revision = reply.json()["revision"].as_i64().unwrap();
        let heartbeat = proto::HeartbeatRequest { module: self.module, host_id: format!("id-{}", self.name) };
        for _ in 0..500 {
            if self.client.heartbeat(heartbeat.clone()).await.unwrap().into_inner().revision >= revision {
                return revision;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the policies never reached revision {revision}");
    }
}

async fn open_watch(
    client: &mut SupervisorClient<Channel>,
    module: u32,
    host_id: &str,
    known: HashMap<String, i64>,
) -> Streaming<proto::PolicyUpdate> {
    client
        .watch(proto::WatchRequest { module, host_id: host_id.to_owned(), known })
        .await
        .unwrap()
        .into_inner()
}

async fn next(stream: &mut Streaming<proto::PolicyUpdate>) -> proto::PolicyUpdate {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no update within 10 s")
        .unwrap()
        .expect("stream ended")
}

fn upserts(update: &proto::PolicyUpdate) -> Vec<(String, i64)> {
    update.upserts.iter().map(|policy| (policy.name.clone(), policy.revision)).collect()
}

fn access_vlan(policy: &proto::Policy) -> u64 {
    let json: serde_json::Value = serde_json::from_str(&policy.json).unwrap();
    json["access_vlan"].as_u64().unwrap()
}

/// An update that only moves the revision: nothing in it concerns the module.
fn revision_only(update: &proto::PolicyUpdate, revision: i64) {
    assert!(!update.sync, "{update:?}");
    assert_eq!(update.revision, revision, "{update:?}");
    assert!(update.upserts.is_empty() && update.removes.is_empty(), "{update:?}");
}

#[tokio::test]
async fn sync_sends_only_what_the_agent_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let text = [access_profile("a", 10), access_profile("b", 20), access_profile("c", 30)].concat();
    let mut bilbo = Host::join(&supervisor, "bilbo").await;
    let r1 = bilbo.configure(&supervisor, &text).await;
    for (iface, profile) in [("pa", "a"), ("pb", "b"), ("pc", "c")] {
        bilbo.bind(iface, profile).await;
    }
    let module = bilbo.module;
    let client = &mut bilbo.client;

    let mut fresh = open_watch(client, module, "id-bilbo", HashMap::new()).await;
    let sync = next(&mut fresh).await;
    assert!(sync.sync);
    assert_eq!(sync.revision, r1);
    assert_eq!(upserts(&sync), [("a".into(), r1), ("b".into(), r1), ("c".into(), r1)]);
    assert!(sync.removes.is_empty());

    let r2 = supervisor.configure(&access_profile("b", 21)).await.json()["revision"].as_i64().unwrap();
    let delta = next(&mut fresh).await;
    assert!(!delta.sync);
    assert_eq!(delta.revision, r2);
    assert_eq!(upserts(&delta), [("b".into(), r2)], "only the profile that changed");
    assert_eq!(access_vlan(&delta.upserts[0]), 21);

    // An agent that knows a@r1 (current), b@r1 (stale) and a profile that is gone.
    let known = HashMap::from([("a".to_owned(), r1), ("b".to_owned(), r1), ("gone".to_owned(), 1)]);
    let mut returning = open_watch(client, module, "id-bilbo", known.clone()).await;
    let sync = next(&mut returning).await;
    assert!(sync.sync);
    assert_eq!(sync.revision, r2);
    assert_eq!(upserts(&sync), [("b".into(), r2), ("c".into(), r1)]);
    assert_eq!(sync.removes, ["gone"]);
    drop((fresh, returning, bilbo));
    supervisor.stop().await;

    // Revisions (and the bindings that make the interest) are derived from the store, so they
    // survive a supervisor restart: an agent that is in sync gets an empty sync.
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut client = supervisor.grpc_as("bilbo").await;
    let in_sync = HashMap::from([("a".to_owned(), r1), ("b".to_owned(), r2), ("c".to_owned(), r1)]);
    let mut stream = open_watch(&mut client, module, "id-bilbo", in_sync).await;
    let sync = next(&mut stream).await;
    assert!(sync.sync && sync.upserts.is_empty() && sync.removes.is_empty(), "{sync:?}");
    // Shutting down ends open streams with UNAVAILABLE (the agent reconnects) and does not wait
    // for agents to hang up.
    tokio::time::timeout(Duration::from_secs(5), supervisor.stop())
        .await
        .expect("shutdown waited on a stream");
    let status = stream.message().await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[tokio::test]
async fn a_change_reaches_every_stream() {
    const STREAMS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    // One module's streams stand for many agents' here: lift the per-module cap.
    let supervisor = Running::start(dir.path(), |options| options.streams_per_module = STREAMS).await;
    let mut bilbo = Host::join(&supervisor, "bilbo").await;
    bilbo.configure(&supervisor, &access_profile("web", 100)).await;
    bilbo.bind("p1", "web").await;
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(supervisor.grpc_as("bilbo").await);
    }
    let module = bilbo.module;
    let mut streams = Vec::new();
    for index in 0..STREAMS {
        let mut stream = open_watch(&mut channels[index % 4], module, "id-bilbo", HashMap::new()).await;
        assert_eq!(upserts(&next(&mut stream).await).len(), 1);
        streams.push(stream);
    }
    let revision =
        supervisor.configure(&access_profile("web", 101)).await.json()["revision"].as_i64().unwrap();
    for stream in &mut streams {
        let delta = next(stream).await;
        assert_eq!(upserts(&delta), [("web".into(), revision)]);
        assert_eq!(access_vlan(&delta.upserts[0]), 101);
    }
    drop(streams);
    supervisor.stop().await;
}

#[tokio::test]
async fn a_stream_that_stops_reading_is_ended_without_holding_up_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| options.watch_buffer = 4).await;
    // One parent inherited by 200 children, each used by a port of the module: each change to
    // the parent changes 201 policies, so a few deltas fill the HTTP/2 buffers of a client that
    // does not read.
    let mut text = access_profile("parent", 100);
    for child in 0..200 {
        text.push_str(&format!(
            "port-profile type vethernet child{child}\n  inherit port-profile parent\n  state enabled\n"
        ));
    }
    let mut bilbo = Host::join(&supervisor, "bilbo").await;
    bilbo.configure(&supervisor, &text).await;
    bilbo.bind("parent-port", "parent").await;
    for child in 0..200 {
        bilbo.bind(&format!("child-port{child}"), &format!("child{child}")).await;
    }
    let mut client = supervisor.grpc_as("bilbo").await;
    // A small receive window, as a slow agent on a thin link would have.
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", supervisor.addr))
        .unwrap()
        .initial_stream_window_size(65_535);
    let mut silent_client = supervisor.grpc_on("bilbo", endpoint).await;
    let module = bilbo.module;
    let mut reader = open_watch(&mut client, module, "id-bilbo", HashMap::new()).await;
    let mut silent = open_watch(&mut silent_client, module, "id-bilbo", HashMap::new()).await;
    assert_eq!(next(&mut reader).await.upserts.len(), 201);
    assert_eq!(next(&mut silent).await.upserts.len(), 201);

    const CHANGES: u16 = 40;
    for vlan in 0..CHANGES {
        let reply = supervisor.configure(&access_profile("parent", 200 + vlan)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        // The reading stream keeps up, whatever the silent one does.
        let delta = next(&mut reader).await;
        assert_eq!(delta.upserts.len(), 201);
    }
    // The silent agent reads again: what was buffered, then the error telling it to resync.
    let mut received = 0;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), silent.message()).await.expect("stalled") {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("stream ended without an error after {received} updates"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(received < usize::from(CHANGES), "the lagging stream was ended early ({received} updates)");
    // The supervisor still serves new streams.
    let mut again = open_watch(&mut silent_client, module, "id-bilbo", HashMap::new()).await;
    assert!(next(&mut again).await.sync);
    drop((reader, silent, again));
    supervisor.stop().await;
}

#[tokio::test]
async fn a_module_receives_only_its_ports_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let (mut bilbo, mut frodo) =
        (Host::join(&supervisor, "bilbo").await, Host::join(&supervisor, "frodo").await);
    let text = [access_profile("a", 10), access_profile("b", 20), access_profile("c", 30)].concat();
    let r1 = bilbo.configure(&supervisor, &text).await;
    bilbo.bind("p1", "a").await;
    frodo.bind("p2", "b").await;
    frodo.bind("p3", "b").await;
    let (mut on_bilbo, mut on_frodo) = (bilbo.watch(HashMap::new()).await, frodo.watch(HashMap::new()).await);
    assert_eq!(upserts(&next(&mut on_bilbo).await), [("a".into(), r1)]);
    assert_eq!(upserts(&next(&mut on_frodo).await), [("b".into(), r1)]);

    // One change to every profile: each module hears of its own.
    let text = [access_profile("a", 11), access_profile("b", 21), access_profile("c", 31)].concat();
    let r2 = bilbo.configure(&supervisor, &text).await;
    assert_eq!(upserts(&next(&mut on_bilbo).await), [("a".into(), r2)]);
    assert_eq!(upserts(&next(&mut on_frodo).await), [("b".into(), r2)]);
    // A profile nobody uses: both streams only move to the revision.
    let r3 = bilbo.configure(&supervisor, &access_profile("c", 32)).await;
    revision_only(&next(&mut on_bilbo).await, r3);
    revision_only(&next(&mut on_frodo).await, r3);
    // Deleting a profile in use tells its module only.
    let r4 = bilbo.configure(&supervisor, "no port-profile type vethernet b force\n").await;
    revision_only(&next(&mut on_bilbo).await, r4);
    assert_eq!(next(&mut on_frodo).await.removes, ["b"]);
    drop((on_bilbo, on_frodo));
    supervisor.stop().await;
}

#[tokio::test]
async fn a_profile_created_after_a_port_bound_to_it_reaches_that_module_only() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let (mut bilbo, mut frodo) =
        (Host::join(&supervisor, "bilbo").await, Host::join(&supervisor, "frodo").await);
    bilbo.configure(&supervisor, &access_profile("web", 100)).await;
    frodo.bind("f1", "web").await;
    let (mut on_bilbo, mut on_frodo) = (bilbo.watch(HashMap::new()).await, frodo.watch(HashMap::new()).await);
    assert!(next(&mut on_bilbo).await.upserts.is_empty());
    assert_eq!(next(&mut on_frodo).await.upserts.len(), 1);

    let waiting = bilbo.bind("w1", "later").await;
    assert_eq!((waiting.policy_json.as_str(), waiting.policy_revision), ("", 0), "no such profile yet");
    let created = bilbo.configure(&supervisor, &access_profile("later", 300)).await;
    let update = next(&mut on_bilbo).await;
    assert_eq!((update.revision, upserts(&update)), (created, vec![("later".into(), created)]));
    assert_eq!(access_vlan(&update.upserts[0]), 300);
    revision_only(&next(&mut on_frodo).await, created);
    drop((on_bilbo, on_frodo));
    supervisor.stop().await;
}

#[tokio::test]
async fn a_live_stream_gains_a_profile_with_its_first_port_and_loses_it_with_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let (mut bilbo, mut frodo) =
        (Host::join(&supervisor, "bilbo").await, Host::join(&supervisor, "frodo").await);
    let text = [access_profile("a", 10), access_profile("b", 20)].concat();
    let r1 = bilbo.configure(&supervisor, &text).await;
    let mut stream = bilbo.watch(HashMap::new()).await;
    let sync = next(&mut stream).await;
    assert!(sync.sync && sync.upserts.is_empty(), "no port, no policy: {sync:?}");

    // The first port on a: the stream sends a at once, without reconnecting.
    let first = bilbo.bind("p1", "a").await;
    let entered = next(&mut stream).await;
    assert!(!entered.sync);
    assert_eq!((entered.revision, upserts(&entered)), (r1, vec![("a".into(), r1)]));
    assert_eq!(first.policy_revision, r1 + 1, "the reply's policy counts until the stream's next revision");
    // More ports on a, or one of them going, change nothing for the stream.
    bilbo.bind("p2", "a").await;
    assert!(bilbo.unbind("p1").await, "static: the number is kept");
    let r2 = bilbo.configure(&supervisor, &access_profile("b", 21)).await;
    revision_only(&next(&mut stream).await, r2);

    // The last port on a detaches (its static binding stays): remove.
    assert!(bilbo.unbind("p2").await);
    let left = next(&mut stream).await;
    assert_eq!((left.revision, left.upserts.len(), left.removes.clone()), (r2, 0, vec!["a".to_owned()]));

    // A port that moves to another host (detached here, attached there) takes its profile's
    // interest along.
    bilbo.bind("mover", "b").await;
    assert_eq!(upserts(&next(&mut stream).await), [("b".into(), r2)]);
    bilbo.unbind("mover").await;
    assert_eq!(next(&mut stream).await.removes, ["b"]);
    frodo.bind("mover", "b").await;
    let r3 = bilbo.configure(&supervisor, &[access_profile("a", 11), access_profile("b", 22)].concat()).await;
    revision_only(&next(&mut stream).await, r3);
    drop(stream);
    supervisor.stop().await;
}

#[tokio::test]
async fn the_sync_on_reconnect_honours_the_interest() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut bilbo = Host::join(&supervisor, "bilbo").await;
    let text = [access_profile("a", 10), access_profile("b", 20), access_profile("c", 30)].concat();
    let r1 = bilbo.configure(&supervisor, &text).await;
    bilbo.bind("pa", "a").await;
    bilbo.bind("pb", "b").await;
    let mut stream = bilbo.watch(HashMap::new()).await;
    assert_eq!(upserts(&next(&mut stream).await), [("a".into(), r1), ("b".into(), r1)]);
    drop(stream);

    // While the agent is away: b's port detaches, a port on c attaches, a changes.
    bilbo.unbind("pb").await;
    bilbo.bind("pc", "c").await;
    let r2 = bilbo.configure(&supervisor, &access_profile("a", 11)).await;
    let known = HashMap::from([("a".to_owned(), r1), ("b".to_owned(), r1), ("gone".to_owned(), 1)]);
    let mut stream = bilbo.watch(known).await;
    let sync = next(&mut stream).await;
    assert!(sync.sync);
    assert_eq!((sync.revision, upserts(&sync)), (r2, vec![("a".into(), r2), ("c".into(), r1)]));
    assert_eq!(sync.removes, ["b", "gone"], "what the agent holds outside its interest goes");
    drop(stream);
    supervisor.stop().await;
}
