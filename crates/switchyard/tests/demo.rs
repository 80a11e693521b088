//! The README's first command: `switchyard demo` runs a supervisor and two agents and shows them.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn demo_shows_two_online_modules_and_the_seed_profiles() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let online: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("Virtual Ethernet Module") && l.trim_end().ends_with(" ok"))
        .collect();
    assert_eq!(online.len(), 2, "{stdout}");
    assert!(stdout.contains("port-profile vlan100") && stdout.contains("uplink "), "{stdout}");
    assert!(stdout.contains("  switchport access vlan 100"), "{stdout}");
    assert!(stdout.contains("Supervisor state: connected"), "{stdout}");
    if switchyard::netns::is_root() {
        // The seed's walk-through with containers: attached, talking, isolated, moved live.
        assert!(stdout.contains("Vethernet2") && stdout.contains("Vethernet3"), "{stdout}");
        assert!(stdout.contains("3 received, 0% packet loss"), "{stdout}");
        assert!(stdout.contains("(no answer: VLAN 101 is isolated from VLAN 100)"), "{stdout}");
        assert!(stdout.contains("db1 reaches web1: yes"), "{stdout}");
        assert!(stdout.contains("Gbit/s"), "TCP through the switch: {stdout}");
        assert!(stdout.contains("hello from 10.100.0.11"), "ssh into web1: {stdout}");
        // web1 joined the seed's way: the real ovs-vsctl, answered by the agent.
        assert!(stdout.contains("ofport              : 1"), "{stdout}");
        assert!(stdout.contains("%VIM-5-IF_ATTACHED: Interface Vethernet1 is attached to veth"), "{stdout}");
        let namespaces =
            String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout)
                .into_owned();
        assert!(!namespaces.contains("-web1") && !namespaces.contains("-db1"), "left behind: {namespaces}");
        let links =
            String::from_utf8_lossy(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout)
                .into_owned();
        assert!(!links.contains("_eth0"), "a veth left behind: {links}");
    }
    // The demo cleans up: no daemon of its own survives it.
    let left = Command::new("pgrep").args(["-f", "switchyard-demo"]).output().unwrap();
    assert!(left.stdout.is_empty(), "left running: {}", String::from_utf8_lossy(&left.stdout));
}
