//! Moving a supervisor's state to a new store ([`supervisor::transfer`]) with real supervisors on
//! real stores: what one supervisor built (config, accounts, modules, bindings, the event log and
//! the counters behind module and vEthernet numbers) is what the next one, on the imported store,
//! shows and goes on from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Running, access_profile, eventually, host, open_store, port};
use supervisor::transfer::{self, ImportOptions, TransferError};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn show(supervisor: &Running, line: &str) -> String {
    let reply = supervisor.exec(line).await;
    assert_eq!(reply.status, 200, "{line}: {}", reply.body);
    reply.body
}

/// `show module` without the Status column (liveness is not state: it restarts with the
/// supervisor) and without the supervisor's own row.
async fn modules(supervisor: &Running) -> Vec<String> {
    show(supervisor, "show module")
        .await
        .lines()
        .filter(|line| !line.contains("Virtual Supervisor Module"))
        .map(|line| line.replace(" offline", "").replace(" ok", "").trim_end().to_owned())
        .collect()
}

/// The files an operator moving a supervisor keeps with its data dir: the TLS material agents
/// trust (here also the test agents' kept certificates).
fn copy_data_dir_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("tls")).unwrap();
    for entry in std::fs::read_dir(from.join("tls")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("tls").join(entry.file_name())).unwrap();
    }
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with("test-agent-") {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test]
async fn a_new_store_goes_on_from_where_the_old_one_was() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (old_dir, new_dir) = (dirs[0].path(), dirs[1].path());
    let short_heartbeat = |options: &mut supervisor::SupervisorOptions| {
        options.heartbeat_timeout = Duration::from_millis(300);
    };

    // The old supervisor: two hosts, a profile, two ports; the second host removed, so the next
    // module number (5) is one only the counter knows.
    let old = Running::start(old_dir, short_heartbeat).await;
    let reply = old.configure(&format!("vlan 100\n{}", access_profile("vlan100", 100))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mut bilbo = old.grpc_as("bilbo").await;
    assert_eq!(bilbo.register(host("bilbo")).await.unwrap().into_inner().module, 3);
    let mut frodo = old.grpc_as("frodo").await;
    assert_eq!(frodo.register(host("frodo")).await.unwrap().into_inner().module, 4);
    for (index, iface) in [(1, "web1"), (2, "web2")] {
        let reply = bilbo.bind_port(port("bilbo", 3, iface, "vlan100", index)).await.unwrap().into_inner();
        assert_eq!(reply.veth, index);
    }
    eventually("frodo offline", TIMEOUT, || async {
        show(&old, "show module")
            .await
            .lines()
            .any(|l| l.starts_with("4 ") && l.ends_with("offline"))
            .then_some(())
    })
    .await;
    show(&old, "no module 4").await;
    let config = show(&old, "show running-config").await;
    let interfaces = show(&old, "show interface virtual").await;
    let module_rows = modules(&old).await;
    let events = old.event_messages().await;
    assert!(module_rows.iter().any(|l| l.ends_with("bilbo")), "{module_rows:?}");
    assert!(interfaces.contains("Veth2"), "{interfaces}");
    old.stop().await;

    // Export, import into a new data dir.
    let mut file = Vec::new();
    let exported = transfer::export(open_store(old_dir).await.as_ref(), &mut file).await.unwrap();
    for kind in
        ["config/port-profiles", "config/users", "modules", "ports", "counters", "events", "enrolments"]
    {
        assert!(exported.kinds.0.contains_key(kind), "{kind} missing from {:?}", exported.kinds);
    }
    copy_data_dir_files(old_dir, new_dir);
    let imported = {
        let store = open_store(new_dir).await;
        transfer::import(store.as_ref(), file.as_slice(), ImportOptions::default()).await.unwrap()
    };
    assert_eq!((imported.keys, imported.kinds.clone()), (exported.keys, exported.kinds.clone()));

    // The new supervisor shows what the old one did, and numbers on from there.
    let new = Running::start(new_dir, short_heartbeat).await;
    assert_eq!(show(&new, "show running-config").await, config);
    assert_eq!(show(&new, "show interface virtual").await, interfaces);
    assert_eq!(modules(&new).await, module_rows);
    let after = new.event_messages().await;
    assert_eq!(after[..events.len()], events[..], "the event log came along, in order");

    let mut bilbo = new.grpc_as("bilbo").await;
    assert_eq!(bilbo.register(host("bilbo")).await.unwrap().into_inner().module, 3, "bilbo keeps its module");
    let third = bilbo.bind_port(port("bilbo", 3, "web3", "vlan100", 3)).await.unwrap().into_inner();
    assert_eq!(third.veth, 3, "the next vEthernet, not 1 again");
    let again = bilbo.bind_port(port("bilbo", 3, "web1", "vlan100", 1)).await.unwrap().into_inner();
    assert_eq!(again.veth, 1, "an existing binding keeps its number");
    let mut sam = new.grpc_as("sam").await;
    assert_eq!(sam.register(host("sam")).await.unwrap().into_inner().module, 5, "module numbers go on");
    new.stop().await;

    // The new store is in use now: a second import is refused, and writes nothing.
    let store = open_store(new_dir).await;
    let before = store::Store::revision(store.as_ref()).await.unwrap();
    let refused = transfer::import(store.as_ref(), file.as_slice(), ImportOptions::default()).await;
    assert!(matches!(refused, Err(TransferError::NotEmpty { .. })), "{refused:?}");
    assert_eq!(store::Store::revision(store.as_ref()).await.unwrap(), before);
}
