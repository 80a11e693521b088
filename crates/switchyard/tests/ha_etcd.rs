//! The shared store losing members under three supervisors, an agent and traffic: real etcd
//! members killed with -9 and started again, real supervisor, agent and shell processes, the
//! real `ping` between two containers all along.
//!
//! One member gone: nothing shows. Two gone (no quorum): a change fails within a bound and says
//! the store is unavailable, reads still answer (a member's local copy), the agent stays online
//! and forwards. Both back: writes work again and reach the agent, the store reads `ok`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::ha::{HaBed, Pinger, SUPERVISORS, ShellRun, configured_vlans};
use common::{poll_until, skip_unless_root};

const HOST: &str = "bilbo";
const SETUP: &str =
    "vlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n  state enabled\n";
/// How long the shell may take to give up on a change the store cannot take.
const WRITE_GIVES_UP_WITHIN: Duration = Duration::from_secs(60);
/// How soon after both members are back a change must go through.
const WRITES_BACK_WITHIN: Duration = Duration::from_secs(15);
/// How long the test stays without quorum: past the supervisors' lease TTL (6 s), so any key
/// that should have expired meanwhile would have.
const WITHOUT_QUORUM_FOR: Duration = Duration::from_secs(8);

/// Every supervisor answers `show module` and lists [`HOST`] online.
fn agent_online_everywhere(bed: &HaBed) {
    for index in 0..SUPERVISORS {
        let modules = bed.show(index, "show module");
        assert_eq!(
            common::module_status(&modules, HOST).as_deref(),
            Some("ok"),
            "supervisor{index}:\n{modules}\n{}",
            bed.logs()
        );
    }
}

/// The `state:` line of the store in `show system redundancy status` of supervisor `index`.
fn store_state(bed: &HaBed, index: usize) -> Option<String> {
    let out = bed.client_of(index)?.exec("show system redundancy status").ok()?;
    out.lines().find_map(|line| line.trim().strip_prefix("state:").map(|state| state.trim().to_owned()))
}

/// The VLAN `vemcmd show port vlans` gives VethN on [`HOST`].
fn port_vlan(bed: &HaBed, veth: u32) -> Option<u16> {
    let name = format!("Veth{veth}");
    bed.vemcmd(HOST, "show port vlans").lines().find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        (columns.get(1) == Some(&name.as_str())).then(|| columns.get(3)?.parse().ok()).flatten()
    })
}

fn assert_ok(what: &str, run: &ShellRun, bed: &HaBed) {
    assert!(run.ok(), "{what} failed after {:?}: {}\n{}", run.took, run.text(), bed.logs());
}

#[test]
fn etcd_members_dying() {
    if skip_unless_root() {
        return;
    }
    let mut bed = HaBed::start();
    bed.client().configure(SETUP).unwrap();
    bed.start_agent(HOST);
    let (c1, v1) = bed.attach(HOST, "et-c1", "10.78.1.1");
    let (_c2, v2) = bed.attach(HOST, "et-c2", "10.78.1.2");
    assert!(c1.ping("10.78.1.2", 2), "no ping before anything died\n{}", bed.logs());
    let shell = bed.shell();
    let pinger = Pinger::start(&c1, "10.78.1.2");

    // The leader dies: a new one is elected and nobody notices.
    let first = bed.etcd.wait_for_leader();
    bed.etcd.kill(first);
    let run = shell.run("configure terminal; vlan 101; end", WRITE_GIVES_UP_WITHIN);
    assert_ok("a change with one etcd member down", &run, &bed);
    eprintln!("one member down (the leader): a change took {:?}", run.took);
    agent_online_everywhere(&bed);

    // A second member dies: no quorum. Wait until the last one knows it has no leader, so the
    // change below cannot be appended anywhere (an old leader's log could commit it later).
    let second = (first + 1) % SUPERVISORS;
    bed.etcd.kill(second);
    poll_until(
        "the last etcd member without a leader",
        Duration::from_secs(10),
        || bed.etcd.leader().is_none(),
        || bed.logs(),
    );
    let run = shell.run("configure terminal; vlan 102; end", WRITE_GIVES_UP_WITHIN + Duration::from_secs(30));
    eprintln!("no quorum: the shell gave up on a change after {:?}: {}", run.took, run.text().trim());
    let out = run.output.as_ref().unwrap_or_else(|| panic!("the shell did not give up: {}", run.text()));
    assert!(!out.status.success(), "a change went through without quorum: {}", run.text());
    assert!(run.text().contains("the store is unavailable"), "no clear reason: {}", run.text());
    // Bounds on time are checked at the end, so that one run shows every other finding too.
    let mut too_slow = Vec::new();
    if run.took >= WRITE_GIVES_UP_WITHIN {
        too_slow.push(format!(
            "without quorum the shell took {:?} to give up on a change (bound: {WRITE_GIVES_UP_WITHIN:?})",
            run.took
        ));
    }

    // Reads answer from the last member's copy, through the shell and from every supervisor;
    // the agent stays online and forwards, also past a lease's TTL.
    let quorum_lost = Instant::now();
    loop {
        let run = shell.run("show running-config; show module", Duration::from_secs(60));
        assert_ok("reads without quorum", &run, &bed);
        eprintln!("no quorum: two shows through the shell took {:?}", run.took);
        let vlans = configured_vlans(&run.text());
        assert!(vlans.contains(&101) && !vlans.contains(&102), "{}", run.text());
        for index in 0..SUPERVISORS {
            let config = bed.show(index, "show running-config");
            assert!(configured_vlans(&config).contains(&101), "supervisor{index}:\n{config}");
        }
        agent_online_everywhere(&bed);
        bed.children.check_alive().unwrap_or_else(|e| panic!("{e}\n{}", bed.logs()));
        if quorum_lost.elapsed() > WITHOUT_QUORUM_FOR {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let states: Vec<Option<String>> = (0..SUPERVISORS).map(|index| store_state(&bed, index)).collect();
    eprintln!("without quorum, the store's state: {states:?}");
    assert!(
        states.iter().all(|state| state.as_deref().is_some_and(|state| state.starts_with("failing"))),
        "{states:?}"
    );

    // Both come back: writes work again soon.
    let restarting = Instant::now();
    bed.etcd.restart(first);
    bed.etcd.restart(second);
    let members_up = restarting.elapsed();
    let mut attempts = 0;
    poll_until(
        "a change through after both members are back",
        WRITES_BACK_WITHIN + Duration::from_secs(30),
        || {
            attempts += 1;
            shell.run("configure terminal; vlan 103; end", Duration::from_secs(60)).ok()
        },
        || bed.logs(),
    );
    let writes_back = restarting.elapsed();
    eprintln!(
        "members healthy {members_up:?} after restarting them; writes back after {writes_back:?} ({attempts} tries)"
    );
    if writes_back >= WRITES_BACK_WITHIN {
        too_slow.push(format!(
            "writes came back {writes_back:?} after restarting the members (bound: {WRITES_BACK_WITHIN:?})"
        ));
    }
    let (sent, received) = pinger.stop();
    assert!(sent >= 100, "only {sent} pings sent");
    assert_eq!(sent, received, "pings lost while etcd members died: {sent} sent, {received} received");

    // The change that failed never happened; every supervisor says the store is fine again.
    let config = bed.show(0, "show running-config");
    let vlans = configured_vlans(&config);
    assert!(vlans.contains(&103) && !vlans.contains(&102), "{config}");
    poll_until(
        "every supervisor's store ok",
        Duration::from_secs(15),
        || (0..SUPERVISORS).all(|index| store_state(&bed, index).as_deref() == Some("ok")),
        || format!("{:?}", (0..SUPERVISORS).map(|index| store_state(&bed, index)).collect::<Vec<_>>()),
    );
    eprintln!("store ok on every supervisor {:?} after restarting the members", restarting.elapsed());

    // A change made now reaches the agent's policies and its datapath.
    let run = shell.run(
        "configure terminal; port-profile web; switchport access vlan 103; end",
        Duration::from_secs(60),
    );
    assert_ok("moving web to vlan 103", &run, &bed);
    let changed = Instant::now();
    poll_until(
        "the agent forwarding web on vlan 103",
        Duration::from_secs(15),
        || {
            bed.agent_policies(HOST).get("web").is_some_and(|policy| policy.access_vlan == 103)
                && port_vlan(&bed, v1) == Some(103)
                && port_vlan(&bed, v2) == Some(103)
        },
        || format!("{}\n{}", bed.vemcmd(HOST, "show port vlans"), bed.logs()),
    );
    eprintln!("the change reached the agent in {:?}", changed.elapsed());
    assert!(c1.ping("10.78.1.2", 3), "no ping on vlan 103\n{}", bed.logs());
    agent_online_everywhere(&bed);
    assert!(too_slow.is_empty(), "too slow:\n{}", too_slow.join("\n"));
}
