//! DHCP snooping's bindings: which address a DHCP server gave to which port's client, until
//! the lease ends. A bounded table; the datapath fills it from the DHCPACKs it forwards from
//! trusted ports, and source guard and ARP inspection count its entries as bindings.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use wire::{EtherType, IpProtocol, MacAddr, dhcp, ipv4, udp};

use super::{DatapathEvent, GuardState};
use crate::mac_table::{MacKind, MacTable};
use crate::snapshot::{PortIndex, Snapshot, TUNNEL_INDEX};
use crate::{PortId, Segment};

/// An address DHCP snooping bound to a port (`show ip dhcp snooping binding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DhcpBinding {
    /// The client's MAC (`chaddr`).
    pub mac: MacAddr,
    /// The address leased (`yiaddr`).
    pub ip: Ipv4Addr,
    /// The vEthernet the client is behind.
    pub port: PortId,
    /// Its segment.
    pub segment: Segment,
    /// The lease granted, in seconds (option 51; `u32::MAX` if the ACK gave none: infinite).
    pub lease_secs: u32,
    /// When the lease ends, on the datapath's clock (the `now` of `process`).
    pub expires: Duration,
}

/// Why a binding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhcpBindingEnd {
    /// The client sent DHCPRELEASE.
    Released,
    /// The client sent DHCPDECLINE (the address was in use).
    Declined,
    /// The lease ran out.
    Expired,
    /// A new ACK gave the address to another client or port.
    Replaced,
    /// The port left the configuration.
    PortRemoved,
}

/// The bindings, by address.
#[derive(Debug)]
pub(crate) struct Bindings {
    by_ip: HashMap<Ipv4Addr, DhcpBinding, foldhash::fast::FixedState>,
    limit: usize,
    /// ACKs not bound because the table was full.
    pub full: u64,
}

impl Bindings {
    /// Room for `limit` bindings, allocated now.
    pub fn new(limit: usize) -> Self {
        let by_ip = HashMap::with_capacity_and_hasher(limit, foldhash::fast::FixedState::default());
        Self { by_ip, limit, full: 0 }
    }

    /// `true` if `ip` is bound to `port` with its lease running at `now` (nanoseconds).
    #[inline]
    pub fn holds(&self, port: PortId, ip: IpAddr, now: u64) -> bool {
        let IpAddr::V4(ip) = ip else { return false };
        !self.by_ip.is_empty()
            && self.by_ip.get(&ip).is_some_and(|binding| binding.port == port && running(binding, now))
    }

    /// Every binding, running or not yet swept.
    pub fn iter(&self) -> impl Iterator<Item = &DhcpBinding> {
        self.by_ip.values()
    }

    pub fn len(&self) -> usize {
        self.by_ip.len()
    }
}

fn running(binding: &DhcpBinding, now: u64) -> bool {
    Duration::from_nanos(now) < binding.expires
}

impl GuardState {
    /// Ends the bindings whose lease is over at `now`, or whose port `keep` rejects.
    pub fn end_bindings(&mut self, now: u64, keep: impl Fn(PortId) -> bool) {
        let Self { bindings, events, events_lost, .. } = self;
        bindings.by_ip.retain(|_, binding| {
            let end = if !keep(binding.port) {
                DhcpBindingEnd::PortRemoved
            } else if !running(binding, now) {
                DhcpBindingEnd::Expired
            } else {
                return true;
            };
            super::push(events, events_lost, DatapathEvent::DhcpBindingRemoved { binding: *binding, end });
            false
        });
    }

    /// Reads a DHCP message the datapath is forwarding from the port at `ingress` in `segment`:
    /// an ACK from a trusted port binds its address to the client's vEthernet; a RELEASE or
    /// DECLINE from the client ends its bindings on that port. `body_offset` is where the
    /// frame's EtherType is.
    #[allow(clippy::too_many_arguments)]
    pub fn snoop(
        &mut self,
        config: &Snapshot,
        macs: &MacTable,
        ingress: PortIndex,
        segment: Segment,
        frame: &[u8],
        body_offset: u8,
        now: u64,
    ) {
        if ingress == TUNNEL_INDEX {
            return;
        }
        let Some((ports, repr)) = dhcp_in(frame, body_offset) else { return };
        let port = config.by_index(ingress);
        match (ports, repr.message_type) {
            ((67, 68), dhcp::MessageType::ACK) if port.dhcp_snooping_trust => {
                // Only a port whose attached MAC the client is (its static entry): a MAC merely
                // learned could be a neighbour's, sent by a container to take its lease.
                let client = macs.lookup(&(segment, repr.client_mac), now).filter(|entry| {
                    entry.port != TUNNEL_INDEX
                        && !config.is_uplink(entry.port)
                        && entry.kind == MacKind::Static
                });
                let Some(client) = client else { return };
                if repr.your_addr.is_unspecified() {
                    return;
                }
                let lease_secs = repr.lease_secs.unwrap_or(u32::MAX);
                let binding = DhcpBinding {
                    mac: repr.client_mac,
                    ip: repr.your_addr,
                    port: config.by_index(client.port).id,
                    segment,
                    lease_secs,
                    expires: Duration::from_nanos(now).saturating_add(Duration::from_secs(lease_secs.into())),
                };
                self.bind(binding);
            }
            ((68, 67), dhcp::MessageType::RELEASE | dhcp::MessageType::DECLINE) => {
                let end = if repr.message_type == dhcp::MessageType::RELEASE {
                    DhcpBindingEnd::Released
                } else {
                    DhcpBindingEnd::Declined
                };
                let Self { bindings, events, events_lost, .. } = self;
                bindings.by_ip.retain(|_, binding| {
                    let ends = binding.port == port.id && binding.mac == repr.client_mac;
                    if ends {
                        super::push(
                            events,
                            events_lost,
                            DatapathEvent::DhcpBindingRemoved { binding: *binding, end },
                        );
                    }
                    !ends
                });
            }
            _ => {}
        }
    }

    fn bind(&mut self, binding: DhcpBinding) {
        let previous = self.bindings.by_ip.get(&binding.ip).copied();
        match previous {
            Some(old) if (old.port, old.mac) != (binding.port, binding.mac) => {
                self.report(DatapathEvent::DhcpBindingRemoved {
                    binding: old,
                    end: DhcpBindingEnd::Replaced,
                });
            }
            Some(_) => {}
            None if self.bindings.len() >= self.bindings.limit => {
                self.bindings.full += 1;
                return;
            }
            None => {}
        }
        self.bindings.by_ip.insert(binding.ip, binding);
        // A renewal of the same lease is not news.
        if previous.is_none_or(|old| (old.port, old.mac) != (binding.port, binding.mac)) {
            self.report(DatapathEvent::DhcpBindingAdded(binding));
        }
    }
}

/// The UDP ports and DHCP message of an IPv4 frame between ports 67 and 68, if it is one.
fn dhcp_in(frame: &[u8], body_offset: u8) -> Option<((u16, u16), dhcp::Repr)> {
    let at = usize::from(body_offset);
    let ethertype = frame.get(at..at + 2)?;
    if EtherType(u16::from_be_bytes([ethertype[0], ethertype[1]])) != EtherType::IPV4 {
        return None;
    }
    let packet = ipv4::Packet::new_checked(&frame[at + 2..]).ok()?;
    if packet.next_header() != IpProtocol::UDP || packet.frag_offset() != 0 || packet.more_frags() {
        return None;
    }
    let datagram = udp::Packet::new_checked(packet.payload()).ok()?;
    let ports = (datagram.src_port(), datagram.dst_port());
    if !matches!(ports, (67, 68) | (68, 67)) {
        return None;
    }
    let repr = dhcp::Repr::parse(&dhcp::Packet::new_checked(datagram.payload()).ok()?).ok()?;
    Some((ports, repr))
}
