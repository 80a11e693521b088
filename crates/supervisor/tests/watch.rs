//! Policy watch streams: sync against `known`, deltas to every stream, slow streams ended.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Running, access_profile, host};
use proto::supervisor_client::SupervisorClient;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

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

#[tokio::test]
async fn sync_sends_only_what_the_agent_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let text = [access_profile("a", 10), access_profile("b", 20), access_profile("c", 30)].concat();
    let first = supervisor.configure(&text).await.json();
    let r1 = first["revision"].as_i64().unwrap();
    let mut client = supervisor.grpc().await;
    let module = client.register(host("bilbo")).await.unwrap().into_inner().module;

    let mut fresh = open_watch(&mut client, module, "id-bilbo", HashMap::new()).await;
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
    let mut returning = open_watch(&mut client, module, "id-bilbo", known.clone()).await;
    let sync = next(&mut returning).await;
    assert!(sync.sync);
    assert_eq!(sync.revision, r2);
    assert_eq!(upserts(&sync), [("b".into(), r2), ("c".into(), r1)]);
    assert_eq!(sync.removes, ["gone"]);
    drop((fresh, returning));
    supervisor.stop().await;

    // Revisions are derived from the store, so they survive a supervisor restart: an agent that
    // is in sync gets an empty sync.
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut client = supervisor.grpc().await;
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
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(supervisor.grpc().await);
    }
    let module = channels[0].register(host("bilbo")).await.unwrap().into_inner().module;
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
    // One parent inherited by 200 children: each change to the parent changes 201 policies, so
    // a few deltas fill the HTTP/2 buffers of a client that does not read.
    let mut text = access_profile("parent", 100);
    for child in 0..200 {
        text.push_str(&format!(
            "port-profile type vethernet child{child}\n  inherit port-profile parent\n  state enabled\n"
        ));
    }
    assert_eq!(supervisor.configure(&text).await.status, 200);
    let mut client = supervisor.grpc().await;
    // A small receive window, as a slow agent on a thin link would have.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", supervisor.addr))
        .unwrap()
        .initial_stream_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let mut silent_client = SupervisorClient::new(channel);
    let module = client.register(host("bilbo")).await.unwrap().into_inner().module;
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
