//! Containers on one host, end to end, as a user drives it: real supervisor and agent processes,
//! `switchyard attach` into network namespaces the test makes, real `ping`, `iperf3`, `sshd`/`ssh`.
//! Needs root (CI runs as root); without it the tests say so loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::containers::{HOST, attach_with, on_host, vemcmd};
use common::{Testbed, skip_unless_root, stderr};
use switchyard::netns::lossy;

const PROFILES: &str = "\
configure terminal
vlan 100-101
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
end
";

/// A supervisor with the two profiles and the agent of `bilbo`.
fn testbed() -> Testbed {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], PROFILES);
    assert!(out.status.success(), "{}", stderr(&out));
    bed.start_agent(HOST);
    bed
}

#[test]
fn containers_on_one_vlan_talk_ping_tcp_and_ssh() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let web1 = attach_with(&bed, "web1", "vlan100", "10.99.0.1");
    let web2 = attach_with(&bed, "web2", "vlan100", "10.99.0.2");
    assert_ne!(web1.veth, web2.veth);
    assert!(web1.ns.ping(&web2.ip, 3), "same-VLAN ping failed\n{}", bed.logs());

    let virt = bed.show("show interface virtual");
    assert!(
        virt.contains(&format!("Veth{}", web1.veth)) && virt.contains("web1") && virt.contains(HOST),
        "{virt}"
    );
    let brief = bed.show("show interface brief");
    assert!(
        brief.lines().any(|l| l.starts_with(&format!("Veth{} ", web1.veth)) && l.contains(" up ")),
        "{brief}"
    );

    // 50 MiB of TCP through the switch, veth offloads at their defaults.
    let gbps = common::iperf3_checked(&web1.ns, &web2.ns, &web2.ip, 50 << 20);
    eprintln!("TCP through Switchyard: {gbps:.2} Gbit/s");

    // ssh into a real sshd in web2 and move 50 MiB through it, checked end to end.
    common::ssh_transfer_checked(&web1.ns, &web2.ns, &web2.ip, 50 << 20);
}

#[test]
fn vlans_are_isolated_and_a_live_change_moves_a_port() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let a = attach_with(&bed, "a", "vlan100", "10.99.1.1");
    let b = attach_with(&bed, "b", "vlan101", "10.99.1.2");
    assert!(!a.ns.ping(&b.ip, 2), "ping crossed VLANs");
    let rx_before = vemcmd(&bed, "show stats");

    // One command moves every port of vlan101 into VLAN 100.
    let out =
        bed.shell(&["-c", "configure terminal; port-profile vlan101; switchport access vlan 100; end"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let changed = Instant::now();
    let mut reached = false;
    while changed.elapsed() < Duration::from_secs(10) {
        if a.ns.ping(&b.ip, 1) {
            reached = true;
            break;
        }
    }
    assert!(reached, "the live VLAN change never took effect\n{rx_before}\n{}", bed.logs());
    eprintln!("live VLAN change took effect within {:?}", changed.elapsed());
}

#[test]
fn a_port_waits_for_its_profile_and_comes_up_when_it_is_created() {
    if skip_unless_root() {
        return;
    }
    let mut bed = testbed();
    let early = attach_with(&bed, "early", "later", "10.99.2.1");
    let peer = attach_with(&bed, "peer", "vlan100", "10.99.2.2");
    let veth = early.veth;
    bed.wait_until("the port is down waiting for its profile", Duration::from_secs(10), |bed| {
        bed.show("show interface brief")
            .lines()
            .any(|l| l.starts_with(&format!("Veth{veth} ")) && l.contains("port-profile not found"))
    });
    assert!(!early.ns.ping(&peer.ip, 1));

    let out = bed.shell(&["-c", "configure terminal; port-profile later; switchport access vlan 100; no shutdown; state enabled; end"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    bed.wait_until("the port comes up", Duration::from_secs(10), |bed| {
        bed.show("show interface brief")
            .lines()
            .any(|l| l.starts_with(&format!("Veth{veth} ")) && l.contains(" up "))
    });
    assert!(early.ns.ping(&peer.ip, 2), "{}", bed.logs());
    let log = bed.show("show logging logfile");
    assert!(
        log.contains(&format!("%ETHPORT-5-IF_UP: Interface Vethernet{veth} is up in mode access")),
        "{log}"
    );
}

#[test]
fn an_agent_restart_keeps_its_ports_and_detach_leaves_nothing() {
    if skip_unless_root() {
        return;
    }
    let mut bed = testbed();
    let a = attach_with(&bed, "r1", "vlan100", "10.99.3.1");
    let b = attach_with(&bed, "r2", "vlan100", "10.99.3.2");
    assert!(a.ns.ping(&b.ip, 2));

    bed.kill9(HOST);
    bed.start_agent(HOST);
    bed.wait_until("ports forward again after the restart", Duration::from_secs(15), |_| a.ns.ping(&b.ip, 1));
    assert!(bed.show("show interface virtual").contains(&format!("Veth{}", a.veth)));

    let out = on_host(&bed, &["detach", "--netns", &a.ns.name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let links = lossy(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout);
    assert!(!links.contains(&a.ns.name), "{links}");
    assert!(
        a.ns.exec_ok(&["ip", "-o", "link"]).unwrap().lines().all(|l| !l.contains("eth0")),
        "eth0 left in the namespace"
    );
    assert!(!a.ns.ping(&b.ip, 1));
}

#[test]
fn garbage_frames_are_counted_and_never_stop_the_agent() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let a = attach_with(&bed, "g1", "vlan100", "10.99.4.1");
    let b = attach_with(&bed, "g2", "vlan100", "10.99.4.2");
    // Random bytes, truncated headers, a 9000-byte frame, bad tags — from inside the container.
    let script = r#"
import os, socket, random
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
random.seed(7)
frames = [os.urandom(random.randint(1, 200)) for _ in range(300)]
frames += [b"\xff" * 6, b"\x02" * 13, os.urandom(9000)]
tag = lambda vid: bytes.fromhex("ffffffffffff020000000001") + b"\x81\x00" + vid.to_bytes(2, "big") + b"\x08\x06" + bytes(28)
frames += [tag(4095), tag(0) [:16], tag(100), b"\x81\x00" * 40]
for f in frames:
    try: s.send(f)
    except OSError: pass
"#;
    a.ns.exec_ok(&["python3", "-c", script]).unwrap();
    assert!(a.ns.ping(&b.ip, 2), "the switch stopped forwarding after garbage\n{}", bed.logs());
    let drops = vemcmd(&bed, "show drops");
    let total: u64 = drops
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("total"))
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .max()
        .unwrap_or(0);
    assert!(total > 0, "no drops counted:\n{drops}");
}
