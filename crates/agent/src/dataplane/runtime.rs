//! The dataplane thread: owns the [`Datapath`] and every port's device, waits on their sockets
//! and on a control eventfd, runs [`Pump`] rounds while frames wait, and serves the
//! [`Dataplane`](super::Dataplane) handle's requests between rounds — so a new snapshot or a new
//! port takes effect before the next frame is read, never in the middle of a batch.
//!
//! After a round that received frames the thread polls its sockets (epoll with a zero timeout)
//! for [`DataplaneOptions::poll_after_traffic`] before it sleeps again: under traffic, the next
//! frame is read without a wake-up; with none, the thread sleeps and costs nothing.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use datapath::io::{PortIo, Pump, Sent};
use datapath::{Datapath, Overlay, PortConfig, PortId, RxBatch, Snapshot, TUNNEL_PORT, TxView};
use nix::sched::CloneFlags;

use super::DataplaneOptions;
use super::af_packet::{AfPacketPort, DeviceDrops, MAX_FRAME_LEN};
use super::command::{Command, PolicyState, PortDevice, SwitchDrops};
use super::endpoint::Endpoint;
use super::error::DataplaneError;
use super::ledger::OffloadLedger;
use super::sys::{Epoll, Token};
use super::tunnel::TunnelPort;

/// The epoll token of the control eventfd; ports use their number.
const CONTROL: Token = u64::MAX;

/// The most ports one flood can reach: every vEthernet of a module and a few uplinks.
const WIDEST_FLOOD: usize = crate::MAX_VIRTUAL_PORTS as usize + 8;

/// A port's device, and whether its socket may have frames waiting.
#[derive(Debug)]
struct Device {
    port: Endpoint,
    /// Set when epoll reports the socket readable; cleared once a receive finds it empty.
    readable: bool,
    /// Set after an error the device cannot recover from; it is then never read again.
    failed: bool,
}

impl PortIo for Device {
    fn receive(&mut self, port: PortId, rx: &mut RxBatch) -> io::Result<usize> {
        if !self.readable || self.failed {
            return Ok(0);
        }
        match self.port.receive(port, rx) {
            Ok(moved) => {
                // A full batch may have left frames behind; otherwise the socket is drained.
                self.readable = rx.room() == 0;
                Ok(moved)
            }
            Err(error) => {
                tracing::error!("dataplane: {} ({port}) stops receiving: {error}", self.port.ifname());
                self.failed = true;
                Ok(0)
            }
        }
    }

    fn transmit(&mut self, frame: &TxView<'_>) -> io::Result<Sent> {
        // An unexpected send error loses this frame only (counted as an output drop); the next
        // frame may well go.
        self.port.transmit(frame).or_else(|error| {
            tracing::warn!("dataplane: sending on {} failed: {error}", self.port.ifname());
            Ok(Sent::QueueFull)
        })
    }

    fn transmit_batch(&mut self, frames: &[TxView<'_>]) -> io::Result<usize> {
        // As for one frame: an unexpected error loses this batch's frames, not the device.
        self.port.transmit_batch(frames).or_else(|error| {
            tracing::warn!("dataplane: sending on {} failed: {error}", self.port.ifname());
            Ok(0)
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.port.flush().or_else(|error| {
            tracing::warn!("dataplane: sending on {} failed: {error}", self.port.ifname());
            Ok(())
        })
    }
}

/// What the thread owns.
pub(super) struct Runtime {
    datapath: Datapath,
    pump: Pump,
    ports: Vec<(PortId, Device)>,
    ledger: OffloadLedger,
    epoll: Epoll,
    control: File,
    commands: Receiver<Command>,
    started: Instant,
    /// See [`DataplaneOptions::poll_after_traffic`].
    poll_after_traffic: Duration,
    /// What the devices of ports since removed lost before the datapath saw it: the switch's
    /// drop total keeps them, as the datapath's keeps the drops of removed ports.
    retired_drops: DeviceDrops,
}

impl Runtime {
    /// Sets the thread up: enters the network namespace, then watches the control eventfd.
    pub(super) fn new(
        options: &DataplaneOptions,
        control: File,
        commands: Receiver<Command>,
        epoch: Instant,
    ) -> Result<Self, DataplaneError> {
        if let Some(path) = &options.netns {
            enter_namespace(path)?;
        }
        let epoll = Epoll::new().map_err(DataplaneError::Start)?;
        epoll.add(control.as_fd(), CONTROL).map_err(DataplaneError::Start)?;
        let batch = options.batch_frames.max(1);
        // The tunnel, if any, is the only source of the local VTEP.
        let overlay =
            Overlay { local_vtep: options.tunnel.map(|local| *local.ip()), ..options.overlay.clone() };
        let initial = Snapshot::default().with_overlay(overlay);
        let mut runtime = Self {
            datapath: Datapath::new(&options.settings, Arc::new(initial)),
            pump: Pump::new(batch, MAX_FRAME_LEN, batch * WIDEST_FLOOD),
            ports: Vec::new(),
            ledger: OffloadLedger::new(),
            epoll,
            control,
            commands,
            started: epoch,
            poll_after_traffic: options.poll_after_traffic,
            retired_drops: DeviceDrops::default(),
        };
        if let Some(local) = options.tunnel {
            runtime.open_tunnel(local)?;
        }
        Ok(runtime)
    }

    /// Opens the VXLAN tunnel endpoint on `local` as port [`TUNNEL_PORT`].
    fn open_tunnel(&mut self, local: std::net::SocketAddrV4) -> Result<(), DataplaneError> {
        let tunnel = TunnelPort::open(*local.ip(), local.port(), &self.ledger)?;
        self.epoll.add(tunnel.as_fd(), u64::from(TUNNEL_PORT.0)).map_err(|source| {
            DataplaneError::Interface { ifname: format!("vxlan {local}"), action: "watch", source }
        })?;
        tracing::info!("dataplane: VXLAN tunnel endpoint on {}", tunnel.local());
        self.ports
            .push((TUNNEL_PORT, Device { port: Endpoint::Tunnel(tunnel), readable: true, failed: false }));
        Ok(())
    }

    /// Puts `snapshot` in force with the overlay in force: ports and overlay change apart.
    fn install(&mut self, snapshot: Snapshot) {
        let overlay = self.datapath.config().overlay().clone();
        self.datapath.set_config(Arc::new(snapshot.with_overlay(overlay)));
    }

    /// Runs until the handle is dropped.
    pub(super) fn run(mut self) {
        let mut ready = Vec::new();
        // Until when to poll rather than sleep: a short while after the last frame received.
        let mut poll_until: Option<Instant> = None;
        loop {
            let busy = self.ports.iter().any(|(_, device)| device.readable && !device.failed);
            let polling = poll_until.is_some_and(|until| Instant::now() < until);
            if let Err(error) = self.epoll.wait(&mut ready, if busy || polling { 0 } else { -1 }) {
                tracing::error!("dataplane: waiting for frames failed, stopping: {error}");
                return;
            }
            let mut control = false;
            for &token in &ready {
                if token == CONTROL {
                    control = true;
                } else if let Some((_, device)) =
                    self.ports.iter_mut().find(|(id, _)| u64::from(id.0) == token)
                {
                    device.readable = true;
                }
            }
            if control && !self.serve() {
                return;
            }
            if self.round() > 0 && !self.poll_after_traffic.is_zero() {
                poll_until = Some(Instant::now() + self.poll_after_traffic);
            }
        }
    }

    /// One pump round, if any socket has frames. Returns the frames received.
    fn round(&mut self) -> usize {
        if !self.ports.iter().any(|(_, device)| device.readable && !device.failed) {
            return 0;
        }
        let now = self.started.elapsed();
        // Devices report their own errors (see `Device`); the pump never sees one.
        let received =
            self.pump.run(&mut self.datapath, now, &mut self.ports).map_or(0, |round| round.received);
        for (_, device) in self.ports.iter_mut().filter(|(_, device)| device.failed && device.readable) {
            // Stop waking up for a socket that is never read again.
            let _ = self.epoll.remove(device.port.as_fd());
            device.readable = false;
        }
        received
    }

    /// Executes every waiting command. `false` once the handle is gone.
    fn serve(&mut self) -> bool {
        let mut counter = [0u8; 8];
        let _ = (&self.control).read(&mut counter); // re-arms the eventfd
        loop {
            match self.commands.try_recv() {
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return false,
                Ok(command) => self.execute(command),
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    fn execute(&mut self, command: Command) {
        // A requester that stopped waiting does not mind the answer lost.
        match command {
            Command::AddPort { ifname, config, reply } => {
                let _ = reply.send(self.add_port(&ifname, *config));
            }
            Command::RemovePort { port, reply } => {
                let _ = reply.send(self.remove_port(port));
            }
            Command::SetSnapshot { snapshot, reply } => {
                self.install(Arc::unwrap_or_clone(snapshot));
                let _ = reply.send(());
            }
            Command::SetOverlay { overlay, reply } => {
                self.set_overlay(*overlay);
                let _ = reply.send(());
            }
            Command::PortStats { port, reply } => {
                let _ = reply.send(self.datapath.port_stats(port).cloned());
            }
            Command::Drops { reply } => {
                let mut devices = self.retired_drops;
                for (_, device) in &mut self.ports {
                    devices += device.port.counters().drops();
                }
                let _ = reply.send(SwitchDrops { datapath: self.datapath.drops().clone(), devices });
            }
            Command::MacTable { reply } => {
                let _ = reply.send(self.datapath.mac_table(self.started.elapsed()));
            }
            Command::Trace { port, frame, reply } => {
                let _ = reply.send(self.datapath.trace(self.started.elapsed(), port, &frame));
            }
            Command::Devices { reply } => {
                let devices = self
                    .ports
                    .iter_mut()
                    .map(|(port, device)| PortDevice {
                        port: *port,
                        ifname: device.port.ifname().to_owned(),
                        ifindex: device.port.ifindex(),
                        counters: device.port.counters(),
                    })
                    .collect();
                let _ = reply.send(devices);
            }
            Command::Config { reply } => {
                let _ = reply.send(Arc::clone(self.datapath.config()));
            }
            Command::Transmit { port, frame, reply } => {
                let _ = reply.send(self.transmit(port, &frame));
            }
            Command::PolicyState { reply } => {
                let _ = reply.send(self.policy_state());
            }
            Command::Events { reply } => {
                let _ = reply.send(std::iter::from_fn(|| self.datapath.poll_event()).collect());
            }
            Command::ExpiredFlows { active, inactive, reply } => {
                let mut records = Vec::new();
                let now = self.started.elapsed();
                self.datapath.expired_flows(now, active, inactive, &mut records);
                let _ = reply.send((now, records));
            }
            Command::Flows { reply } => {
                let _ = reply.send(self.datapath.flows(self.started.elapsed()));
            }
            Command::Connections { reply } => {
                let _ = reply.send(self.datapath.connections(self.started.elapsed()));
            }
            Command::ClearConntrack { reply } => {
                self.datapath.clear_conntrack();
                let _ = reply.send(());
            }
            Command::RecoverPort { port, reply } => {
                let _ = reply.send(self.datapath.recover_port(port));
            }
            Command::Stop => {}
        }
    }

    /// What the policy did, for the report and `vemcmd`.
    fn policy_state(&self) -> PolicyState {
        let now = self.started.elapsed();
        let datapath = &self.datapath;
        let security: std::collections::BTreeMap<PortId, datapath::PortSecurity> = datapath
            .config()
            .ports()
            .iter()
            .filter_map(|port| Some((port.id, port.port_security?)))
            .collect();
        let secure_macs = datapath.secure_macs(now);
        PolicyState {
            security,
            acl_hits: datapath.acl_hits().collect(),
            err_disabled: datapath.err_disabled_ports().collect(),
            secure_macs,
            dhcp_bindings: datapath.dhcp_bindings(),
            flow_table: datapath.flow_counters(),
            conntrack_full: datapath.drops().get(datapath::DropReason::ConntrackFull),
        }
    }

    /// Opens `ifname` as port `config.id` and puts `config` in force with it, in one step: the
    /// first frame read from the device already meets the port's policy.
    fn add_port(&mut self, ifname: &str, config: PortConfig) -> Result<(), DataplaneError> {
        let id = config.id;
        if self.ports.iter().any(|(port, _)| *port == id) {
            return Err(DataplaneError::PortExists(id));
        }
        let current = self.datapath.config();
        let mut ports: Vec<PortConfig> =
            current.ports().iter().filter(|port| port.id != id).cloned().collect();
        ports.push(config);
        let snapshot = current.with_ports(ports)?;
        let port = AfPacketPort::open_with_ledger(ifname, &self.ledger)?;
        // Two sockets on one interface would switch every frame it receives twice.
        if let Some((other, _)) =
            self.ports.iter().find(|(_, device)| device.port.ifindex() == port.ifindex())
        {
            return Err(DataplaneError::InterfaceInUse { ifname: ifname.to_owned(), port: *other });
        }
        self.epoll.add(port.as_fd(), u64::from(id.0)).map_err(|source| DataplaneError::Interface {
            ifname: ifname.to_owned(),
            action: "watch",
            source,
        })?;
        self.install(snapshot);
        // Frames may already wait: read them in the next round.
        self.ports.push((id, Device { port: port.into(), readable: true, failed: false }));
        Ok(())
    }

    /// Sends `frame` out of port `id`'s device, as it is.
    fn transmit(&mut self, id: PortId, frame: &[u8]) -> Result<(), DataplaneError> {
        let (_, device) =
            self.ports.iter_mut().find(|(port, _)| *port == id).ok_or(DataplaneError::NoSuchPort(id))?;
        match device.transmit(&TxView::from_bytes(id, frame)) {
            Ok(Sent::Queued) => Ok(()),
            Ok(_) | Err(_) => Err(DataplaneError::Interface {
                ifname: device.port.ifname().to_owned(),
                action: "send on",
                source: io::Error::other("its queue is full or its link is down"),
            }),
        }
    }

    /// Closes port `id`'s device and drops the port from the configuration.
    fn remove_port(&mut self, id: PortId) -> Result<(), DataplaneError> {
        let at = self.ports.iter().position(|(port, _)| *port == id).ok_or(DataplaneError::NoSuchPort(id))?;
        let (_, mut device) = self.ports.remove(at);
        self.retired_drops += device.port.counters().drops();
        let _ = self.epoll.remove(device.port.as_fd()); // closing the socket unregisters it anyway
        let current = self.datapath.config();
        if current.port(id).is_some() {
            let ports: Vec<PortConfig> =
                current.ports().iter().filter(|port| port.id != id).cloned().collect();
            // Removing a port cannot make a valid configuration invalid.
            if let Ok(snapshot) = current.with_ports(ports) {
                self.install(snapshot);
            }
        }
        Ok(())
    }

    /// Puts `overlay` in force with the ports in force. The local VTEP stays what the tunnel
    /// was opened with: the supervisor only describes the remote side.
    fn set_overlay(&mut self, mut overlay: Overlay) {
        let current = self.datapath.config();
        overlay.local_vtep = current.overlay().local_vtep;
        let snapshot = Snapshot::clone(current).with_overlay(overlay);
        self.datapath.set_config(Arc::new(snapshot));
    }
}

/// Moves the calling thread into the network namespace at `path`.
fn enter_namespace(path: &Path) -> Result<(), DataplaneError> {
    let fail = |source: io::Error| DataplaneError::Namespace { path: path.to_owned(), source };
    let namespace = File::open(path).map_err(fail)?;
    nix::sched::setns(namespace, CloneFlags::CLONE_NEWNET).map_err(|errno| fail(errno.into()))
}
