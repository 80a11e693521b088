//! The accounting log against a real supervisor and store: what it records of REST and shell
//! changes (who, what, from where, failures too, secrets redacted), its views (`GET
//! /api/v1/audit`, `show accounting log`), its retention by count and by age apart from the event
//! log; and the refusal to delete a port-profile with assigned vEthernets.
//!
//! Until operators authenticate, every request's user is `unknown`; the source is the client's
//! address as the listener saw it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Running, access_profile, eventually, host, open_store, port};
use hyper::http::{Method, StatusCode};
use store::Store as _;
use supervisor::layout::AUDIT_PREFIX;

#[tokio::test]
async fn every_change_is_recorded_with_who_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;

    let text = access_profile("web", 100);
    assert_eq!(supervisor.configure(&text).await.status, StatusCode::OK);
    assert_eq!(supervisor.configure("vlan 5000\n").await.status, StatusCode::BAD_REQUEST);
    let body = r#"{"type":"vethernet","mode":"access","access_vlan":101,"state_enabled":true}"#;
    let put = supervisor.http(Method::PUT, "/api/v1/port-profiles/api", Some("application/json"), body).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let delete = supervisor.http(Method::DELETE, "/api/v1/port-profiles/api", None, "").await;
    assert_eq!(delete.status, StatusCode::OK, "{}", delete.body);
    let missing = supervisor.http(Method::DELETE, "/api/v1/port-profiles/nope", None, "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // A secret on a rejected line (no accounts in the language yet) is still never stored.
    supervisor.configure("username alice password hunter2 role network-admin\n").await;

    let entries = supervisor.audit("").await;
    let commands: Vec<&str> = entries.iter().map(|entry| entry["command"].as_str().unwrap()).collect();
    let put_command =
        format!("PUT /api/v1/port-profiles/api {}", serde_json::to_string(&put_body(body)).unwrap());
    assert_eq!(
        commands,
        [
            text.as_str(),
            "vlan 5000\n",
            put_command.as_str(),
            "DELETE /api/v1/port-profiles/api",
            "DELETE /api/v1/port-profiles/nope",
            "username alice password ***** role network-admin\n",
        ]
    );
    let successes: Vec<bool> =
        entries.iter().take(5).map(|entry| entry["success"].as_bool().unwrap()).collect();
    assert_eq!(successes, [true, false, true, true, false]);
    for (seq, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], seq, "{entry}");
        assert_eq!(entry["kind"], "config");
        assert_eq!(entry["user"], "admin");
        assert_eq!(entry["source"], "127.0.0.1");
    }
    assert_eq!(
        entries[0]["detail"],
        "port-profile web created: port-profile type vethernet web; switchport mode access; switchport access vlan 100; state enabled"
    );
    assert!(entries[1]["detail"].as_str().unwrap().contains("5000"), "{}", entries[1]);
    assert_eq!(entries[4]["detail"], "port-profile nope does not exist");

    // The views: NX-OS lines in the shell, `last N`, and REST's `since`/`limit`.
    let log = supervisor.exec("show accounting log").await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let lines: Vec<&str> = log.body.lines().collect();
    assert_eq!(lines.len(), 6, "{}", log.body);
    assert!(
        lines[0].ends_with(
            ":type=update:id=127.0.0.1:user=admin:cmd=port-profile type vethernet web ; \
             switchport mode access ; switchport access vlan 100 ; state enabled (SUCCESS)"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[4]
            .ends_with("cmd=DELETE /api/v1/port-profiles/nope (FAILURE: port-profile nope does not exist)"),
        "{}",
        lines[4]
    );
    assert!(!log.body.contains("hunter2") && !supervisor.get("/api/v1/audit").await.body.contains("hunter2"));
    assert!(!supervisor.get("/api/v1/events").await.body.contains("hunter2"));
    let last = supervisor.exec("show accounting log last 2").await.body;
    assert_eq!(last.lines().collect::<Vec<_>>(), lines[4..]);
    let seqs = |entries: Vec<serde_json::Value>| {
        entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(seqs(supervisor.audit("limit=2").await), [4, 5]);
    assert_eq!(seqs(supervisor.audit("since=1&limit=2").await), [2, 3]);
    assert_eq!(seqs(supervisor.audit("since=5").await), Vec::<u64>::new());
    assert_eq!(supervisor.get("/api/v1/audit?limit=x").await.status, StatusCode::BAD_REQUEST);
    supervisor.stop().await;
}

/// The JSON the supervisor echoes for a profile body (its canonical field order).
fn put_body(body: &str) -> config::PortProfile {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn retention_by_count_trims_only_the_accounting_log_and_events_never_evict_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let supervisor = Running::start_on(store.clone(), dir.path(), |options| {
        options.audit_max_entries = 5;
        options.event_log_capacity = 2;
    })
    .await;
    for vlan in 1..=8 {
        let reply = supervisor.configure(&format!("vlan {vlan}\n")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    // 8 changes, 8 events: the event log keeps 2, the accounting log its own 5, the newest.
    assert_eq!(supervisor.event_messages().await.len(), 2);
    let entries = supervisor.audit("").await;
    let commands: Vec<&str> = entries.iter().map(|entry| entry["command"].as_str().unwrap()).collect();
    assert_eq!(commands, ["vlan 4\n", "vlan 5\n", "vlan 6\n", "vlan 7\n", "vlan 8\n"]);
    assert_eq!(
        store.range(AUDIT_PREFIX).await.unwrap().kvs.len(),
        5,
        "trimmed in the store, not only hidden"
    );
    supervisor.stop().await;
    drop(store);

    // A restart with more room keeps what is there and numbers on.
    let supervisor = Running::start(dir.path(), |options| options.event_log_capacity = 2).await;
    for vlan in 10..40 {
        supervisor.configure(&format!("vlan {vlan}\n")).await;
    }
    let entries = supervisor.audit("").await;
    assert_eq!(entries.len(), 35, "30 changes of noise evicted none of the 5");
    assert_eq!(entries[0]["seq"], 3);
    assert_eq!(entries[34]["seq"], 37);
    assert_eq!(supervisor.event_messages().await.len(), 2);
    supervisor.stop().await;

    // A lower limit applies on start, without waiting for the next entry.
    let store = open_store(dir.path()).await;
    let supervisor =
        Running::start_on(store.clone(), dir.path(), |options| options.audit_max_entries = 3).await;
    eventually("the log trimmed to the new limit", Duration::from_secs(10), || async {
        (store.range(AUDIT_PREFIX).await.unwrap().kvs.len() == 3).then_some(())
    })
    .await;
    let seqs: Vec<u64> = supervisor.audit("").await.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [35, 36, 37]);
    supervisor.stop().await;
}

#[tokio::test]
async fn retention_by_age_trims_only_the_accounting_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let supervisor = Running::start_on(store.clone(), dir.path(), |options| {
        options.audit_max_age = Duration::from_millis(800)
    })
    .await;
    supervisor.configure("vlan 1\n").await;
    supervisor.configure("vlan 2\n").await;
    assert_eq!(supervisor.audit("").await.len(), 2);
    // The sweep deletes them from the store (not only from the views) once they are 800 ms old.
    eventually("aged entries to leave the store", Duration::from_secs(10), || async {
        store.range(AUDIT_PREFIX).await.unwrap().kvs.is_empty().then_some(())
    })
    .await;
    assert!(supervisor.audit("").await.is_empty());
    // The first admin's creation and the two VLANs.
    assert_eq!(supervisor.event_messages().await.len(), 3, "the event log keeps its own history");
    // Numbers are never reused.
    supervisor.configure("vlan 3\n").await;
    let entries = supervisor.audit("").await;
    assert_eq!((entries.len(), entries[0]["seq"].as_u64()), (1, Some(2)));
    supervisor.stop().await;
}

#[tokio::test]
async fn attaches_are_recorded_by_module_and_address() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&access_profile("web", 100)).await;
    let mut agent = supervisor.grpc_as("bilbo").await;
    let module = agent.register(host("bilbo")).await.unwrap().into_inner().module;
    agent.bind_port(port("bilbo", module, "a", "web", 1)).await.unwrap();
    // A resync re-asserting the same binding is not an attach.
    agent.bind_port(port("bilbo", module, "a", "web", 1)).await.unwrap();
    // Another host's claim on the module is refused, and recorded.
    let mut mallory = supervisor.grpc_as("mallory").await;
    mallory.register(host("mallory")).await.unwrap();
    let refused = port("bilbo", module, "b", "web", 2);
    mallory.bind_port(proto::BindPortRequest { host_id: String::new(), ..refused }).await.unwrap_err();

    let ports = eventually("two port entries", Duration::from_secs(10), || async {
        let ports: Vec<_> = supervisor.audit("").await.into_iter().filter(|e| e["kind"] == "port").collect();
        (ports.len() >= 2).then_some(ports)
    })
    .await;
    assert_eq!(ports.len(), 2, "{ports:?}");
    assert!(
        ports[0]["command"]
            .as_str()
            .unwrap()
            .starts_with(&format!("bind-port module {module} iface-id a profile web"))
    );
    assert_eq!(
        (ports[0]["success"].as_bool(), ports[0]["detail"].as_str()),
        (Some(true), Some("Vethernet1"))
    );
    assert_eq!(ports[0]["source"], "127.0.0.1");
    assert_eq!(ports[1]["success"], false);
    supervisor.stop().await;
}

#[tokio::test]
async fn a_profile_in_use_is_deleted_only_when_forced() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    supervisor.configure(&format!("{}{}", access_profile("web", 100), access_profile("idle", 101))).await;
    let mut agent = supervisor.grpc_as("bilbo").await;
    let module = agent.register(host("bilbo")).await.unwrap().into_inner().module;
    for (iface, index) in [("a", 1), ("b", 2)] {
        agent.bind_port(port("bilbo", module, iface, "web", index)).await.unwrap();
    }

    // REST: 409, naming the vEthernets; nothing deleted.
    let refused = supervisor.http(Method::DELETE, "/api/v1/port-profiles/web", None, "").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let error = refused.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("Vethernet1, Vethernet2") && error.contains("no port-profile web force"),
        "{error}"
    );
    // Config text (what the shell sends): the same, pointing at the name on its line.
    let text = "vlan 7\nno port-profile web\n";
    let refused = supervisor.configure(text).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!((refused.json()["line"].as_u64(), refused.json()["column"].as_u64()), (Some(2), Some(17)));
    assert_eq!(supervisor.get("/api/v1/port-profiles/web").await.status, StatusCode::OK);
    assert!(!supervisor.get("/api/v1/config").await.body.contains("vlan 7"), "atomic: nothing applied");
    // A profile without ports goes as before.
    assert_eq!(supervisor.configure("no port-profile idle\n").await.status, StatusCode::OK);
    // An uplink profile a module registered an uplink on is assigned too.
    supervisor.configure("port-profile type ethernet up\n  switchport mode trunk\n  state enabled\n").await;
    let uplink = proto::Uplink { index: 1, name: "eth1".into(), profile: "up".into() };
    let mut frodo = supervisor.grpc_as("frodo").await;
    let frodo =
        frodo.register(proto::RegisterRequest { uplinks: vec![uplink], ..host("frodo") }).await.unwrap();
    let refused = supervisor.configure("no port-profile type ethernet up\n").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    let error = refused.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains(&format!("Ethernet{}/1", frodo.into_inner().module)), "{error}");

    // Forced: deleted, and the ports are left without a profile.
    let forced = supervisor.configure("no port-profile web force\n").await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.body);
    assert_eq!(supervisor.get("/api/v1/port-profiles/web").await.status, StatusCode::NOT_FOUND);
    supervisor.configure(&access_profile("web", 100)).await;
    let forced = supervisor.http(Method::DELETE, "/api/v1/port-profiles/web?force=true", None, "").await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.body);

    let outcomes: Vec<(String, bool)> = supervisor
        .audit("")
        .await
        .iter()
        .filter(|e| e["kind"] == "config")
        .map(|e| (e["command"].as_str().unwrap().to_owned(), e["success"].as_bool().unwrap()))
        .skip(1)
        .collect();
    assert_eq!(
        outcomes,
        [
            ("DELETE /api/v1/port-profiles/web".to_owned(), false),
            (text.to_owned(), false),
            ("no port-profile idle\n".to_owned(), true),
            ("port-profile type ethernet up\n  switchport mode trunk\n  state enabled\n".to_owned(), true),
            ("no port-profile type ethernet up\n".to_owned(), false),
            ("no port-profile web force\n".to_owned(), true),
            (access_profile("web", 100), true),
            ("DELETE /api/v1/port-profiles/web?force=true".to_owned(), true),
        ]
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_accounting_log_and_forced_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let document = supervisor.get("/openapi.json").await.json();
    let audit = &document["paths"]["/api/v1/audit"]["get"];
    let params: Vec<&str> =
        audit["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["since", "limit"]);
    let schema = &document["components"]["schemas"]["AuditRecord"]["properties"];
    for field in ["seq", "time_ms", "kind", "user", "source", "command", "success", "detail"] {
        assert!(schema[field].is_object(), "AuditRecord.{field} missing: {schema}");
    }
    let delete = &document["paths"]["/api/v1/port-profiles/{name}"]["delete"];
    assert!(delete["responses"]["409"].is_object(), "{delete}");
    assert!(delete["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "force"), "{delete}");
    supervisor.stop().await;
}
