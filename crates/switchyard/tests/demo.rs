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
        // A second host: VLAN 100 across the uplink trunks, a bridge-domain over VXLAN.
        assert!(stdout.contains("Eth3/1") && stdout.contains("Eth4/1"), "uplinks: {stdout}");
        assert_eq!(stdout.matches("hello from 10.100.0.11").count(), 2, "ssh from web2 and web3: {stdout}");
        assert!(stdout.contains("eth0 has MTU 1450"), "{stdout}");
        assert!(stdout.contains("1430 bytes from 10.200.0.2"), "1450-byte DF ping over VXLAN: {stdout}");
        assert!(stdout.contains("(no answer: the bridge-domain is its own segment)"), "{stdout}");
        assert!(stdout.lines().any(|l| l.starts_with("  SwInsta") && l.contains("10.77.0.12")), "{stdout}");
        // web1 joined the seed's way: the real ovs-vsctl, answered by the agent.
        assert!(stdout.contains("ofport              : 1"), "{stdout}");
        assert!(stdout.contains("%VIM-5-IF_ATTACHED: Interface Vethernet1 is attached to veth"), "{stdout}");
        let namespaces =
            String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout)
                .into_owned();
        for name in ["-web1", "-db1", "-web3", "-red1", "-bilbo", "-frodo", "-pswitch", "-underlay", "-sup"] {
            assert!(!namespaces.contains(name), "left behind: {namespaces}");
        }
        let links =
            String::from_utf8_lossy(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout)
                .into_owned();
        assert!(!links.contains("_eth0"), "a veth left behind: {links}");
    }
    // The demo cleans up: no daemon of its own survives it.
    let left = Command::new("pgrep").args(["-f", "switchyard-demo"]).output().unwrap();
    assert!(left.stdout.is_empty(), "left running: {}", String::from_utf8_lossy(&left.stdout));
}
