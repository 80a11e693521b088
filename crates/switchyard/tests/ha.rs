//! High availability: three supervisors, all active, on a real three-member etcd cluster on
//! loopback; an agent given all three addresses; containers pinging each other while the
//! agent's supervisor is killed with -9. Harness: `common/ha.rs`; etcd members dying:
//! `ha_etcd.rs`; everything dying at random: `chaos.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::ha::{HaBed, Pinger};
use common::{poll_until, skip_unless_root};

const HOST: &str = "bilbo";

#[test]
fn a_killed_supervisor_loses_nothing_and_its_agent_moves_on() {
    if skip_unless_root() {
        return;
    }
    let mut bed = HaBed::start();
    // Every supervisor sees all three, each marking itself.
    for index in 0..3 {
        let modules = bed.show(index, "show module");
        for number in 1..=3 {
            assert!(
                modules
                    .lines()
                    .any(|line| line.starts_with(&format!("{number:<5}0      Virtual Supervisor Module"))
                        && line.contains("active")),
                "supervisor {number} not listed as active by supervisor {index}:\n{modules}"
            );
        }
        assert_eq!(modules.matches("active *").count(), 1, "{modules}");
    }
    bed.client_of(0)
        .unwrap()
        .configure(
            "vlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n  state enabled\n",
        )
        .unwrap();
    bed.start_agent(HOST);
    let (c1, v1) = bed.attach(HOST, "ha-c1", "10.77.1.1");
    let (_c2, v2) = bed.attach(HOST, "ha-c2", "10.77.1.2");
    assert_ne!(v1, v2);
    c1.exec_ok(&["ping", "-c", "2", "-W", "2", "10.77.1.2"]).unwrap();

    let serving = bed.serving(0).unwrap_or_else(|| {
        panic!("nobody serves the agent:\n{}", bed.show(0, "show system redundancy status"))
    });
    let survivor = (serving + 1) % 3;
    let pinger = Pinger::start(&c1, "10.77.1.2");
    std::thread::sleep(Duration::from_secs(1));
    bed.kill_supervisor(serving);
    let killed = Instant::now();
    poll_until(
        "the agent served by another supervisor",
        Duration::from_secs(5),
        || bed.serving(survivor).is_some_and(|now| now != serving),
        || bed.logs(),
    );
    let failover = killed.elapsed();
    eprintln!("failover took {failover:?}");
    let status = bed.module_status(survivor, HOST);
    assert_eq!(status.as_deref(), Some("ok"), "{}", bed.show(survivor, "show module"));
    // The killed supervisor shows as offline once its lease is gone.
    poll_until(
        "the killed supervisor offline",
        Duration::from_secs(15),
        || {
            bed.show(survivor, "show module")
                .lines()
                .any(|line| line.starts_with(&format!("{:<5}", serving + 1)) && line.ends_with("offline"))
        },
        || bed.logs(),
    );
    // Work goes on: a new port gets a new number, a change reaches the agent.
    let (c3, v3) = bed.attach(HOST, "ha-c3", "10.77.1.3");
    assert!(v3 != v1 && v3 != v2, "Vethernet{v3} handed out twice");
    c3.exec_ok(&["ping", "-c", "2", "-W", "2", "10.77.1.1"]).unwrap();
    let (sent, received) = pinger.stop();
    assert!(sent >= 20, "only {sent} pings sent");
    assert_eq!(sent, received, "pings lost while the supervisor died: {sent} sent, {received} received");

    // The killed supervisor comes back with its number.
    bed.start_supervisor(serving);
    let modules = bed.show(serving, "show module");
    assert!(
        modules.contains(&format!(
            "{:<5}0      Virtual Supervisor Module         Switchyard          active *",
            serving + 1
        )),
        "{modules}"
    );
}
