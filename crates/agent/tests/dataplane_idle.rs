//! The dataplane thread polls briefly after traffic and then sleeps: with no frames it costs
//! (next to) no CPU. A test binary of its own, so that its process has one dataplane thread.

#![cfg_attr(test, allow(clippy::unwrap_used))]

#[path = "dataplane/lab.rs"]
#[allow(dead_code)]
mod lab;

use std::time::Duration;

use agent::dataplane::{Dataplane, DataplaneOptions};
use datapath::{PortConfig, PortId, Segment};
use futures::executor::block_on;
use lab::{Lab, is_root};

/// Nanoseconds the threads named `dataplane` of this process have run on a CPU.
fn dataplane_cpu_ns() -> u64 {
    let mut total = 0;
    let mut threads = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("tasks") {
        let path = task.expect("task").path();
        if std::fs::read_to_string(path.join("comm")).unwrap_or_default().trim() != "dataplane" {
            continue;
        }
        let schedstat = std::fs::read_to_string(path.join("schedstat")).expect("schedstat");
        total += schedstat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).expect("ns");
        threads += 1;
    }
    assert_eq!(threads, 1, "one dataplane thread expected");
    total
}

#[test]
fn an_idle_dataplane_sleeps_after_traffic() {
    if !is_root("an_idle_dataplane_sleeps_after_traffic") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2) = (lab.container(1), lab.container(2));
    let options = DataplaneOptions {
        netns: Some(lab::netns_path(&lab.host)),
        poll_after_traffic: Duration::from_micros(100),
        ..DataplaneOptions::default()
    };
    let dataplane = Dataplane::spawn(options).expect("dataplane starts");
    for (n, container) in [(1u8, &c1), (2, &c2)] {
        let config =
            PortConfig::access(PortId(48 + u32::from(n)), format!("Veth{n}"), Segment::Vlan(100), "p")
                .with_attached_mac(container.mac);
        block_on(dataplane.add_port(&container.host_end, config)).expect("port added");
    }
    assert!(c1.pings(c2.ip, 3), "no traffic crossed the switch");

    std::thread::sleep(Duration::from_millis(100));
    let before = dataplane_cpu_ns();
    std::thread::sleep(Duration::from_secs(2));
    let spent = dataplane_cpu_ns() - before;

    // 1% of a core over 2 s is 20 ms; a sleeping thread spends nothing.
    assert!(spent < 20_000_000, "the idle dataplane thread ran {spent} ns in 2 s");
    drop(dataplane);
}
