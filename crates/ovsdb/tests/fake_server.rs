//! The client against a fake ovsdb-server, for what the real one never sends (garbage): the
//! connection is dropped, counted and made again, and the linker hears of it. The client
//! against the real Open vSwitch tools is tested where its views mean ports, in the agent
//! (`crates/agent/tests/ovsdb.rs`, `ovsdb_ports.rs`).
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::time::Duration;

use ovsdb::framing::StreamDecoder;
use ovsdb::replica::Replica;
use ovsdb::schema::OPEN_VSWITCH;
use ovsdb::{Endpoint, OvsdbConfig, OvsdbEvent, View, find_bridge, spawn};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const BRIDGE: &str = "sy-test";

/// The least a linker could look at: the configuration and whether its bridge exists.
#[derive(Debug, Clone, PartialEq)]
struct BridgeSeen {
    next_cfg: i64,
    bridge_exists: bool,
}

impl View for BridgeSeen {
    fn of(replica: &Replica, bridge: &str) -> Self {
        let next_cfg = replica.rows(OPEN_VSWITCH).map(|(_, row)| row.integer("next_cfg")).sum();
        BridgeSeen { next_cfg, bridge_exists: find_bridge(replica, bridge).is_some() }
    }
}

/// Reads from a fake server's connection until one complete message arrived.
async fn read_message(stream: &mut UnixStream, decoder: &mut StreamDecoder) -> Value {
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("the client to send something")
            .unwrap();
        assert!(n > 0, "client closed the connection");
        if let Some(message) = decoder.decode(&chunk[..n]).unwrap().into_iter().next() {
            return message;
        }
    }
}

async fn accept(listener: &UnixListener) -> UnixStream {
    tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("the client to connect")
        .unwrap()
        .0
}

#[tokio::test]
async fn garbage_from_the_server_is_counted_and_the_client_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut config = OvsdbConfig::new(Endpoint::Unix(path), BRIDGE);
    config.reconnect_min = Duration::from_millis(10);
    let (handle, mut events) = spawn::<BridgeSeen>(config);

    let mut first = accept(&listener).await;
    let mut decoder = StreamDecoder::default();
    let monitor = read_message(&mut first, &mut decoder).await;
    assert_eq!(monitor["method"], "monitor_cond");
    // The server's keepalive, split across two writes.
    first.write_all(br#"{"id":"echo","method":"ec"#).await.unwrap();
    first.write_all(br#"ho","params":["ping"]}"#).await.unwrap();
    let echo = read_message(&mut first, &mut decoder).await;
    assert_eq!(echo, json!({"id": "echo", "result": ["ping"], "error": null}));
    first.write_all(b"{\"id\": 1, \"result\": nonsense}").await.unwrap();

    let mut second = accept(&listener).await;
    let mut decoder = StreamDecoder::default();
    let monitor = read_message(&mut second, &mut decoder).await;
    let stats = handle.stats();
    assert_eq!((stats.malformed_messages, stats.connections), (1, 2), "{stats:?}");
    let reply = json!({"id": monitor["id"], "error": null, "result": {
        "Open_vSwitch": {"root": {"initial": {"next_cfg": 4, "cur_cfg": 4, "bridges": ["uuid", "b"]}}},
        "Bridge": {"b": {"initial": {"name": BRIDGE}}}}});
    second.write_all(reply.to_string().as_bytes()).await.unwrap();

    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(OvsdbEvent::Changed(_))) {
        let event =
            tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("events").unwrap();
        seen.push(event);
    }
    let OvsdbEvent::Disconnected { reason } = &seen[1] else { panic!("{seen:?}") };
    assert!(reason.contains("malformed message from ovsdb-server: invalid JSON"), "{reason}");
    assert_eq!(seen[0], OvsdbEvent::Connected);
    assert_eq!(seen[2], OvsdbEvent::Connected);
    let OvsdbEvent::Changed(view) = &seen[3] else { panic!("{seen:?}") };
    assert_eq!((view.next_cfg, view.bridge_exists), (4, true));
}
