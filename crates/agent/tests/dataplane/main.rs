//! The dataplane on real interfaces, as root: containers (network namespaces with `eth0`) on veth
//! pairs whose host ends the dataplane thread switches inside a host namespace.
//!
//! `cargo test -p switchyard-agent --test dataplane -- --nocapture` (prints the TCP throughput);
//! `--release -- --ignored --nocapture` also compares with a Linux bridge through iperf3.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod batch;
mod lab;

use std::hash::{DefaultHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agent::dataplane::{AfPacketPort, Dataplane, DataplaneError, DataplaneOptions, DeviceCounters};
use datapath::io::PortIo;
use datapath::{DropReason, MacKind, PortConfig, PortId, Segment, TxView};
use futures::executor::block_on;
use lab::{Container, Lab, eventually, is_root};

/// Starts a dataplane inside the lab's host namespace.
fn start(lab: &Lab) -> Dataplane {
    start_in(&lab.host)
}

/// Starts a dataplane inside host namespace `host`.
/// Containers 1 and 2 attached to a fresh dataplane as ports 1 and 2, both on VLAN 100.
fn two_on_vlan_100(lab: &mut Lab) -> (Container, Container, Dataplane) {
    let (c1, c2) = (lab.container(1), lab.container(2));
    let dataplane = start(lab);
    attach(&dataplane, &c1, 1, 100);
    attach(&dataplane, &c2, 2, 100);
    (c1, c2, dataplane)
}

fn start_in(host: &str) -> Dataplane {
    let options = DataplaneOptions { netns: Some(lab::netns_path(host)), ..DataplaneOptions::default() };
    Dataplane::spawn(options).expect("dataplane starts")
}

/// Port number of container `n`: vEthernet n, LTL 48 + n.
fn port_of(n: u8) -> PortId {
    PortId(48 + u32::from(n))
}

/// Attaches container `n` as an access port on `vlan`.
fn attach(dataplane: &Dataplane, container: &Container, n: u8, vlan: u16) {
    let config =
        PortConfig::access(port_of(n), format!("Veth{n}"), Segment::Vlan(vlan), format!("vlan{vlan}"))
            .with_attached_mac(container.mac);
    block_on(dataplane.add_port(&container.host_end, config)).expect("port added");
}

fn device(dataplane: &Dataplane, port: PortId) -> DeviceCounters {
    let devices = block_on(dataplane.devices()).expect("devices");
    devices.into_iter().find(|device| device.port == port).expect("device of the port").counters
}

#[test]
fn containers_on_one_vlan_ping_each_other() {
    if !is_root("containers_on_one_vlan_ping_each_other") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2, dataplane) = two_on_vlan_100(&mut lab);

    assert!(c1.pings(c2.ip, 3), "c1 cannot ping c2 through the switch");
    assert!(c2.pings(c1.ip, 1), "c2 cannot ping c1 through the switch");

    let stats = block_on(dataplane.port_stats(port_of(1))).expect("stats").expect("port 1 configured");
    assert!(stats.rx.packets >= 4 && stats.tx.packets >= 4, "{stats:?}");
    assert!(stats.rx.broadcast >= 1, "the ARP request was a broadcast: {stats:?}");
    let macs = block_on(dataplane.mac_table()).expect("mac table");
    for (container, n) in [(&c1, 1), (&c2, 2)] {
        assert!(
            macs.iter().any(|row| row.mac == container.mac
                && row.port == port_of(n)
                && row.kind == MacKind::Static
                && row.segment == Segment::Vlan(100)),
            "{macs:?}"
        );
    }
    let arp = arp_request(c1.mac, c1.ip.octets(), c2.ip.octets());
    let trace = block_on(dataplane.trace(port_of(1), arp)).expect("trace").join("\n");
    assert!(trace.contains("ingress Veth1 (LTL 49) access vlan 100"), "{trace}");
    assert!(trace.contains("egress Veth2 (LTL 50) untagged"), "{trace}");
}

#[test]
fn vlans_are_isolated() {
    if !is_root("vlans_are_isolated") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2, c3) = (lab.container(1), lab.container(2), lab.container(3));
    let dataplane = start(&lab);
    attach(&dataplane, &c1, 1, 100);
    attach(&dataplane, &c2, 2, 200);
    attach(&dataplane, &c3, 3, 100);

    assert!(c1.pings(c3.ip, 2), "c1 and c3 share VLAN 100");
    assert!(!c1.pings(c2.ip, 2), "c1 (VLAN 100) reached c2 (VLAN 200)");
    assert!(!c3.pings(c2.ip, 1), "c3 (VLAN 100) reached c2 (VLAN 200)");

    // Not one frame was delivered to c2: the switch sent it nothing, its eth0 received nothing.
    let c2_stats = block_on(dataplane.port_stats(port_of(2))).expect("stats").expect("configured");
    assert_eq!(c2_stats.tx.packets, 0, "{c2_stats:?}");
    assert_eq!(c2.eth0_rx_packets(), 0);
    // c1's broadcasts (ARP for c2) flooded to c3 only.
    let c3_stats = block_on(dataplane.port_stats(port_of(3))).expect("stats").expect("configured");
    assert!(c3_stats.tx.broadcast >= 1, "{c3_stats:?}");

    // Moving c2 to VLAN 100 lets it in: isolation was the VLANs, not a broken port.
    let mut config = PortConfig::access(port_of(2), "Veth2", Segment::Vlan(100), "vlan100");
    config.attached_mac = Some(c2.mac);
    block_on(dataplane.remove_port(port_of(2))).expect("removed");
    block_on(dataplane.add_port(&c2.host_end, config)).expect("re-added");
    // c1's kernel remembers that c2 did not answer ARP; make it ask again.
    c1.exec("ip", &["neigh", "flush", "dev", "eth0"]);
    assert!(c1.pings(c2.ip, 2), "c2 moved to VLAN 100 and is still unreachable");
}

#[test]
fn ports_come_and_go_while_the_switch_runs() {
    if !is_root("ports_come_and_go_while_the_switch_runs") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2, c3) = (lab.container(1), lab.container(2), lab.container(3));
    let dataplane = start(&lab);
    attach(&dataplane, &c1, 1, 100);
    attach(&dataplane, &c2, 2, 100);
    attach(&dataplane, &c3, 3, 100);

    // One interface serves one port; numbers are unique.
    let again = PortConfig::access(PortId(60), "Veth12", Segment::Vlan(100), "vlan100");
    let error = block_on(dataplane.add_port(&c1.host_end, again)).expect_err("interface in use");
    assert!(matches!(error, DataplaneError::InterfaceInUse { port, .. } if port == port_of(1)), "{error}");
    let twice = PortConfig::access(port_of(2), "Veth2", Segment::Vlan(100), "vlan100");
    let error = block_on(dataplane.add_port(&c3.host_end, twice)).expect_err("port exists");
    assert!(matches!(error, DataplaneError::PortExists(port) if port == port_of(2)), "{error}");
    let error =
        block_on(dataplane.add_port("nosuch0", PortConfig::access(PortId(61), "x", Segment::Vlan(1), "p")))
            .expect_err("no interface");
    assert!(error.to_string().contains("nosuch0"), "{error}");

    // c2's namespace disappears without a detach: its interfaces go with it. The switch keeps
    // switching for the others and counts what it can no longer deliver.
    lab::run("ip", &["netns", "del", &c2.netns]);
    c1.exec("ip", &["neigh", "flush", "dev", "eth0"]);
    assert!(c1.pings(c3.ip, 2), "the switch stopped when an interface vanished");
    assert!(!c1.pings(c2.ip, 1));
    let gone = device(&dataplane, port_of(2));
    assert!(gone.tx_link_down > 0, "{gone:?}");
    block_on(dataplane.remove_port(port_of(2))).expect("removed");
    let error = block_on(dataplane.remove_port(port_of(2))).expect_err("already removed");
    assert!(matches!(error, DataplaneError::NoSuchPort(_)), "{error}");
    assert_eq!(block_on(dataplane.port_stats(port_of(2))).expect("stats"), None);
    assert!(c3.pings(c1.ip, 1));
}

#[test]
fn tcp_50_mib_with_veth_offloads_on() {
    if !is_root("tcp_50_mib_with_veth_offloads_on") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2) = (lab.container(1), lab.container(2));
    if lab::succeeds("ethtool", &["--version"]) {
        let features = c1.exec("ethtool", &["-k", "eth0"]);
        assert!(features.contains("tcp-segmentation-offload: on"), "veth defaults changed? {features}");
        assert!(features.contains("tx-checksumming: on"), "veth defaults changed? {features}");
    }
    let dataplane = start(&lab);
    attach(&dataplane, &c1, 1, 100);
    attach(&dataplane, &c2, 2, 100);

    let (gbits, _) = transfer(&c1, &c2, 50 << 20);
    println!("TCP through switchyard (this build): 50 MiB at {gbits:.2} Gbit/s");

    // The offloads were really in play: segments arrived whole with partial checksums.
    let c1_device = device(&dataplane, port_of(1));
    assert!(c1_device.rx_gso > 0 && c1_device.rx_partial_checksum > 0, "{c1_device:?}");
}

#[test]
fn tcp_crosses_a_trunk_between_two_switches() {
    if !is_root("tcp_crosses_a_trunk_between_two_switches") {
        return;
    }
    // c1 — switch A ══ trunk (VLAN 100 tagged) ══ switch B — c2: every frame gets a tag pushed
    // on A, taken off by B's kernel and restored by B's port, popped on B, offloads carried.
    let mut lab = Lab::new();
    let other = lab.add_host("hostb");
    let c1 = lab.container(1);
    let c2 = lab.container_in(&other, 2);
    let c3 = lab.container_in(&other, 3);
    lab.connect_hosts(&lab.host, &other, "ul0");
    let (a, b) = (start(&lab), start_in(&other));
    let uplink = PortId(17);
    for switch in [&a, &b] {
        let trunk = PortConfig::trunk(uplink, "Eth3/1", [100, 200].into_iter().collect(), 1, "uplink");
        block_on(switch.add_port("ul0", trunk)).expect("uplink added");
    }
    attach(&a, &c1, 1, 100);
    attach(&b, &c2, 2, 100);
    attach(&b, &c3, 3, 200);

    assert!(c1.pings(c2.ip, 2), "c1 cannot reach c2 across the trunk");
    let (gbits, _) = transfer(&c1, &c2, 50 << 20);
    println!("TCP across two switchyard switches and a trunk (this build): 50 MiB at {gbits:.2} Gbit/s");
    assert!(device(&b, uplink).rx_tags_restored > 0, "B's uplink saw no tag");
    assert!(device(&a, uplink).rx_tags_restored > 0, "A's uplink saw no tag");
    // VLAN 200 is carried by the trunk but nobody in VLAN 100 reaches c3.
    assert!(!c1.pings(c3.ip, 1));
    assert_eq!(c3.eth0_rx_packets(), 0);
}

/// Sends `total` pseudo-random bytes over TCP from `from` to `to`, checks they arrive intact
/// (length and hash), and returns the throughput in Gbit/s and the elapsed time. A stall of
/// more than 20 s fails the transfer.
fn transfer(from: &Container, to: &Container, total: usize) -> (f64, Duration) {
    const CHUNK: usize = 64 << 10;
    const STALL: Option<Duration> = Some(Duration::from_secs(20));
    let server_address = SocketAddr::from((to.ip, 5001));
    let (bound, ready) = mpsc::channel();
    let server = to.spawn(move || -> io::Result<(usize, u64)> {
        let listener = TcpListener::bind(server_address)?;
        let _ = bound.send(());
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(STALL)?;
        let mut hasher = DefaultHasher::new();
        let mut buffer = vec![0u8; CHUNK];
        let mut received = 0usize;
        loop {
            let read = stream.read(&mut buffer)?;
            if read == 0 {
                return Ok((received, hasher.finish()));
            }
            hasher.write(&buffer[..read]);
            received += read;
        }
    });
    ready.recv().expect("server bound");
    let started = Instant::now();
    let client = from.spawn(move || -> io::Result<u64> {
        let mut stream = TcpStream::connect_timeout(&server_address, Duration::from_secs(5))?;
        stream.set_write_timeout(STALL)?;
        let mut hasher = DefaultHasher::new();
        let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
        let mut chunk = vec![0u8; CHUNK];
        let mut sent = 0;
        while sent < total {
            for word in chunk.chunks_exact_mut(8) {
                word.copy_from_slice(&noise.next().to_ne_bytes());
            }
            let len = CHUNK.min(total - sent);
            stream.write_all(&chunk[..len])?;
            hasher.write(&chunk[..len]);
            sent += len;
        }
        stream.shutdown(Shutdown::Write)?;
        Ok(hasher.finish())
    });
    let sent_hash = client.join().expect("client thread").expect("client sends");
    let (received, received_hash) = server.join().expect("server thread").expect("server receives");
    let elapsed = started.elapsed();
    assert_eq!(received, total, "bytes lost or added");
    assert_eq!(received_hash, sent_hash, "bytes corrupted");
    ((total * 8) as f64 / elapsed.as_secs_f64() / 1e9, elapsed)
}

/// Deterministic pseudo-random bytes (xorshift64).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

fn ethernet(dst: [u8; 6], src: [u8; 6], rest: &[u8]) -> Vec<u8> {
    [&dst[..], &src[..], rest].concat()
}

fn arp_request(src: wire::MacAddr, sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut body = vec![0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1];
    body.extend_from_slice(&src.0);
    body.extend_from_slice(&sender);
    body.extend_from_slice(&[0; 6]);
    body.extend_from_slice(&target);
    body.resize(60 - 12, 0);
    ethernet([0xff; 6], src.0, &body)
}

#[test]
fn garbage_frames_are_counted_as_drops_and_never_stop_the_switch() {
    if !is_root("garbage_frames_are_counted_as_drops_and_never_stop_the_switch") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2) = (lab.container(1), lab.container(2));
    lab.set_mtu(&c1, 9000); // so c1 can send 9000-byte frames; c2 stays at 1500
    let dataplane = start(&lab);
    attach(&dataplane, &c1, 1, 100);
    attach(&dataplane, &c2, 2, 100);
    assert!(c1.pings(c2.ip, 1));

    let mut noise = Noise(0x5eed);
    let stranger = [0x02, 0x66, 0, 0, 0, 1];
    let ipv4 = |noise: &mut Noise, len: usize| [&[0x08, 0x00][..], &noise.bytes(len)].concat();
    let mut frames: Vec<(Vec<u8>, Option<DropReason>)> = Vec::new();
    // Random bytes from a multicast source address.
    for _ in 0..100 {
        let len = 14 + noise.below(1500 - 14);
        let mut frame = noise.bytes(len);
        frame[6] |= 1;
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        frames.push((frame, Some(DropReason::SourceMacInvalid)));
    }
    // Tagged frames on an access port (the kernel strips the tag; the port must restore it).
    let tagged = [
        (100u16, DropReason::TaggedOnAccess),
        (200, DropReason::TaggedOnAccess),
        (4095, DropReason::Malformed),
    ];
    for (vid, reason) in tagged {
        for _ in 0..10 {
            let tag = [0x81, 0x00, (vid >> 8) as u8, vid as u8];
            let frame = ethernet([0xff; 6], stranger, &[&tag[..], &ipv4(&mut noise, 50)].concat());
            frames.push((frame, Some(reason)));
        }
    }
    // Truncated tags: 802.1Q announced, then too few bytes for it. The receiving kernel
    // discards these itself (it cannot take the tag off) before any socket hears them.
    for len in 0..4 {
        let frame = ethernet([0xff; 6], stranger, &[&[0x81, 0x00][..], &noise.bytes(len)].concat());
        frames.push((frame, None));
    }
    // c2's MAC from c1's port.
    for _ in 0..10 {
        let frame = ethernet([0xff; 6], c2.mac.0, &ipv4(&mut noise, 50));
        frames.push((frame, Some(DropReason::SourceMacStatic)));
    }
    // 9000-byte broadcasts: switched to c2, whose link cannot take them.
    for _ in 0..10 {
        let frame = ethernet([0xff; 6], stranger, &ipv4(&mut noise, 9000 - 14));
        frames.push((frame, Some(DropReason::TxQueueFull)));
    }
    // Shorter than an Ethernet header: the kernel refuses to send them at all.
    for len in 1..14 {
        frames.push((noise.bytes(len), None));
    }
    let expected = |reason| frames.iter().filter(|(_, expected)| *expected == Some(reason)).count() as u64;
    let reasons = [
        DropReason::SourceMacInvalid,
        DropReason::TaggedOnAccess,
        DropReason::Malformed,
        DropReason::SourceMacStatic,
        DropReason::TxQueueFull,
    ];
    let wanted: Vec<(DropReason, u64)> = reasons.iter().map(|&reason| (reason, expected(reason))).collect();
    let injected = inject(&c1, frames.into_iter().map(|(frame, _)| frame).collect());
    assert_eq!(injected.tx_rejected, 13, "runts must be refused by the kernel: {injected:?}");

    let counted = || {
        let drops = block_on(dataplane.drops()).expect("drops");
        wanted.iter().map(|&(reason, _)| (reason, drops.datapath.get(reason))).collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(5), || counted() == wanted);
    assert_eq!(counted(), wanted);
    let c1_drops = block_on(dataplane.port_stats(port_of(1))).expect("stats").expect("configured").drops;
    assert_eq!(c1_drops.get(DropReason::TaggedOnAccess), 20);
    assert_eq!(device(&dataplane, port_of(1)).rx_tags_restored, 30);
    assert_eq!(device(&dataplane, port_of(2)).tx_rejected, 10, "jumbo frames refused by c2's link");

    // Then chaos: any bytes at all, tags and all. The switch survives and still switches.
    let chaos = (0..300).map(|_| {
        let len = 14 + noise.below(3000);
        noise.bytes(len)
    });
    inject(&c1, chaos.collect());
    assert!(c1.pings(c2.ip, 2), "the switch stopped switching after garbage");
    assert!(
        block_on(dataplane.drops()).expect("drops").datapath.total()
            > wanted.iter().map(|(_, count)| count).sum()
    );
}

/// Sends `frames` raw from `container`'s `eth0` and returns the sending device's counters.
fn inject(container: &Container, frames: Vec<Vec<u8>>) -> DeviceCounters {
    container
        .spawn(move || {
            let mut port = AfPacketPort::open("eth0").expect("open eth0");
            for frame in &frames {
                port.transmit(&TxView::from_bytes(PortId(0), frame)).expect("transmit");
                std::thread::sleep(Duration::from_micros(200)); // never outrun the switch's socket
            }
            port.counters()
        })
        .join()
        .expect("injector")
}

/// iperf3 through Switchyard and through a Linux bridge, same namespaces, same run.
/// `cargo test --release -p switchyard-agent --test dataplane -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn tcp_throughput_beside_a_linux_bridge() {
    if !is_root("tcp_throughput_beside_a_linux_bridge") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2) = (lab.container(1), lab.container(2));
    let (own, _) = {
        let dataplane = start(&lab);
        attach(&dataplane, &c1, 1, 100);
        attach(&dataplane, &c2, 2, 100);
        let ours = (0..3).map(|_| transfer(&c1, &c2, 1 << 30).0).collect::<Vec<_>>();
        println!("switchyard, 1 GiB Rust TCP transfers: {ours:.2?} Gbit/s");
        let iperf = iperf3(&c1, &c2);
        println!("switchyard, iperf3 -t 5: {iperf:.2} Gbit/s");
        (iperf, ours)
    };
    lab::run("ip", &["-n", &lab.host, "link", "add", "br0", "type", "bridge"]);
    for end in [&c1.host_end, &c2.host_end] {
        lab::run("ip", &["-n", &lab.host, "link", "set", end, "master", "br0"]);
    }
    lab::run("ip", &["-n", &lab.host, "link", "set", "br0", "up"]);
    let bridge = iperf3(&c1, &c2);
    println!("linux bridge, iperf3 -t 5: {bridge:.2} Gbit/s");
    println!("switchyard / bridge: {:.0}%", own / bridge * 100.0);
}

/// Gbit/s of a 5-second iperf3 TCP run from `from` to `to`.
fn iperf3(from: &Container, to: &Container) -> f64 {
    let server = std::process::Command::new("ip")
        .args(["netns", "exec", &to.netns, "iperf3", "-s", "-1", "-p", "5201"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("iperf3 installed");
    let mut server = ChildGuard(server);
    std::thread::sleep(Duration::from_millis(300));
    let report = from.exec("iperf3", &["-c", &to.ip.to_string(), "-p", "5201", "-t", "5", "-J"]);
    let _ = server.0.wait();
    let report: serde_json::Value = serde_json::from_str(&report).expect("iperf3 JSON");
    report["end"]["sum_received"]["bits_per_second"].as_f64().expect("bits_per_second") / 1e9
}

/// Kills a child process when dropped.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
