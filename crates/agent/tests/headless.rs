//! An agent whose supervisor is not there: it runs headless on its persisted snapshot and
//! answers `vemcmd` over its real unix socket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use agent::trust::CaTrust;
use agent::{Agent, AgentOptions, ConnectionState, PolicyEntry, PolicySnapshot};
use config::{Config, EffectivePolicy};

/// A supervisor URL nobody listens on: a port that was just free.
fn dead_supervisor() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("https://{}", listener.local_addr().unwrap())
}

/// A first start with a join token: the supervisor is not there, so the agent cannot enrol yet
/// and runs headless.
fn options(data_dir: &Path, supervisor: String) -> AgentOptions {
    let hash = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    AgentOptions::new(supervisor, "bilbo", data_dir)
        .with_join_token("aaaaaa.aaaaaaaaaaaaaaaa", CaTrust::Hash(hash))
}

/// An enabled access port-profile on `vlan`, as the supervisor evaluates it from config text.
fn policy(name: &str, vlan: u16) -> EffectivePolicy {
    let text = format!(
        "vlan {vlan}\nport-profile type vethernet {name}\n  switchport mode access\n  switchport access vlan {vlan}\n  state enabled\n"
    );
    let applied = config::apply(&Config::default(), &text).expect("valid profile text");
    config::evaluate(&applied.config, name).expect("the profile evaluates")
}

fn show_card(data_dir: &Path) -> String {
    agent::vemcmd::run(data_dir, &["show".into(), "card".into()]).expect("vemcmd show card")
}

#[tokio::test]
async fn runs_headless_on_the_persisted_snapshot_and_answers_vemcmd() {
    let dir = tempfile::tempdir().unwrap();
    let mut snapshot = PolicySnapshot { revision: 12, ..PolicySnapshot::default() };
    for (name, vlan) in [("vlan100", 100), ("vlan200", 200)] {
        let entry = PolicyEntry { revision: 12, policy: policy(name, vlan) };
        snapshot.policies.insert(name.into(), entry);
    }
    agent::persist::save(&dir.path().join("policies.json"), &snapshot).unwrap();
    std::fs::write(dir.path().join("module"), "4\n").unwrap();

    let agent = Agent::start(options(dir.path(), dead_supervisor())).await.unwrap();
    assert_eq!(*agent.policies().current(), snapshot);
    assert_eq!(agent.status().borrow().state, ConnectionState::Headless);

    let text = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || show_card(&dir)
    })
    .await
    .unwrap();
    for line in [
        "Card name: bilbo",
        "Card slot (module): 4",
        "Supervisor state: headless",
        "Card Headless Mode : Yes",
        "Last heartbeat ack: never",
        "Port-profiles in use on this host: 2 (revision 12)",
        "Max virtual ports: 248",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    let host_id = std::fs::read_to_string(dir.path().join("host-id")).unwrap();
    assert!(text.contains(&format!("Card UUID: {}", host_id.trim())), "{text}");

    // Still headless after a few failed reconnects, snapshot untouched.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(agent.status().borrow().state, ConnectionState::Headless);
    assert_eq!(*agent.policies().current(), snapshot);

    agent.stop().await;
    let err = agent::vemcmd::run(dir.path(), &["show".into(), "card".into()]).unwrap_err();
    assert!(err.to_string().starts_with("agent not running: no socket at"), "{err}");
}

#[tokio::test]
async fn a_corrupt_snapshot_starts_empty_and_a_second_agent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policies.json"), "{ this is not json").unwrap();
    let agent = Agent::start(options(dir.path(), dead_supervisor())).await.unwrap();
    assert!(agent.policies().current().is_empty());

    let err = Agent::start(options(dir.path(), dead_supervisor())).await.unwrap_err();
    assert!(err.to_string().contains("another agent is already serving"), "{err}");
    // The refused agent did not take the socket from the first one.
    let dir_path = dir.path().to_owned();
    let text = tokio::task::spawn_blocking(move || show_card(&dir_path)).await.unwrap();
    assert!(text.contains("Port-profiles in use on this host: 0 (revision 0)"), "{text}");
    assert!(text.contains("Supervisor trust: not enrolled yet: enrolling with the join token"), "{text}");
    agent.stop().await;
}

#[tokio::test]
async fn a_malformed_supervisor_url_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = Agent::start(options(dir.path(), "not a url".into())).await.unwrap_err();
    assert!(err.to_string().starts_with("invalid supervisor URL \"not a url\""), "{err}");
}

#[tokio::test]
async fn a_given_host_id_is_used_and_not_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path(), dead_supervisor()).with_host_id("80c34566-fixed".to_owned());
    let agent = Agent::start(options).await.unwrap();
    assert_eq!(agent.identity().host_id, "80c34566-fixed");
    assert!(!dir.path().join("host-id").exists());
    let dir_path = dir.path().to_owned();
    let text = tokio::task::spawn_blocking(move || show_card(&dir_path)).await.unwrap();
    assert!(text.contains("Card UUID: 80c34566-fixed"), "{text}");
    agent.stop().await;
}

#[tokio::test]
async fn an_agent_without_credentials_or_with_the_wrong_scheme_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let error = Agent::start(AgentOptions::new(dead_supervisor(), "bilbo", dir.path())).await.unwrap_err();
    assert!(error.to_string().contains("not enrolled: start it once with --join-token"), "{error:#}");
    let plain = dead_supervisor().replace("https://", "http://");
    let error = Agent::start(options(dir.path(), plain.clone())).await.unwrap_err();
    assert!(error.to_string().contains("use https://"), "{error:#}");
    let error = Agent::start(options(dir.path(), dead_supervisor()).insecure()).await.unwrap_err();
    assert!(error.to_string().contains("is https://"), "{error:#}");
    // --insecure with http:// starts (headless here), as benchmarks use it.
    let agent = Agent::start(AgentOptions::new(plain, "bilbo", dir.path()).insecure()).await.unwrap();
    agent.stop().await;
}
