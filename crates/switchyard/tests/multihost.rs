//! Across hosts, end to end: hosts `bilbo`, `frodo` (and `samwise`) as network namespaces, joined by
//! a "physical switch" (a plain Linux bridge carrying their uplink trunks) and by an IP underlay
//! for VXLAN; the supervisor in a namespace of its own. Containers on one VLAN on different hosts
//! talk over the trunk; containers on one bridge-domain over VXLAN; segments stay apart.
//! Needs root (CI runs as root); without it the tests say so loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::fabric::FabricBed;
use common::{skip_unless_root, ssh_transfer_checked};
use switchyard::netns::lossy;

const CONFIG: &str = "\
configure terminal
vlan 100-102
bridge-domain tenant-red
  segment id 5000
port-profile type ethernet uplink
  switchport mode trunk
  switchport trunk allowed vlan 100-101
  channel-group auto mode on mac-pinning
  no shutdown
  state enabled
port-profile type vethernet vlan100
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
port-profile type vethernet vlan101
  switchport mode access
  switchport access vlan 101
  no shutdown
  state enabled
port-profile type vethernet vlan102
  switchport mode access
  switchport access vlan 102
  no shutdown
  state enabled
port-profile type vethernet red
  switchport mode access
  switchport access bridge-domain tenant-red
  no shutdown
  state enabled
end
";

/// A fabric with these hosts, the config applied, and every host's agent online.
fn lab(hosts: &[(&str, usize)]) -> FabricBed {
    let mut bed = FabricBed::start(hosts, CONFIG);
    for (host, _) in hosts {
        bed.start_agent(host);
    }
    bed
}

#[test]
fn a_vlan_spans_hosts_over_the_trunk_and_a_bridge_domain_over_vxlan() {
    if skip_unless_root() {
        return;
    }
    let bed = lab(&[("bilbo", 1), ("frodo", 1)]);

    // VLAN 100 on both hosts, over the uplink trunks and the physical switch.
    let web1 = bed.attach("bilbo", "web1", "vlan100", "192.168.10.1");
    let web2 = bed.attach("frodo", "web2", "vlan100", "192.168.10.2");
    assert!(web1.reaches(&web2, Duration::from_secs(5)), "vlan 100 across the trunk\n{}", bed.logs());
    let gbps = web1.iperf3_to(&web2, 20 << 20);
    eprintln!("TCP over the trunk: {gbps:.2} Gbit/s");
    ssh_transfer_checked(&web1.ns, &web2.ns, &web2.ip, 20 << 20);

    // Bridge-domain tenant-red on both hosts, over VXLAN on the underlay.
    let red1 = bed.attach("bilbo", "red1", "red", "192.168.10.11");
    let red2 = bed.attach("frodo", "red2", "red", "192.168.10.12");
    assert!(red1.reaches(&red2, Duration::from_secs(5)), "bridge-domain over VXLAN\n{}", bed.logs());
    // Every byte of a TCP stream through VXLAN (super-frames segmented in software on the way in).
    ssh_transfer_checked(&red1.ns, &red2.ns, &red2.ip, 20 << 20);
    // And with the containers' offloads off: full checksums, no super-frames, on both paths.
    for container in [&web1, &web2, &red1, &red2] {
        container.ns.exec_ok(&["ethtool", "-K", "eth0", "tx", "off"]).unwrap();
    }
    ssh_transfer_checked(&web1.ns, &web2.ns, &web2.ip, 5 << 20);
    ssh_transfer_checked(&red1.ns, &red2.ns, &red2.ip, 5 << 20);
    // Full-size packets with DF, iperf3 and bad tunnel input: tests/vxlan.rs.

    // Segments stay apart: same subnet, other VLAN or bridge-domain.
    let web3 = bed.attach("frodo", "web3", "vlan101", "192.168.10.3");
    assert!(!web1.ns.ping(&web3.ip, 2), "vlan 100 reached vlan 101");
    assert!(!web1.ns.ping(&red2.ip, 2), "vlan 100 reached the bridge-domain");
    assert!(!red1.ns.ping(&web2.ip, 2), "the bridge-domain reached vlan 100");
    // VLAN 102 is not allowed on the trunk: it does not cross.
    let v102a = bed.attach("bilbo", "v102a", "vlan102", "192.168.10.21");
    let v102b = bed.attach("frodo", "v102b", "vlan102", "192.168.10.22");
    assert!(!v102a.ns.ping(&v102b.ip, 2), "vlan 102 crossed a trunk that does not allow it");
    // Allowed on the uplinks' profile, live, it crosses: the trunk, not a broken port, stopped it.
    bed.configure("port-profile uplink\n  switchport trunk allowed vlan 100-102\n");
    assert!(v102a.reaches(&v102b, Duration::from_secs(5)), "vlan 102 allowed live\n{}", bed.logs());

    // What the operator sees.
    let brief = bed.show("show interface brief");
    assert!(brief.contains("Eth3/1") && brief.contains("Eth4/1"), "{brief}");
    let usage = bed.show("show port-profile virtual usage");
    assert!(
        usage.lines().any(|l| l.contains("Eth3/1") && l.contains("eth1") && l.contains("bilbo")),
        "{usage}"
    );
    let domains = bed.show("show bridge-domain");
    assert!(domains.contains("tenant-red") && domains.contains("5000"), "{domains}");
    let vteps = bed.show("show bridge-domain tenant-red vteps");
    for host in ["bilbo", "frodo"] {
        let vtep = bed.fabric.host(host).vtep.to_string();
        assert!(vteps.contains(&vtep), "{vtep} missing: {vteps}");
    }
    let macs = bed.show("show bridge-domain tenant-red mac");
    assert!(macs.contains(&red1.dotted_mac()) && macs.contains(&red2.dotted_mac()), "{macs}");
    let frodo_vtep = bed.fabric.host("frodo").vtep.to_string();
    bed.wait_until("bilbo reports frodo's MAC behind its VTEP", Duration::from_secs(10), |bed| {
        bed.show("show mac address-table")
            .lines()
            .any(|l| l.contains(&red2.dotted_mac()) && l.contains(&frodo_vtep))
    });
    let l2 = bed.vemcmd("bilbo", "show l2 bd-name tenant-red");
    assert!(l2.contains(&frodo_vtep), "{l2}");
    let ports = bed.vemcmd("bilbo", "show port");
    assert!(ports.lines().any(|l| l.contains("Eth3/1") && l.contains("eth1")), "{ports}");
}

#[test]
fn restarting_one_host_does_not_disturb_the_others() {
    if skip_unless_root() {
        return;
    }
    let mut bed = lab(&[("bilbo", 1), ("frodo", 1), ("samwise", 1)]);
    let web1 = bed.attach("bilbo", "web1", "vlan100", "192.168.10.1");
    let web2 = bed.attach("frodo", "web2", "vlan100", "192.168.10.2");
    let red1 = bed.attach("bilbo", "red1", "red", "192.168.10.11");
    let red2 = bed.attach("frodo", "red2", "red", "192.168.10.12");
    let _red3 = bed.attach("samwise", "red3", "red", "192.168.10.13");
    let _web3 = bed.attach("samwise", "web3", "vlan100", "192.168.10.3");
    assert!(web1.reaches(&web2, Duration::from_secs(5)) && red1.reaches(&red2, Duration::from_secs(5)));

    // 60 pings each way over 6 s while samwise's agent is killed and started again.
    let trunk = web1.ns.spawn_output(&["ping", "-c", "60", "-i", "0.1", "-W", "1", &web2.ip]).unwrap();
    let vxlan = red1.ns.spawn_output(&["ping", "-c", "60", "-i", "0.1", "-W", "1", &red2.ip]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    bed.kill9("samwise");
    std::thread::sleep(Duration::from_millis(500));
    bed.start_agent("samwise");
    for (what, ping) in [("trunk", trunk), ("vxlan", vxlan)] {
        let out = ping.wait_with_output().unwrap();
        let text = lossy(&out.stdout);
        assert!(text.contains(" 0% packet loss"), "{what} lost pings while samwise restarted: {text}");
    }
}

#[test]
fn a_failed_uplink_moves_its_vethernets_within_a_second() {
    if skip_unless_root() {
        return;
    }
    let bed = lab(&[("bilbo", 2), ("frodo", 1)]);
    let web1 = bed.attach("bilbo", "web1", "vlan100", "192.168.10.1");
    let web2 = bed.attach("frodo", "web2", "vlan100", "192.168.10.2");
    assert!(web2.reaches(&web1, Duration::from_secs(5)), "vlan 100 across the trunk\n{}", bed.logs());

    // Fail each of bilbo's uplinks in turn under a 20 ms ping: whichever web1 is pinned to, its
    // traffic moves to the other within a second, and nothing arrives twice.
    for nic in ["eth1", "eth2"] {
        let ping =
            web2.ns.spawn_output(&["ping", "-D", "-c", "150", "-i", "0.02", "-W", "1", &web1.ip]).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        bed.fabric.set_switch_port("bilbo", nic, false).unwrap();
        let out = ping.wait_with_output().unwrap();
        bed.fabric.set_switch_port("bilbo", nic, true).unwrap();
        let text = lossy(&out.stdout);
        assert!(!text.contains("DUP!"), "duplicate deliveries with two uplinks: {text}");
        let gap = longest_gap(&text);
        assert!(gap < 1.0, "{nic} down: no answer for {gap:.2} s\n{text}\n{}", bed.logs());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The longest time between two answers in `ping -D` output, in seconds.
fn longest_gap(ping: &str) -> f64 {
    let stamps: Vec<f64> = ping
        .lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.parse().ok())
        .collect();
    assert!(stamps.len() > 50, "too few answers: {ping}");
    stamps.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}
