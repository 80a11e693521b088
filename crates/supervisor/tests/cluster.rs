//! Two supervisors sharing one store (in one process, on one redb store): every answer the same
//! on both, liveness seen by both, events logged once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Running, access_profile, eventually, host, open_store, port, up};

async fn interface(supervisor: &Running, veth: u64) -> serde_json::Value {
    supervisor.get(&format!("/api/v1/interfaces/{veth}")).await.json()
}

#[tokio::test]
async fn two_supervisors_answer_alike_and_log_once() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = open_store(dir_a.path()).await;
    let quick =
        |options: &mut supervisor::SupervisorOptions| options.heartbeat_timeout = Duration::from_secs(1);
    let a = Running::start_on(store.clone(), dir_a.path(), quick).await;
    let b = Running::start_on(store.clone(), dir_b.path(), quick).await;
    // One CA for both: the second took the first's from the store.
    assert_eq!(a.ca_pem(), b.ca_pem());
    // Numbered in the order they joined the store (the harness returns before a join is done).
    eventually("both supervisors listed", Duration::from_secs(5), || async {
        let supervisors = b.get("/api/v1/supervisors").await.json();
        let numbers: Vec<(u64, bool, bool)> = supervisors
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (s["number"].as_u64().unwrap(), s["active"].as_bool().unwrap(), s["this"].as_bool().unwrap())
            })
            .collect();
        (numbers.len() == 2 && numbers.iter().filter(|(_, active, this)| *active && *this).count() == 1)
            .then_some(())
    })
    .await;

    assert_eq!(a.configure(&access_profile("web", 100)).await.status, 200);
    // The agent registers and binds on A, then reports on A.
    let mut agent = a.grpc_enrolled("bilbo", "").await;
    let module = agent.register(host("bilbo")).await.unwrap().into_inner().module;
    let veth = agent.bind_port(port("bilbo", module, "web1", "web", 1)).await.unwrap().into_inner().veth;
    let report = proto::PortReport {
        module,
        host_id: "id-bilbo".into(),
        ports: vec![up("web1")],
        ..Default::default()
    };
    agent.report_ports(report).await.unwrap();
    // B answers as A does: the module online, the port bound and up.
    let veth = u64::from(veth);
    eventually("B shows the port up", Duration::from_secs(5), || async {
        let view = interface(&b, veth).await;
        (view["up"] == true).then_some(())
    })
    .await;
    assert_eq!(interface(&a, veth).await, interface(&b, veth).await);
    assert_eq!(
        a.exec("show module").await.body.replace("active *", "active"),
        b.exec("show module").await.body.replace("active *", "active")
    );
    // A bind on B gets the next number, never one A handed out.
    let mut via_b = b.grpc_enrolled("frodo", "").await;
    let frodo = via_b.register(host("frodo")).await.unwrap().into_inner().module;
    assert_eq!(frodo, module + 1, "module numbers come from one counter");
    let second = via_b.bind_port(port("frodo", frodo, "web2", "web", 2)).await.unwrap().into_inner().veth;
    assert_eq!(u64::from(second), veth + 1);

    // An operator on B shuts the port bilbo's agent has on A: A's next report reply carries it.
    let reply = b.exec(&format!("interface vethernet {veth} shutdown")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let commands = eventually("the command reaches A", Duration::from_secs(5), || {
        let mut agent = agent.clone();
        async move {
            let report = proto::PortReport {
                module,
                host_id: "id-bilbo".into(),
                ports: vec![up("web1")],
                ..Default::default()
            };
            let commands = agent.report_ports(report).await.unwrap().into_inner().commands;
            (!commands.is_empty()).then_some(commands)
        }
    })
    .await;
    assert_eq!(commands, [proto::PortCommand { veth: u32::try_from(veth).unwrap(), shutdown: true }]);

    // A dies without a word: its lease lapses, and B takes bilbo offline, logging it once.
    drop(agent);
    a.stop().await;
    eventually("B sees bilbo offline", Duration::from_secs(10), || async {
        let modules = b.get("/api/v1/modules").await.json();
        let bilbo = modules.as_array().unwrap().iter().find(|m| m["module"] == module).cloned().unwrap();
        (bilbo["status"] == "offline").then_some(())
    })
    .await;
    let offline = format!("%VEM_MGR-2-MOD_OFFLINE: Module {module} is offline");
    let down = format!("Interface Vethernet{veth} is down");
    eventually("IF_DOWN logged", Duration::from_secs(5), || async {
        b.event_messages().await.iter().any(|m| m.contains(&down)).then_some(())
    })
    .await;
    let messages = b.event_messages().await;
    assert_eq!(messages.iter().filter(|m| **m == offline).count(), 1, "{messages:?}");
    assert_eq!(messages.iter().filter(|m| m.contains(&down)).count(), 1, "{messages:?}");
    assert_eq!(interface(&b, veth).await["up"], false);
    let supervisors = b.get("/api/v1/supervisors").await.json();
    assert_eq!(supervisors[0]["active"], false, "{supervisors}");
    let redundancy = b.get("/api/v1/system/redundancy").await.json();
    assert_eq!(redundancy["store"]["backend"], "redb", "{redundancy}");
    assert_eq!(redundancy["store"]["ok"], true, "{redundancy}");
    assert_eq!(redundancy["supervisors"].as_array().unwrap().len(), 2, "{redundancy}");
    b.stop().await;
}
