//! VXLAN between two hosts, end to end: `bilbo` and `frodo` as network namespaces on an IP
//! underlay (MTU 1500), each agent with its VTEP there, the supervisor in a namespace of its own;
//! containers in bridge-domain `tenant-red` (segment id 5000) on both hosts. Bad tunnel input is
//! dropped and counted; a VTEP that is not the host's is a startup error.
//! Needs root (CI runs as root); without it the tests say so loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::fabric::FabricBed;
use common::skip_unless_root;
use switchyard::netns::lossy;

const CONFIG: &str = "\
configure terminal
bridge-domain tenant-red
  segment id 5000
bridge-domain tenant-blue
  segment id 6000
port-profile type vethernet red
  switchport mode access
  switchport access bridge-domain tenant-red
  no shutdown
  state enabled
end
";

const MALFORMED: &str = "VXLAN header short or without the I flag";
const VNI_UNKNOWN: &str = "VXLAN segment id of no local bridge-domain";
const NOT_MEMBER: &str = "VXLAN source is not a VTEP of the bridge-domain";

/// The switch-wide count of drops for `reason` (its text) in `vemcmd show drops` on `host`.
fn drops(bed: &FabricBed, host: &str, reason: &str) -> u64 {
    let text = bed.vemcmd(host, "show drops");
    text.lines()
        .filter(|line| line.starts_with("Total") && line.contains(reason))
        .find_map(|line| line.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

/// Sends one UDP datagram of `payload` (hex) from namespace `ns` to `to`:4789.
fn send_udp(ns: &switchyard::netns::Netns, to: &str, payload_hex: &str) {
    let script = format!(
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
         s.sendto(bytes.fromhex('{payload_hex}'), ('{to}', 4789))"
    );
    let out = ns.exec(&["python3", "-c", &script]).unwrap();
    assert!(out.status.success(), "sending a datagram: {}", lossy(&out.stderr));
}

#[test]
fn a_bridge_domain_spans_two_hosts_over_vxlan_and_bad_tunnel_input_is_counted() {
    if skip_unless_root() {
        return;
    }
    let mut bed = FabricBed::start(&[("bilbo", 0), ("frodo", 0)], CONFIG);
    bed.start_agent("bilbo");
    bed.start_agent("frodo");
    let red1 = bed.attach("bilbo", "vx-red1", "red", "192.168.20.1");
    let red2 = bed.attach("frodo", "vx-red2", "red", "192.168.20.2");
    assert_eq!((red1.mtu(), red2.mtu()), (1450, 1450), "room for VXLAN on a 1500 underlay");
    assert!(red1.reaches(&red2, Duration::from_secs(10)), "bilbo → frodo over VXLAN\n{}", bed.logs());
    assert!(red2.reaches(&red1, Duration::from_secs(5)), "frodo → bilbo over VXLAN");

    // A full-size inner packet (1422 + 28 = 1450 bytes) with DF crosses, and its outer packet
    // (1500 bytes) carries DF too.
    let bilbo = bed.fabric.host("bilbo");
    let mut capture = bilbo
        .ns
        .spawn(&[
            "timeout",
            "10",
            "tcpdump",
            "-i",
            "ul0",
            "-c",
            "1",
            "-n",
            "udp port 4789 and ip[6] & 0x40 != 0 and greater 1500",
        ])
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let out = red1.exec(&["ping", "-c", "3", "-M", "do", "-s", "1422", "-W", "1", &red2.ip]);
    assert!(out.status.success(), "1450-byte DF ping over VXLAN: {}", lossy(&out.stdout));
    assert!(capture.wait().unwrap().success(), "no full-size VXLAN packet with DF on the underlay");
    // One byte more does not fit the container's MTU.
    let out = red1.exec(&["ping", "-c", "1", "-M", "do", "-s", "1423", "-W", "1", &red2.ip]);
    assert!(!out.status.success(), "a 1451-byte DF ping should not leave a 1450 MTU");

    // TCP with the veth offloads on: 64 KiB segments leave as MSS-sized VXLAN datagrams.
    let gbps = red1.iperf3_to(&red2, 50 << 20);
    eprintln!("TCP over VXLAN: {gbps:.2} Gbit/s");

    // Bad tunnel input at bilbo's VTEP, each dropped and counted.
    let vtep = bilbo.vtep.to_string();
    let frodo = bed.fabric.host("frodo");
    let inner = "ffffffffffff0200000000990806"; // a broadcast frame's header, enough to parse
    let before = (
        drops(&bed, "bilbo", MALFORMED),
        drops(&bed, "bilbo", VNI_UNKNOWN),
        drops(&bed, "bilbo", NOT_MEMBER),
    );
    send_udp(&frodo.ns, &vtep, "0800"); // short header
    send_udp(&frodo.ns, &vtep, &format!("0000000000138800{inner}")); // I flag missing
    send_udp(&frodo.ns, &vtep, &format!("0800000000177000{inner}")); // VNI 6000: no local member
    // VNI 5000 from the supervisor's address: not a VTEP of the bridge-domain.
    send_udp(&bed.fabric.supervisor, &vtep, &format!("0800000000138800{inner}"));
    bed.wait_until("the bad datagrams counted", Duration::from_secs(5), |bed| {
        (drops(bed, "bilbo", MALFORMED), drops(bed, "bilbo", VNI_UNKNOWN), drops(bed, "bilbo", NOT_MEMBER))
            == (before.0 + 2, before.1 + 1, before.2 + 1)
    });
    let shown = bed.vemcmd("bilbo", "show drops");
    assert!(shown.contains(MALFORMED) && shown.contains(NOT_MEMBER), "{shown}");
    // Still forwarding after all that.
    assert!(red1.reaches(&red2, Duration::from_secs(5)));
}

#[test]
fn a_vtep_that_is_not_the_hosts_is_a_startup_error() {
    if skip_unless_root() {
        return;
    }
    let bed = FabricBed::start(&[("bilbo", 0)], CONFIG);
    let bilbo = bed.fabric.host("bilbo");
    let dir = bed.agent_dir("bilbo");
    let out = Command::new("timeout")
        .args(["20", "ip", "netns", "exec", &bilbo.ns.name])
        .arg(common::exe())
        .args(["agent", "--supervisor", &bed.url, "--host-name", "bilbo", "--data-dir", &dir])
        .args(["--vtep", "10.99.99.99"])
        .output()
        .unwrap();
    let text = lossy(&out.stderr);
    assert!(!out.status.success() && out.status.code() != Some(124), "the agent started: {text}");
    assert!(
        text.contains("--vtep 10.99.99.99 is not an address of this host")
            && text.contains(&format!("{} on ul0", bilbo.vtep)),
        "{text}"
    );
}
