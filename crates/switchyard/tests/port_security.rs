//! Port security and anti-spoofing, end to end and as an attacker would try: one container
//! floods the MAC table, poisons a neighbour's ARP cache, spoofs a neighbour's IP address, runs a
//! rogue DHCP server. Real supervisor and agent processes, containers attached with `switchyard
//! attach` into namespaces the test makes, frames crafted with raw sockets inside them, a real
//! busybox `udhcpd`/`udhcpc`. Each attack is tried once without the protection (it works: the
//! test can tell) and once with it (it does not).
//! Needs root (CI runs as root); without it the tests say so loudly and do nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::containers::{Container, HOST, vemcmd};
use common::{Testbed, skip_unless_root, stderr, stdout};
use switchyard::netns::lossy;

const PROFILES: &str = "\
configure terminal
vlan 100
port-profile type vethernet open
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
port-profile type vethernet guarded
  switchport mode access
  switchport access vlan 100
  ip verify source
  ip arp inspection
  no shutdown
  state enabled
port-profile type vethernet stormy
  switchport mode access
  switchport access vlan 100
  storm-control broadcast level pps 100
  no shutdown
  state enabled
port-profile type vethernet secure
  switchport mode access
  switchport access vlan 100
  switchport port-security
  switchport port-security maximum 1
  switchport port-security violation shutdown
  no shutdown
  state enabled
end
";

fn testbed() -> Testbed {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], PROFILES);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    bed.start_agent(HOST);
    bed
}

fn attach(bed: &Testbed, name: &str, profile: &str, ip: Option<&str>) -> Container {
    let container = common::containers::attach(bed, name, profile, ip);
    container.ns.disable_ipv6().unwrap();
    container
}

/// Python: a raw socket on eth0 and `mac(text)`; frames are built by hand.
const RAW: &str = r#"
import os, socket, struct, random, time, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
mac = lambda text: bytes.fromhex(text.replace(":", ""))
def frame(src, dst, ethertype=0x88b5, payload=b"switchyard-test"):
    return dst + src + struct.pack("!H", ethertype) + payload.ljust(46, b"\0")
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16: total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff
def udp4(src_mac, dst_mac, src_ip, dst_ip, port, payload=b"spoofed"):
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return frame(src_mac, dst_mac, 0x0800, header + udp)
def arp_reply(sender_mac, sender_ip, target_mac, target_ip):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, sender_mac, socket.inet_aton(sender_ip),
                       target_mac, socket.inet_aton(target_ip))
    return frame(sender_mac, target_mac, 0x0806, body)
"#;

/// Counts, for `seconds`, frames arriving on eth0 for `dst` with the test's ethertype.
fn sniff(container: &Container, dst: &str, seconds: u32) -> std::process::Child {
    let program = format!(
        "{RAW}\nend = time.time() + {seconds}\ncount = 0\ns.settimeout(0.2)\n\
         while time.time() < end:\n    try: f = s.recv(2048)\n    except socket.timeout: continue\n    \
         if f[:6] == mac('{dst}') and f[12:14] == b'\\x88\\xb5': count += 1\nprint(count)\n"
    );
    container.ns.spawn_output(&["timeout", "60", "python3", "-c", &program]).unwrap()
}

fn sniffed(sniffer: std::process::Child) -> u64 {
    let out = sniffer.wait_with_output().unwrap();
    lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("sniffer said {:?}", lossy(&out.stderr)))
}

/// The flood of the issue: 200,000 random source MACs from one container, then frames from a
/// neighbour's second MAC (which must still be learned) sent to it by a third container. With a
/// full host table they would be flooded to the attacker; with per-port limits they are not.
#[test]
fn a_mac_flood_fills_only_the_attacker_s_share_of_the_table() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let attacker = attach(&bed, "at", "open", Some("10.99.2.1"));
    let neighbour = attach(&bed, "nb", "open", Some("10.99.2.2"));
    let client = attach(&bed, "cl", "open", Some("10.99.2.3"));
    attacker.python(&format!(
        "{RAW}\nrandom.seed(11)\nfor _ in range(200000):\n    \
         src = bytes([0x02] + [random.randrange(256) for _ in range(5)])\n    \
         s.send(frame(src, mac('02:ff:ff:ff:ff:fe')))\n"
    ));
    let second = "02:aa:00:00:00:02";
    neighbour.python(&format!("{RAW}\nfor _ in range(3): s.send(frame(mac('{second}'), b'\\xff' * 6))\n"));
    let (at_attacker, at_neighbour) = (sniff(&attacker, second, 3), sniff(&neighbour, second, 3));
    std::thread::sleep(Duration::from_millis(500));
    client.python(&format!(
        "{RAW}\nfor _ in range(20): s.send(frame(mac('{}'), mac('{second}')))\n",
        client.mac()
    ));
    assert_eq!(sniffed(at_neighbour), 20, "the neighbour gets its frames\n{}", vemcmd(&bed, "show drops"));
    assert_eq!(sniffed(at_attacker), 0, "the attacker overheard its neighbour's frames");
    assert!(client.ns.ping(&neighbour.ip, 2), "{}", bed.logs());
}

/// A broadcast storm from one container: with `storm-control broadcast level pps 100` its
/// neighbours get about a hundred a second (and one second's burst), not all of them.
#[test]
fn storm_control_bounds_a_broadcast_storm() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let storm = attach(&bed, "st", "stormy", Some("10.99.8.1"));
    let neighbour = attach(&bed, "sn", "open", Some("10.99.8.2"));
    let counting = sniff(&neighbour, "ff:ff:ff:ff:ff:ff", 4);
    std::thread::sleep(Duration::from_millis(500));
    // Up to 20,000 broadcasts in at most two seconds; how long it took decides what may pass:
    // one second's burst (100) and 100 a second after, a little slack for the clocks.
    let said = storm.python(&format!(
        "{RAW}\nsrc = mac('{}')\nstart = time.time()\nend = start + 2\nsent = 0\n\
         while sent < 20000 and time.time() < end:\n    s.send(frame(src, b'\\xff' * 6)); sent += 1\n\
         print(sent, time.time() - start)\n",
        storm.mac()
    ));
    let mut said = said.split_whitespace();
    let sent: u64 = said.next().and_then(|n| n.parse().ok()).unwrap();
    let seconds: f64 = said.next().and_then(|n| n.parse().ok()).unwrap();
    let delivered = sniffed(counting);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let most = 100 + (100.0 * (seconds + 0.5)) as u64;
    assert!(sent > 2 * most, "the storm ({sent} in {seconds:.2} s) was too slow to test the limit");
    assert!(
        (100..=most).contains(&delivered),
        "{delivered} of {sent} broadcasts sent in {seconds:.2} s reached the neighbour (at most {most})"
    );
    let drops = vemcmd(&bed, "show drops");
    assert!(drops.contains("storm control: broadcast rate exceeded"), "{drops}");
    assert!(storm.ns.ping(&neighbour.ip, 2), "unicast is not limited\n{}", bed.logs());
}

/// `violation shutdown`: the second source MAC error-disables the port, the supervisor logs it
/// in NX-OS words, and `shutdown` / `no shutdown` on the vEthernet brings it back.
#[test]
fn a_port_security_violation_error_disables_the_port_until_it_is_recovered() {
    if skip_unless_root() {
        return;
    }
    let mut bed = testbed();
    let intruder = attach(&bed, "in", "secure", Some("10.99.3.1"));
    let peer = attach(&bed, "pe", "open", Some("10.99.3.2"));
    assert!(intruder.ns.ping(&peer.ip, 2), "its own MAC is secure\n{}", bed.logs());
    intruder.python(&format!(
        "{RAW}\nfor i in range(3): s.send(frame(mac('02:bb:00:00:00:0%d' % i), b'\\xff' * 6))\n"
    ));
    let veth = intruder.veth;
    bed.wait_until("the violation logged", Duration::from_secs(20), |bed| {
        bed.show("show logging logfile").contains(&format!(
            "%ETHPORT-2-IF_DOWN_ERROR_DISABLED: Interface Vethernet{veth} is down (Error disabled. Reason:Port Security violation)"
        ))
    });
    assert!(!intruder.ns.ping(&peer.ip, 1), "an error-disabled port forwards nothing");
    bed.wait_until("show port-security says err-disabled", Duration::from_secs(20), |bed| {
        let shown = bed.show("show port-security");
        shown
            .lines()
            .any(|line| line.starts_with(&format!("Vethernet{veth} ")) && line.ends_with("(err-disabled)"))
    });
    let out = bed.shell(
        &[],
        &format!("configure terminal\ninterface vethernet {veth}\n  shutdown\n  no shutdown\nend\n"),
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    bed.wait_until("the port recovered", Duration::from_secs(20), |_| intruder.ns.ping(&peer.ip, 1));
}

/// ARP poisoning: the attacker tells the client that the victim's address is at its MAC.
fn poison(attacker: &Container, client: &Container, victim: &Container) -> bool {
    assert!(client.ns.ping(&victim.ip, 1), "the client knows the victim first");
    let program = format!(
        "{RAW}\nfor _ in range(8):\n    s.send(arp_reply(mac('{}'), '{}', mac('{}'), '{}'))\n    time.sleep(0.3)\n",
        attacker.mac(),
        victim.ip,
        client.mac(),
        client.ip
    );
    attacker.python(&program);
    let neighbours = client.ns.exec_ok(&["ip", "neigh", "show", &victim.ip]).unwrap();
    neighbours.contains(&attacker.mac())
}

#[test]
fn arp_poisoning_works_on_an_open_port_and_not_under_arp_inspection() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let client = attach(&bed, "cl", "open", Some("10.99.4.1"));
    let victim = attach(&bed, "vi", "open", Some("10.99.4.2"));
    let open = attach(&bed, "ao", "open", Some("10.99.4.3"));
    let guarded = attach(&bed, "ag", "guarded", Some("10.99.4.4"));
    assert!(poison(&open, &client, &victim), "control: poisoning from an open port works");
    client.ns.exec_ok(&["ip", "neigh", "flush", "all"]).unwrap();
    assert!(!poison(&guarded, &client, &victim), "ARP inspection let a poisoned reply through");
    assert!(guarded.ns.ping(&client.ip, 2), "its own ARP passes inspection\n{}", bed.logs());
}

/// UDP from `attacker` claiming `victim`'s address, to `client`: how many of 10 arrive.
fn spoofed_delivered(attacker: &Container, client: &Container, victim: &Container) -> u64 {
    let listener = client
        .ns
        .spawn_output(&[
            "timeout",
            "10",
            "python3",
            "-c",
            "import socket, time\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             u.bind(('0.0.0.0', 9999))\nu.settimeout(3)\nn = 0\ntry:\n    \
             while True: u.recv(100); n += 1\nexcept socket.timeout: pass\nprint(n)\n",
        ])
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(attacker.ns.ping(&client.ip, 1), "the attacker resolves the client first");
    let program = format!(
        "{RAW}\nfor _ in range(10): s.send(udp4(mac('{}'), mac('{}'), '{}', '{}', 9999))\n",
        attacker.mac(),
        client.mac(),
        victim.ip,
        client.ip
    );
    attacker.python(&program);
    sniffed(listener)
}

#[test]
fn ip_spoofing_works_on_an_open_port_and_not_under_ip_source_guard() {
    if skip_unless_root() {
        return;
    }
    let bed = testbed();
    let client = attach(&bed, "cl", "open", Some("10.99.5.1"));
    let victim = attach(&bed, "vi", "open", Some("10.99.5.2"));
    let open = attach(&bed, "so", "open", Some("10.99.5.3"));
    let guarded = attach(&bed, "sg", "guarded", Some("10.99.5.4"));
    assert_eq!(spoofed_delivered(&open, &client, &victim), 10, "control: spoofing from an open port works");
    assert_eq!(
        spoofed_delivered(&guarded, &client, &victim),
        0,
        "IP source guard let spoofed packets through"
    );
    assert!(guarded.ns.ping(&client.ip, 2), "its own address passes\n{}", bed.logs());
    let drops = vemcmd(&bed, "show drops");
    assert!(drops.contains("source IP address not bound to the port"), "{drops}");
}

const DHCP_PROFILES: &str = "\
configure terminal
vlan 100
ip dhcp snooping
port-profile type vethernet dhcp-server
  switchport mode access
  switchport access vlan 100
  ip dhcp snooping trust
  no shutdown
  state enabled
port-profile type vethernet dhcp-clients
  switchport mode access
  switchport access vlan 100
  ip verify source
  no shutdown
  state enabled
end
";

/// A busybox `udhcpd` in `container` handing out `first`…`last`.
fn dhcp_server(container: &Container, first: &str, last: &str) -> std::process::Child {
    let dir = std::env::temp_dir().join(format!("sy-udhcpd-{}-{}", std::process::id(), container.ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    let leases = dir.join("leases");
    std::fs::write(&leases, b"").unwrap();
    let conf = dir.join("udhcpd.conf");
    std::fs::write(
        &conf,
        format!(
            "start {first}\nend {last}\ninterface eth0\nlease_file {}\noption subnet 255.255.255.0\noption lease 600\n",
            leases.display()
        ),
    )
    .unwrap();
    container.ns.spawn(&["busybox", "udhcpd", "-f", &conf.display().to_string()]).unwrap()
}

/// Runs busybox `udhcpc` in `container` and returns the address it configured.
fn dhcp_client(container: &Container) -> String {
    let script = std::env::temp_dir().join(format!("sy-udhcpc-{}.sh", std::process::id()));
    std::fs::write(
        &script,
        "#!/bin/sh\n[ \"$1\" = bound ] && ip addr add \"$ip/$mask\" dev \"$interface\"\nexit 0\n",
    )
    .unwrap();
    Command::new("chmod").args(["+x", &script.display().to_string()]).status().unwrap();
    let out = container
        .ns
        .exec(&[
            "timeout",
            "20",
            "busybox",
            "udhcpc",
            "-i",
            "eth0",
            "-n",
            "-q",
            "-t",
            "5",
            "-s",
            &script.display().to_string(),
        ])
        .unwrap();
    assert!(out.status.success(), "udhcpc: {}{}", lossy(&out.stdout), lossy(&out.stderr));
    let shown = container.ns.exec_ok(&["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).unwrap();
    shown
        .split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|prefix| prefix.split('/').next())
        .unwrap_or_else(|| panic!("no address after udhcpc: {shown}"))
        .to_owned()
}

#[test]
fn dhcp_snooping_drops_rogue_servers_and_binds_what_the_trusted_one_hands_out() {
    if skip_unless_root() {
        return;
    }
    let mut bed = Testbed::start();
    let out = bed.shell(&[], DHCP_PROFILES);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    bed.start_agent(HOST);
    let server = attach(&bed, "ds", "dhcp-server", Some("10.99.6.1"));
    let rogue = attach(&bed, "dr", "dhcp-clients", Some("10.99.6.2"));
    let client = attach(&bed, "dc", "dhcp-clients", None);
    let mut daemons = [
        dhcp_server(&server, "10.99.6.100", "10.99.6.110"),
        dhcp_server(&rogue, "10.99.6.200", "10.99.6.210"),
    ];
    let leased = dhcp_client(&client);
    for daemon in &mut daemons {
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
    assert!(leased.starts_with("10.99.6.1"), "the client took {leased}, not the trusted server's range");
    assert!(client.ns.ping(&server.ip, 2), "source guard passes the snooped address\n{}", bed.logs());
    let mac = client.mac();
    bed.wait_until("the binding at the supervisor", Duration::from_secs(20), |bed| {
        let shown = bed.show("show ip dhcp snooping binding");
        shown.contains(&leased) && shown.to_ascii_lowercase().contains(&mac)
    });
    let drops = vemcmd(&bed, "show drops");
    assert!(drops.contains("DHCP"), "the rogue server's offers are counted\n{drops}");
}
