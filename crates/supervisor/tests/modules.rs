//! Modules: numbers in join order, kept across restarts; heartbeats and going offline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Running, host};
use tonic::Code;

fn module_status(modules: &serde_json::Value, number: u64) -> String {
    modules
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["module"] == number)
        .map(|module| module["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("module {number} not listed: {modules}"))
}

#[tokio::test]
async fn numbers_in_join_order_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let mut agent = supervisor.grpc_as("bilbo").await;
    let bilbo = agent.register(host("bilbo")).await.unwrap().into_inner();
    let frodo = supervisor.grpc_as("frodo").await.register(host("frodo")).await.unwrap().into_inner();
    assert_eq!((bilbo.module, frodo.module), (3, 4));
    assert_eq!(bilbo.heartbeat_interval_ms, 1000);
    // The agent restarts: same host id, same number, nothing logged twice.
    assert_eq!(agent.register(host("bilbo")).await.unwrap().into_inner().module, 3);
    assert_eq!(
        supervisor.event_messages().await,
        [
            common::FIRST_ADMIN_EVENT,
            "%VEM_MGR-2-VEM_MGR_DETECTED: Host bilbo detected as module 3",
            "%VEM_MGR-2-MOD_ONLINE: Module 3 is online",
            "%VEM_MGR-2-VEM_MGR_DETECTED: Host frodo detected as module 4",
            "%VEM_MGR-2-MOD_ONLINE: Module 4 is online",
        ]
    );
    drop(agent);
    supervisor.stop().await;

    // The supervisor restarts on the same store. The modules keep their place for one lease
    // TTL (time for their agents to reconnect), then go offline, logged once each.
    let supervisor = Running::start(dir.path(), |_| {}).await;
    let modules = supervisor.get("/api/v1/modules").await.json();
    assert_eq!(module_status(&modules, 3), "ok", "still online within a lease TTL of the restart");
    let deadline = Instant::now() + Duration::from_secs(15);
    while module_status(&supervisor.get("/api/v1/modules").await.json(), 3) != "offline" {
        assert!(Instant::now() < deadline, "module 3 stayed online with nobody heartbeating");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = supervisor.event_messages().await;
    assert_eq!(
        messages.iter().filter(|m| *m == "%VEM_MGR-2-MOD_OFFLINE: Module 3 is offline").count(),
        1,
        "{messages:?}"
    );
    let mut agent = supervisor.grpc_as("bilbo").await;
    // A heartbeat from a known module brings it back online, with MOD_ONLINE.
    agent.heartbeat(proto::HeartbeatRequest { module: 3, host_id: "id-bilbo".into() }).await.unwrap();
    let modules = supervisor.get("/api/v1/modules").await.json();
    assert_eq!(module_status(&modules, 3), "ok");
    assert_eq!(module_status(&modules, 4), "offline");
    assert_eq!(modules[0]["host_name"], "bilbo");
    assert_eq!(
        supervisor.event_messages().await.last().unwrap(),
        "%VEM_MGR-2-MOD_ONLINE: Module 3 is online"
    );
    // Re-registering keeps numbers; a new host gets the next one.
    assert_eq!(
        supervisor.grpc_as("frodo").await.register(host("frodo")).await.unwrap().into_inner().module,
        4
    );
    assert_eq!(supervisor.grpc_as("sam").await.register(host("sam")).await.unwrap().into_inner().module, 5);
    supervisor.stop().await;
}

#[tokio::test]
async fn silent_module_goes_offline_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| {
        options.heartbeat_timeout = Duration::from_millis(300);
    })
    .await;
    let mut agent = supervisor.grpc_as("bilbo").await;
    let module = agent.register(host("bilbo")).await.unwrap().into_inner().module;
    let heartbeat = proto::HeartbeatRequest { module, host_id: "id-bilbo".into() };
    // Heartbeats keep it online past the timeout.
    for _ in 0..5 {
        agent.heartbeat(heartbeat.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(module_status(&supervisor.get("/api/v1/modules").await.json(), 3), "ok");

    // Silence: offline within a few timeouts.
    let deadline = Instant::now() + Duration::from_secs(5);
    while module_status(&supervisor.get("/api/v1/modules").await.json(), 3) != "offline" {
        assert!(Instant::now() < deadline, "module never went offline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = supervisor.event_messages().await;
    assert_eq!(events.last().unwrap(), "%VEM_MGR-2-MOD_OFFLINE: Module 3 is offline");

    agent.heartbeat(heartbeat).await.unwrap();
    assert_eq!(module_status(&supervisor.get("/api/v1/modules").await.json(), 3), "ok");
    assert_eq!(
        supervisor.event_messages().await.last().unwrap(),
        "%VEM_MGR-2-MOD_ONLINE: Module 3 is online"
    );
    supervisor.stop().await;
}

#[tokio::test]
async fn unknown_modules_and_bad_registrations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |_| {}).await;
    // No certificate: nothing but Enroll.
    let mut anonymous = supervisor.grpc().await;
    let error = anonymous.register(host("bilbo")).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated, "{error:?}");
    let error = anonymous
        .heartbeat(proto::HeartbeatRequest { module: 3, host_id: "id-bilbo".into() })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);

    let mut agent = supervisor.grpc_as("bilbo").await;
    let error =
        agent.heartbeat(proto::HeartbeatRequest { module: 9, host_id: "id-bilbo".into() }).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    let error = agent
        .watch(proto::WatchRequest { module: 9, host_id: String::new(), known: Default::default() })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    let module = agent.register(host("bilbo")).await.unwrap().into_inner().module;
    // Module 3 is bilbo's: frodo, enrolled, cannot heartbeat it.
    let mut frodo = supervisor.grpc_as("frodo").await;
    let error =
        frodo.heartbeat(proto::HeartbeatRequest { module, host_id: "id-frodo".into() }).await.unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "module 3 is bilbo's");

    // bilbo's certificate cannot claim another identity, name or VTEP than it enrolled with.
    for bad in [
        proto::RegisterRequest { host_id: "a/b".into(), ..host("bilbo") },
        proto::RegisterRequest { host_id: "id-frodo".into(), ..host("frodo") },
        proto::RegisterRequest { host_name: "frodo".into(), ..host("bilbo") },
        proto::RegisterRequest { vtep: "10.0.0.1".into(), ..host("bilbo") },
    ] {
        assert_eq!(agent.register(bad).await.unwrap_err().code(), Code::PermissionDenied);
    }
    // A malformed field is refused as such, before it is compared with the enrolment.
    let malformed = proto::RegisterRequest { host_name: "two words".into(), ..host("bilbo") };
    assert_eq!(agent.register(malformed).await.unwrap_err().code(), Code::InvalidArgument);
    // Enrolling with a malformed identity is refused before any certificate is made.
    for (name, vtep) in [("two words", ""), ("x", "not-an-address")] {
        assert_eq!(supervisor.enrol(name, vtep).await.unwrap_err().code(), Code::InvalidArgument);
    }
    // Nothing was registered by the refused requests.
    assert_eq!(supervisor.get("/api/v1/modules").await.json().as_array().unwrap().len(), 1);
    supervisor.stop().await;
}

#[tokio::test]
async fn the_event_log_keeps_only_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = Running::start(dir.path(), |options| options.event_log_capacity = 5).await;
    for name in ["a", "b", "c", "d"] {
        supervisor.grpc_as(name).await.register(host(name)).await.unwrap();
    }
    // Each host logged three events: enrolled, detected, online.
    let events = supervisor.get("/api/v1/events").await.json();
    let seqs: Vec<u64> =
        events.as_array().unwrap().iter().map(|event| event["seq"].as_u64().unwrap()).collect();
    // Event 0 is the first admin's creation; then each host logged three: enrolled, detected, online.
    assert_eq!(seqs, [8, 9, 10, 11, 12]);
    assert_eq!(events[4]["text"], "Module 6 is online");
    supervisor.stop().await;
}
