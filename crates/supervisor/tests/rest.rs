//! The REST API: resources, atomic config, JSON errors, the OpenAPI document, bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use common::{Running, access_profile};
use hyper::http::{Method, StatusCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn assert_json_error(reply: &common::Reply, status: StatusCode) -> serde_json::Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.content_type.starts_with("application/json"), "{reply:?}");
    let json = reply.json();
    assert!(json["error"].as_str().is_some_and(|error| !error.is_empty()), "{json}");
    json
}

#[tokio::test]
async fn config_text_is_applied_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let reply = supervisor.configure(&format!("vlan 100\n{}", access_profile("web", 100))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let json = reply.json();
    assert!(json["revision"].as_i64().unwrap() > 0);
    assert_eq!(
        json["changes"],
        serde_json::json!([
            "vlan 100 created: vlan 100",
            "port-profile web created: port-profile type vethernet web; switchport mode access; \
             switchport access vlan 100; state enabled"
        ])
    );
    let events = supervisor.event_messages().await;
    assert_eq!(events[0], common::FIRST_ADMIN_EVENT);
    assert_eq!(events[1], "%VLAN_MGR-5-CONFIG_CHANGED: vlan 100 created: vlan 100");
    assert!(events[2].starts_with("%PORT_PROFILE-5-CONFIG_CHANGED: port-profile web created"), "{events:?}");

    let running = supervisor.get("/api/v1/config").await;
    assert_eq!(running.status, StatusCode::OK);
    assert!(running.content_type.starts_with("text/plain"));
    let (accounts, running) = running.body.split_once("\n\n").unwrap();
    assert!(accounts.starts_with("username admin password 5 $argon2id$"), "{accounts}");
    assert_eq!(
        running,
        "vlan 100\n\nport-profile type vethernet web\n  switchport mode access\n  switchport access vlan 100\n  state enabled\n"
    );

    // Applying the same text again changes nothing and logs nothing.
    let again = supervisor.configure(&access_profile("web", 100)).await.json();
    assert_eq!(again["changes"], serde_json::json!([]));
    assert_eq!(supervisor.event_messages().await.len(), 3);
    supervisor.stop().await;
}

#[tokio::test]
async fn a_bad_line_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;
    let before_config = supervisor.get("/api/v1/config").await.body;
    let before_events = supervisor.event_messages().await;

    let text = "port-profile type vethernet web\n  switchport access vlan 200\nport-profile type vethernet db\n  switchport access vlan 5000\n";
    let reply = supervisor.configure(text).await;
    let json = assert_json_error(&reply, StatusCode::BAD_REQUEST);
    assert_eq!(json["line"], 4);
    assert_eq!(json["column"], 26);
    assert!(json["expected"].as_array().is_some_and(|expected| !expected.is_empty()), "{json}");

    assert_eq!(supervisor.get("/api/v1/config").await.body, before_config, "nothing applied");
    assert_eq!(supervisor.event_messages().await, before_events, "nothing logged");
    supervisor.stop().await;
}

#[tokio::test]
async fn port_profiles_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let put = |name: &'static str, body: serde_json::Value| {
        let supervisor = &supervisor;
        async move {
            supervisor
                .http(
                    Method::PUT,
                    &format!("/api/v1/port-profiles/{name}"),
                    Some("application/json"),
                    body.to_string(),
                )
                .await
        }
    };
    let reply = put(
        "web",
        serde_json::json!({"type": "vethernet", "mode": "access", "access_vlan": 100, "state_enabled": true}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json()["changes"][0].as_str().unwrap(),
        "port-profile web created: switchport mode access; switchport access vlan 100; state enabled"
    );

    let reply = put(
        "web",
        serde_json::json!({"type": "vethernet", "mode": "access", "access_vlan": 101, "state_enabled": true}),
    )
    .await;
    assert_eq!(
        reply.json()["changes"],
        serde_json::json!([
            "port-profile web modified: no switchport access vlan 100; switchport access vlan 101"
        ])
    );
    let profile = supervisor.get("/api/v1/port-profiles/web").await.json();
    assert_eq!(profile["access_vlan"], 101);
    let all = supervisor.get("/api/v1/port-profiles").await.json();
    assert_eq!(all["web"]["access_vlan"], 101);

    // A PUT that makes the config invalid is refused whole.
    let reply = put("child", serde_json::json!({"inherit": "missing"})).await;
    assert_json_error(&reply, StatusCode::BAD_REQUEST);
    assert_json_error(&supervisor.get("/api/v1/port-profiles/child").await, StatusCode::NOT_FOUND);
    // So is one with a value out of range.
    assert_json_error(&put("web", serde_json::json!({"access_vlan": 5000})).await, StatusCode::BAD_REQUEST);
    assert_eq!(supervisor.get("/api/v1/port-profiles/web").await.json()["access_vlan"], 101);

    let reply = supervisor.http(Method::DELETE, "/api/v1/port-profiles/web", None, Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["changes"], serde_json::json!(["port-profile web removed"]));
    let reply = supervisor.http(Method::DELETE, "/api/v1/port-profiles/web", None, Body::empty()).await;
    assert_json_error(&reply, StatusCode::NOT_FOUND);
    supervisor.stop().await;
}

#[tokio::test]
async fn errors_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let put = |content_type: &'static str, body: &'static str| {
        supervisor.http(Method::PUT, "/api/v1/port-profiles/web", Some(content_type), body)
    };
    assert_json_error(&put("application/json", "{\"type\": ").await, StatusCode::BAD_REQUEST);
    assert_json_error(
        &put("application/json", "{\"access_vlan\": \"lots\"}").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert_json_error(&put("text/plain", "{}").await, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let oversized = "!".repeat((1 << 20) + 1);
    let reply = supervisor.http(Method::POST, "/api/v1/config", Some("text/plain"), oversized).await;
    assert_json_error(&reply, StatusCode::PAYLOAD_TOO_LARGE);
    let oversized_json = format!("{{\"description\": \"{}\"}}", "x".repeat(1 << 20));
    let reply = supervisor
        .http(Method::PUT, "/api/v1/port-profiles/web", Some("application/json"), oversized_json)
        .await;
    assert_json_error(&reply, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = supervisor.http(Method::POST, "/api/v1/config", Some("text/plain"), vec![0xff, 0xfe]).await;
    assert_json_error(&reply, StatusCode::BAD_REQUEST);

    assert_json_error(&supervisor.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND);
    assert_json_error(&supervisor.get("/").await, StatusCode::NOT_FOUND);
    let reply = supervisor.http(Method::DELETE, "/api/v1/modules", None, Body::empty()).await;
    assert_json_error(&reply, StatusCode::METHOD_NOT_ALLOWED);
    // None of it changed anything.
    assert_eq!(supervisor.get("/api/v1/port-profiles").await.json(), serde_json::json!({}));
    assert_eq!(supervisor.event_messages().await, [common::FIRST_ADMIN_EVENT]);
    supervisor.stop().await;
}

#[tokio::test]
async fn openapi_document_lists_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let reply = supervisor.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/port-profiles",
        "/api/v1/port-profiles/{name}",
        "/api/v1/config",
        "/api/v1/exec",
        "/api/v1/modules",
        "/api/v1/events",
    ] {
        assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    let profile_path = &paths["/api/v1/port-profiles/{name}"];
    for method in ["get", "put", "delete"] {
        assert!(profile_path[method].is_object(), "{method} missing");
    }
    assert!(document["components"]["schemas"]["PortProfile"].is_object());
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    supervisor.stop().await;
}

#[tokio::test]
async fn garbage_on_the_wire_does_not_disturb_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;

    // Not HTTP at all.
    let mut garbage = tokio::net::TcpStream::connect(supervisor.addr).await.unwrap();
    garbage.write_all(b"\x16\x03\x01\x00\xa5garbage garbage\r\n\r\n").await.unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), garbage.read_to_end(&mut sink)).await;

    // An HTTP/2 preface followed by nonsense frames.
    let mut broken = tokio::net::TcpStream::connect(supervisor.addr).await.unwrap();
    broken
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x99\x00\x00\x00\x00\x01junk")
        .await
        .unwrap();

    // A gRPC call whose body is not a protobuf message.
    let reply = supervisor
        .http(
            Method::POST,
            "/switchyard.v1.Supervisor/Register",
            Some("application/grpc"),
            vec![0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
        )
        .await;
    assert_ne!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);

    // A client that goes silent half-way through a request body.
    let mut silent = tokio::net::TcpStream::connect(supervisor.addr).await.unwrap();
    silent
        .write_all(b"POST /api/v1/config HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\nport-pro")
        .await
        .unwrap();

    // Everyone else is still served.
    let mut agent = supervisor.grpc_as("bilbo").await;
    assert_eq!(agent.register(common::host("bilbo")).await.unwrap().into_inner().module, 3);
    assert_eq!(supervisor.get("/api/v1/port-profiles/web").await.status, StatusCode::OK);
    drop((garbage, broken, silent));
    supervisor.stop().await;
}

#[tokio::test]
async fn show_commands_through_exec() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;
    let mut agent = supervisor.grpc_as("bilbo").await;
    agent.register(common::host("bilbo")).await.unwrap();

    let reply = supervisor.exec("show module").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.content_type.starts_with("text/plain"));
    assert!(
        reply.body.contains("\n1    0      Virtual Supervisor Module         Switchyard          active *\n")
    );
    assert!(
        reply.body.contains("\n3    0      Virtual Ethernet Module           NA                  ok\n"),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("\n3    127.0.0.1        id-bilbo                              bilbo\n"),
        "{}",
        reply.body
    );

    let reply = supervisor.exec("show port-profile name web").await;
    assert!(reply.body.starts_with("port-profile web\n type: Vethernet\n"), "{}", reply.body);
    assert!(
        reply.body.contains(
            " evaluated config attributes:\n  switchport mode access\n  switchport access vlan 100\n"
        )
    );
    let reply = supervisor.exec("show port-profile brief").await;
    assert!(
        reply.body.contains("\nweb                         Vethernet  1        2      3      0         0\n"),
        "{}",
        reply.body
    );
    assert_eq!(supervisor.exec("sh run").await.body, supervisor.get("/api/v1/config").await.body);
    assert_eq!(
        supervisor.exec("show running-config port-profile web").await.body,
        "port-profile type vethernet web\n  switchport mode access\n  switchport access vlan 100\n  state enabled\n"
    );

    let log = supervisor.exec("show logging logfile").await.body;
    let detected = log.lines().find(|line| line.contains("VEM_MGR_DETECTED")).unwrap();
    let (stamp, message) = detected.split_at(21);
    assert_eq!(message, "switch %VEM_MGR-2-VEM_MGR_DETECTED: Host bilbo detected as module 3");
    let shape: Vec<usize> = stamp.split([' ', ':']).map(str::len).collect();
    assert_eq!(shape, [4, 3, 2, 2, 2, 2, 0], "timestamp {stamp:?}");

    let json = assert_json_error(&supervisor.exec("show modul x").await, StatusCode::BAD_REQUEST);
    assert_eq!(json["column"], 12);
    assert_json_error(&supervisor.exec("show port-profile name nope").await, StatusCode::NOT_FOUND);
    assert_json_error(&supervisor.exec("configure terminal").await, StatusCode::BAD_REQUEST);
    supervisor.stop().await;
}

async fn add_profiles(supervisor: &Running, prefix: &str) {
    for index in 0..15 {
        let reply = supervisor.configure(&access_profile(&format!("{prefix}{index}"), 100 + index)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
}

#[tokio::test]
async fn two_supervisors_on_one_store_never_interleave_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(dir.path()).await;
    let first = Running::start_on(store.clone(), dir.path(), |_| {}).await;
    let second = Running::start_on(store, dir.path(), |_| {}).await;
    tokio::join!(add_profiles(&first, "p"), add_profiles(&second, "q"));

    let profiles = first.get("/api/v1/port-profiles").await.json();
    assert_eq!(profiles.as_object().unwrap().len(), 30, "no write lost");
    let events = second.get("/api/v1/events").await.json();
    let seqs: Vec<u64> =
        events.as_array().unwrap().iter().map(|event| event["seq"].as_u64().unwrap()).collect();
    // The first is the first admin's creation.
    assert_eq!(seqs, (0..31).collect::<Vec<u64>>(), "one event per change, numbered without gaps or reuse");
    first.stop().await;
    second.stop().await;
}
