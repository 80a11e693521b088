//! Batched I/O on real sockets: many frames per `recvmmsg`/`sendmmsg`, in order, each counted,
//! and a frame the kernel refuses in the middle of a batch costs that frame only.

use std::thread;
use std::time::{Duration, Instant};

use agent::dataplane::AfPacketPort;
use datapath::io::PortIo;
use datapath::{DropReason, PortId, RxBatch, TxView};
use futures::executor::block_on;

use super::lab::{self, Lab, is_root};
use super::{device, port_of, two_on_vlan_100};

/// An EtherType for local experiments: no kernel stack answers these frames.
const EXPERIMENT: [u8; 2] = [0x88, 0xb5];

/// A frame from `src` to `dst` of `len` bytes carrying `seq`.
fn numbered(dst: [u8; 6], src: [u8; 6], seq: u32, len: usize) -> Vec<u8> {
    let mut frame = [&dst[..], &src[..], &EXPERIMENT, &seq.to_be_bytes()].concat();
    frame.resize(len, 0);
    frame
}

/// Sequence numbers of the experiment frames `port` receives until `count` arrived or 5 s
/// passed, with the receive batches' sizes.
fn receive_numbered(port: &mut AfPacketPort, count: usize) -> (Vec<u32>, Vec<usize>) {
    let mut rx = RxBatch::new(64, 2048);
    let (mut seqs, mut batches) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(5);
    while seqs.len() < count && Instant::now() < deadline {
        rx.clear();
        let moved = port.receive(PortId(1), &mut rx).expect("receive");
        if moved == 0 {
            thread::sleep(Duration::from_millis(2));
            continue;
        }
        batches.push(moved);
        for frame in rx.iter().filter(|frame| frame.bytes.get(12..14) == Some(&EXPERIMENT[..])) {
            seqs.push(u32::from_be_bytes(frame.bytes[14..18].try_into().expect("4 bytes")));
        }
    }
    (seqs, batches)
}

/// Opens `ifname` in network namespace `netns`.
fn open_in(netns: &str, ifname: &'static str) -> AfPacketPort {
    let path = lab::netns_path(netns);
    thread::spawn(move || {
        lab::enter(&path);
        AfPacketPort::open(ifname).expect("open")
    })
    .join()
    .expect("opener")
}

#[test]
fn a_batch_goes_out_in_order_and_a_refused_frame_costs_only_itself() {
    if !is_root("a_batch_goes_out_in_order_and_a_refused_frame_costs_only_itself") {
        return;
    }
    let mut lab = Lab::new();
    let c1 = lab.container(1);
    let mut host_end = open_in(&lab.host, "vc1");
    let mut eth0 = open_in(&c1.netns, "eth0");
    let (dst, src) = (c1.mac.0, [2, 0x66, 0, 0, 0, 1]);
    // 100 frames, among them two the kernel refuses: longer than the MTU, shorter than a header.
    let mut frames: Vec<Vec<u8>> = (0..98).map(|seq| numbered(dst, src, seq, 60)).collect();
    frames.insert(10, numbered(dst, src, 1000, 3000));
    frames.insert(50, vec![0xee; 8]);
    let views: Vec<TxView<'_>> = frames.iter().map(|frame| TxView::from_bytes(PortId(1), frame)).collect();

    let sent = host_end.transmit_batch(&views).expect("sends");

    assert_eq!(sent, 98);
    let counters = host_end.counters();
    assert_eq!((counters.tx_frames, counters.tx_rejected), (98, 2), "{counters:?}");
    assert_eq!(counters.tx_bytes, 98 * 60);
    let (seqs, batches) = receive_numbered(&mut eth0, 98);
    assert_eq!(seqs, (0..98).collect::<Vec<u32>>(), "lost, added or reordered");
    assert!(batches.iter().any(|&size| size > 1), "never more than one frame per receive: {batches:?}");
    let counters = eth0.counters();
    assert_eq!((counters.rx_frames, counters.rx_kernel_drops), (98, 0), "{counters:?}");
}

#[test]
fn a_burst_crosses_the_switch_whole_and_in_order() {
    if !is_root("a_burst_crosses_the_switch_whole_and_in_order") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2, dataplane) = two_on_vlan_100(&mut lab);
    let mut sender = open_in(&c1.netns, "eth0");
    let mut receiver = open_in(&c2.netns, "eth0");
    const BURST: u32 = 600;
    let frames: Vec<Vec<u8>> = (0..BURST).map(|seq| numbered(c2.mac.0, c1.mac.0, seq, 64)).collect();
    let views: Vec<TxView<'_>> = frames.iter().map(|frame| TxView::from_bytes(PortId(1), frame)).collect();

    assert_eq!(sender.transmit_batch(&views).expect("sends"), BURST as usize);

    let (seqs, _) = receive_numbered(&mut receiver, BURST as usize);
    assert_eq!(seqs, (0..BURST).collect::<Vec<u32>>(), "lost, added or reordered");
    let (rx, tx) = (device(&dataplane, port_of(1)), device(&dataplane, port_of(2)));
    assert_eq!((rx.rx_frames, rx.rx_kernel_drops), (u64::from(BURST), 0), "{rx:?}");
    assert_eq!((tx.tx_frames, tx.tx_busy), (u64::from(BURST), 0), "{tx:?}");
    let stats = block_on(dataplane.port_stats(port_of(2))).expect("stats").expect("configured");
    assert_eq!(stats.tx.packets, u64::from(BURST));
    assert_eq!(block_on(dataplane.drops()).expect("drops").datapath.total(), 0);
}

#[test]
fn every_frame_of_a_batch_to_a_downed_link_is_counted_as_dropped() {
    if !is_root("every_frame_of_a_batch_to_a_downed_link_is_counted_as_dropped") {
        return;
    }
    let mut lab = Lab::new();
    let (c1, c2, dataplane) = two_on_vlan_100(&mut lab);
    lab::run("ip", &["-n", &lab.host, "link", "set", &c2.host_end, "down"]);
    let mut sender = open_in(&c1.netns, "eth0");
    let frames: Vec<Vec<u8>> = (0..80).map(|seq| numbered(c2.mac.0, c1.mac.0, seq, 64)).collect();
    let views: Vec<TxView<'_>> = frames.iter().map(|frame| TxView::from_bytes(PortId(1), frame)).collect();

    assert_eq!(sender.transmit_batch(&views).expect("sends"), 80);

    let dropped = || block_on(dataplane.drops()).expect("drops").datapath.get(DropReason::TxQueueFull);
    lab::eventually(Duration::from_secs(5), || dropped() >= 80);
    assert_eq!(dropped(), 80);
    let tx = device(&dataplane, port_of(2));
    assert_eq!((tx.tx_frames, tx.tx_link_down), (0, 80), "{tx:?}");
    let stats = block_on(dataplane.port_stats(port_of(2))).expect("stats").expect("configured");
    assert_eq!(stats.drops.get(DropReason::TxQueueFull), 80, "output drops of the port");
}
