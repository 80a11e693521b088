//! Uplinks end to end, as root: an agent in this process with two uplinks (veth pairs) into a
//! "physical switch" network namespace holding a plain Linux bridge, and an agent-less "remote
//! host" namespace on that bridge that sends and receives 802.1Q-tagged frames through a raw
//! socket (the kernel here has no 802.1Q sub-interfaces). Containers on the agent answer ARP;
//! the remote host counts the answers, so a frame delivered twice shows as two replies.
//!
//! `cargo test -p switchyard-agent --test uplinks -- --nocapture` also prints the failover time.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod port_lab;

use std::fs::File;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use agent::dataplane::AfPacketPort;
use agent::uplinks::UplinkSpec;
use datapath::io::PortIo;
use datapath::{PortId, RxBatch, TxView};
use port_lab::{Container, Host, HostLink, Supervisor, bounded, eventually, report, require_root, unique};
use testbed::netns::Netns;
use wire::MacAddr;

const PROFILES: &str = "vlan 100,200,300\n\
port-profile type ethernet system-uplink\n  switchport mode trunk\n  switchport trunk allowed vlan 100,300\n  \
switchport trunk native vlan 300\n  channel-group auto mode on mac-pinning\n  no shutdown\n  state enabled\n\
port-profile type vethernet vlan100\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\n\
port-profile type vethernet vlan200\n  switchport mode access\n  switchport access vlan 200\n  no shutdown\n  state enabled\n\
port-profile type vethernet vlan300\n  switchport mode access\n  switchport access vlan 300\n  no shutdown\n  state enabled\n";

/// The remote host's MAC and its address in every VLAN's subnet (10.VLAN/100.0.99).
const REMOTE_MAC: MacAddr = MacAddr([0x02, 0x52, 0, 0, 0, 0x99]);

/// How long a frame that is not coming is waited for.
const SILENCE: Duration = Duration::from_millis(600);

/// The "physical switch" (a bridge in a namespace), the uplinks' host ends, and the remote host.
struct Fabric {
    switch: Netns,
    remote: Netns,
    /// Host ends, uplink 1 and 2.
    uplinks: [String; 2],
    /// Their peers on the bridge.
    peers: [String; 2],
    _links: Vec<HostLink>,
}

impl Fabric {
    fn new() -> Self {
        let switch = Netns::new("phys").unwrap();
        let remote = Netns::new("remote").unwrap();
        switch.disable_ipv6().unwrap();
        remote.disable_ipv6().unwrap();
        switch.ip(&["link", "add", "br0", "type", "bridge"]).unwrap();
        switch.ip(&["link", "set", "br0", "up"]).unwrap();
        let mut links = Vec::new();
        let mut uplinks = Vec::new();
        let mut peers = Vec::new();
        for k in 1..=2 {
            let host_end = unique(&format!("up{k}"));
            let peer = format!("sw{k}");
            port_lab::run(
                "ip",
                &["link", "add", &host_end, "type", "veth", "peer", "name", &peer, "netns", &switch.name],
            );
            links.push(HostLink(host_end.clone()));
            // The host's own stack stays off the trunk.
            let _ =
                port_lab::succeeds("sysctl", &["-qw", &format!("net.ipv6.conf.{host_end}.disable_ipv6=1")]);
            port_lab::run("ip", &["link", "set", &host_end, "up"]);
            switch.ip(&["link", "set", &peer, "master", "br0", "up"]).unwrap();
            uplinks.push(host_end);
            peers.push(peer);
        }
        switch
            .ip(&["link", "add", "swr", "type", "veth", "peer", "name", "eth0", "netns", &remote.name])
            .unwrap();
        switch.ip(&["link", "set", "swr", "master", "br0", "up"]).unwrap();
        remote.ip(&["link", "set", "eth0", "address", &REMOTE_MAC.colon().to_string(), "up"]).unwrap();
        Self {
            switch,
            remote,
            uplinks: [uplinks[0].clone(), uplinks[1].clone()],
            peers: [peers[0].clone(), peers[1].clone()],
            _links: links,
        }
    }

    fn specs(&self) -> Vec<UplinkSpec> {
        self.uplinks.iter().map(|iface| format!("{iface}=system-uplink").parse().unwrap()).collect()
    }
}

/// A raw socket on an interface of a namespace: what the remote host (or a tap on the
/// physical switch) sends and hears, tags included whether the kernel stripped them or not.
struct Wire {
    port: AfPacketPort,
    rx: RxBatch,
}

impl Wire {
    fn open(netns: &Netns, ifname: &str) -> Self {
        let path = format!("/run/netns/{}", netns.name);
        let ifname = ifname.to_owned();
        // The socket belongs to the namespace its thread was in when it was opened.
        let port = std::thread::spawn(move || {
            let namespace = File::open(&path).unwrap();
            nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            AfPacketPort::open(&ifname).unwrap()
        })
        .join()
        .unwrap();
        Self { port, rx: RxBatch::new(64, 2048) }
    }

    fn send(&mut self, frame: &[u8]) {
        self.port.transmit(&TxView::from_bytes(PortId(0), frame)).unwrap();
    }

    /// Every frame heard for `window` that `keep` accepts.
    fn hear(&mut self, window: Duration, mut keep: impl FnMut(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + window;
        let mut kept = Vec::new();
        while Instant::now() < deadline {
            self.rx.clear();
            let _ = self.port.receive(PortId(0), &mut self.rx).unwrap();
            for index in 0..self.rx.len() {
                let frame = self.rx.get(index).unwrap().bytes;
                if keep(frame) {
                    kept.push(frame.to_vec());
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        kept
    }

    /// Forgets what was heard so far.
    fn drain(&mut self) {
        let _ = self.hear(Duration::from_millis(20), |_| false);
    }
}

/// An Ethernet header from `src` to `dst`, tagged with `vlan` if given, then `ethertype`.
fn header(dst: MacAddr, src: MacAddr, vlan: Option<u16>, ethertype: u16) -> Vec<u8> {
    let mut frame = Vec::with_capacity(64);
    frame.extend_from_slice(dst.as_bytes());
    frame.extend_from_slice(src.as_bytes());
    if let Some(vlan) = vlan {
        frame.extend_from_slice(&[0x81, 0x00]);
        frame.extend_from_slice(&vlan.to_be_bytes());
    }
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame
}

/// The remote host asking, in `vlan` (untagged: `None`), who has `target`.
fn arp_request(vlan: Option<u16>, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = header(MacAddr::BROADCAST, REMOTE_MAC, vlan, 0x0806);
    frame.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(REMOTE_MAC.as_bytes());
    frame.extend_from_slice(&sender.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target.octets());
    frame.resize(frame.len().max(60), 0);
    frame
}

/// The frame's VLAN tag and the ethertype after it.
fn tag_and_type(frame: &[u8]) -> (Option<u16>, u16) {
    let word = |at: usize| frame.get(at..at + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    if word(12) == 0x8100 { (Some(word(14) & 0x0fff), word(16)) } else { (None, word(12)) }
}

/// ARP replies from `mac` to the remote host, with their tag.
fn replies_from(frames: &[Vec<u8>], mac: MacAddr) -> Vec<Option<u16>> {
    frames
        .iter()
        .filter(|frame| frame[..6] == *REMOTE_MAC.as_bytes() && frame[6..12] == *mac.as_bytes())
        .filter_map(|frame| {
            let (tag, ethertype) = tag_and_type(frame);
            (ethertype == 0x0806).then_some(tag)
        })
        .collect()
}

fn mac_of(text: &str) -> MacAddr {
    text.parse().unwrap()
}

struct Lab {
    supervisor: Supervisor,
    fabric: Fabric,
    host: Host,
    /// One container each on VLANs 100, 200 (not on the trunk) and 300 (the native VLAN).
    _containers: Vec<Container>,
    /// Their MACs, in the same order.
    macs: [MacAddr; 3],
}

async fn lab() -> Lab {
    require_root();
    let supervisor = Supervisor::start().await;
    let revision = supervisor.configure(PROFILES).await;
    let fabric = Fabric::new();
    let host = Host::start_with_uplinks(&supervisor, fabric.specs()).await;
    let mut containers = Vec::new();
    for vlan in [100u16, 200, 300] {
        let container = Container::new(&format!("10.{}.0.{}", vlan / 100, 10));
        host.attach(container.spec(&format!("vlan{vlan}"))).await.unwrap();
        containers.push(container);
    }
    let mut policies = host.agent().policies();
    tokio::time::timeout(Duration::from_secs(10), policies.wait_for(|s| s.revision >= revision))
        .await
        .expect("the profiles reached the agent");
    eventually("both uplinks forwarding", Duration::from_secs(5), || async {
        let view = host.ports().await;
        view.uplinks.len() == 2 && view.uplinks.iter().all(|uplink| uplink.forwarding)
    })
    .await;
    let view = host.ports().await;
    let macs = [100, 200, 300]
        .map(|vlan| mac_of(&view.ports.iter().find(|port| port.vlan == vlan).expect("a port per VLAN").mac));
    Lab { supervisor, fabric, host, _containers: containers, macs }
}

fn ip(vlan: u16, last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, (vlan / 100) as u8, 0, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_carries_allowed_vlans_tagged_and_the_native_vlan_untagged() {
    bounded(async {
        let lab = lab().await;
        let mut remote = Wire::open(&lab.fabric.remote, "eth0");
        let [mac100, mac200, mac300] = lab.macs;

        // VLAN 100 crosses tagged, exactly once although the bridge floods the request to both
        // uplinks.
        remote.drain();
        remote.send(&arp_request(Some(100), ip(100, 99), ip(100, 10)));
        let heard = remote.hear(SILENCE, |_| true);
        assert_eq!(replies_from(&heard, mac100), [Some(100)], "one tagged reply from VLAN 100");

        // The native VLAN (300) crosses untagged.
        remote.send(&arp_request(None, ip(300, 99), ip(300, 10)));
        let heard = remote.hear(SILENCE, |_| true);
        assert_eq!(replies_from(&heard, mac300), [None], "one untagged reply from the native VLAN");

        // VLAN 200 is not allowed on the trunk: dropped, counted on the uplinks.
        remote.send(&arp_request(Some(200), ip(200, 99), ip(200, 10)));
        let heard = remote.hear(SILENCE, |_| true);
        assert_eq!(replies_from(&heard, mac200), [], "VLAN 200 must not cross the trunk");
        let view = lab.host.ports().await;
        let refused: u64 = view
            .uplinks
            .iter()
            .flat_map(|uplink| &uplink.drops)
            .filter(|drop| drop.reason == "VLAN not allowed on port")
            .map(|drop| drop.count)
            .sum();
        assert!(refused >= 2, "the VLAN 200 request reached both uplinks and was counted: {view:?}");
        let drops = lab.host.vemcmd("show drops").await;
        assert!(
            drops.lines().any(|line| line.contains("Eth") && line.contains("VLAN not allowed")),
            "{drops}"
        );

        // vemcmd shows the uplinks as the VEM does.
        let ports = lab.host.vemcmd("show port").await;
        let module = lab.host.agent().status().borrow().module.expect("registered");
        for (k, iface) in lab.fabric.uplinks.iter().enumerate() {
            let row = format!(
                "{:>5} {:>10}     UP   UP    FWD       0 {:>5}  {iface}",
                17 + k,
                format!("Eth{module}/{}", k + 1),
                k
            );
            assert!(ports.contains(&row), "{row:?} missing from\n{ports}");
        }
        let vlans = lab.host.vemcmd("show port vlans").await;
        assert!(
            vlans.lines().any(|line| line.starts_with("   17")
                && line.contains(" T ")
                && line.contains("300")
                && line.ends_with("100,300")),
            "{vlans}"
        );
        let stats = lab.host.vemcmd("show stats").await;
        assert!(stats.lines().any(|line| line.trim_start().starts_with("17 ")), "{stats}");
        let pinning = lab.host.vemcmd("show pinning").await;
        for veth in view.ports.iter().filter(|port| port.vlan != 200) {
            assert!(pinning.contains(&format!("Veth{}", veth.veth)), "{pinning}");
        }
        drop(lab);
    })
    .await;
}

/// The uplink the vEthernet on `ltl` is pinned to, by index (1 or 2).
async fn pinned_index(host: &Host, ltl: u32) -> Option<u32> {
    let view = host.ports().await;
    view.uplinks
        .iter()
        .find(|uplink| uplink.pinned.iter().any(|(_, pinned)| *pinned == ltl))
        .map(|uplink| uplink.index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_uplinks_vethernets_move_within_a_second_and_are_announced() {
    bounded(async {
        let lab = lab().await;
        let [mac100, _, _] = lab.macs;
        let ltl100 = lab.host.ports().await.ports.iter().find(|port| port.vlan == 100).unwrap().ltl;
        let mut remote = Wire::open(&lab.fabric.remote, "eth0");
        let mut taps = [
            Wire::open(&lab.fabric.switch, &lab.fabric.peers[0]),
            Wire::open(&lab.fabric.switch, &lab.fabric.peers[1]),
        ];

        // The physical switch learns where VLAN 100's container is.
        remote.drain();
        remote.send(&arp_request(Some(100), ip(100, 99), ip(100, 10)));
        assert_eq!(replies_from(&remote.hear(SILENCE, |_| true), mac100), [Some(100)]);
        let old = pinned_index(&lab.host, ltl100).await.expect("VLAN 100's vEthernet is pinned");
        let new = 3 - old;
        for tap in &mut taps {
            tap.drain();
        }

        // Its uplink's peer fails.
        let failed = Instant::now();
        lab.fabric.switch.ip(&["link", "set", &lab.fabric.peers[old as usize - 1], "down"]).unwrap();
        let mut sent = 0;
        let mut answered = Vec::new();
        let recovered = loop {
            assert!(
                failed.elapsed() < Duration::from_secs(3),
                "VLAN 100 never came back after the uplink failed"
            );
            remote.send(&arp_request(Some(100), ip(100, 99), ip(100, 10)));
            sent += 1;
            answered.extend(replies_from(&remote.hear(Duration::from_millis(50), |_| true), mac100));
            if !answered.is_empty() {
                break failed.elapsed();
            }
        };
        report(&format!(
            "uplink {old} failed: VLAN 100 answered again over uplink {new} after {recovered:?}"
        ));
        assert!(recovered < Duration::from_secs(1), "failover took {recovered:?}");
        assert_eq!(pinned_index(&lab.host, ltl100).await, Some(new));

        // One RARP from the moved MAC, tagged with its VLAN, on the new uplink only.
        let rarps = |frames: &[Vec<u8>]| {
            frames
                .iter()
                .filter(|frame| {
                    frame[6..12] == *mac100.as_bytes() && tag_and_type(frame) == (Some(100), 0x8035)
                })
                .count()
        };
        let on_new = taps[new as usize - 1].hear(Duration::from_millis(100), |_| true);
        assert_eq!(rarps(&on_new), 1, "one RARP on the new uplink");
        let on_old = taps[old as usize - 1].hear(Duration::from_millis(10), |_| true);
        assert_eq!(rarps(&on_old), 0, "no RARP on the failed uplink");

        // No duplicates: every request answered at most once, and once the move settled exactly once.
        answered.extend(replies_from(&remote.hear(SILENCE, |_| true), mac100));
        assert!(answered.len() <= sent, "{} replies to {sent} requests", answered.len());
        remote.send(&arp_request(Some(100), ip(100, 99), ip(100, 10)));
        assert_eq!(replies_from(&remote.hear(SILENCE, |_| true), mac100), [Some(100)]);

        // The failed uplink shows as such.
        let module = lab.host.agent().status().borrow().module.expect("registered");
        let ports = lab.host.vemcmd("show port").await;
        assert!(ports.contains(&format!("* Eth{module}/{old} is blocked: Link not connected")), "{ports}");
        // The report carried it to the supervisor (registered uplinks, UplinkStatus).
        let failure = format!(
            "%ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface Ethernet{module}/{old} is down (Link failure)"
        );
        eventually("the supervisor to log the link failure", Duration::from_secs(3), || async {
            lab.supervisor.events().await.contains(&failure)
        })
        .await;

        // Its peer comes back: nothing moves again.
        lab.fabric.switch.ip(&["link", "set", &lab.fabric.peers[old as usize - 1], "up"]).unwrap();
        eventually("the uplink to come back", Duration::from_secs(2), || async {
            lab.host.ports().await.uplinks.iter().all(|uplink| uplink.forwarding)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(pinned_index(&lab.host, ltl100).await, Some(new), "pins stay where they are");
        drop(lab);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uplinks_are_clear_startup_errors_and_a_missing_profile_keeps_one_down() {
    bounded(async {
        require_root();
        let supervisor = Supervisor::start().await;
        supervisor.configure(PROFILES).await;
        let spec = |text: &str| -> UplinkSpec { text.parse().unwrap() };

        let error = Host::try_start_with_uplinks(&supervisor, vec![spec("nosuch0=system-uplink")]).await.err().expect("refused");
        assert_eq!(error.to_string(), "uplink interface nosuch0: no such interface on this host");

        let fabric = Fabric::new();
        let [first, second] = fabric.uplinks.clone();
        let twice = vec![spec(&format!("{first}=system-uplink")), spec(&format!("{first}=other"))];
        let error = Host::try_start_with_uplinks(&supervisor, twice).await.err().expect("refused");
        assert_eq!(error.to_string(), format!("interface {first} is given as an uplink twice (--uplink flags 1 and 2)"));

        // A profile that does not exist: the agent runs, the uplink waits for it.
        let host = Host::start_with_uplinks(&supervisor, vec![spec(&format!("{second}=later"))]).await;
        let module = host.agent().status().borrow().module.expect("registered");
        eventually("the uplink to be listed", Duration::from_secs(2), || async { host.ports().await.uplinks.len() == 1 }).await;
        let uplink = host.ports().await.uplinks.remove(0);
        assert_eq!((uplink.forwarding, uplink.reason.as_str(), uplink.ltl), (false, "port-profile not found", 17));
        let ports = host.vemcmd("show port").await;
        assert!(ports.contains(&format!("* Eth{module}/1 is blocked: port-profile not found")), "{ports}");

        // A container's port is no uplink.
        let container = Container::new("10.1.0.10");
        let attached = host.attach(container.spec("vlan100")).await.unwrap();
        let _guard = port_lab::guard(&attached);
        let dir = host.data_dir();
        let mut host = host;
        host.agent.take().unwrap().stop().await;
        let options = agent::AgentOptions::new(supervisor.url(), "bilbo", &dir)
            .with_uplinks([spec(&format!("{}=system-uplink", attached.host_ifname))]);
        let error = agent::Agent::start(options).await.expect_err("refused");
        assert_eq!(
            error.to_string(),
            format!(
                "uplink interface {} is already Vethernet{} on this host (a container's port); detach it first or choose another NIC",
                attached.host_ifname, attached.veth
            )
        );
        drop(fabric);
    })
    .await;
}
