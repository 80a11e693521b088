//! [`Dataplane`]: the handle the agent holds on the dataplane thread.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::Write;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use datapath::{
    Connection, DatapathEvent, FlowRecord, MacTableRow, Overlay, PortConfig, PortId, PortStats, Settings,
    Snapshot,
};
use tokio::sync::oneshot;

use super::command::{Command, PolicyState, PortDevice, Reply, SwitchDrops};
use super::error::DataplaneError;
use super::runtime::Runtime;
use super::sys;

/// How to start the dataplane.
#[derive(Debug, Clone)]
pub struct DataplaneOptions {
    /// The network namespace the thread enters before opening any interface
    /// (`/run/netns/NAME`, `/proc/PID/ns/net`); `None`: the caller's.
    pub netns: Option<PathBuf>,
    /// MAC table size and hash seed. The default seed is random, so nobody can pick source
    /// MACs that collide in the table.
    pub settings: Settings,
    /// Frames read per round, over all ports.
    pub batch_frames: usize,
    /// The VXLAN tunnel endpoint to open (VTEP address and UDP port), if any.
    pub tunnel: Option<SocketAddrV4>,
    /// The overlay to start with (the last one persisted), until [`Dataplane::set_overlay`].
    pub overlay: Overlay,
    /// How long the thread keeps polling its sockets after the last frame before it sleeps in
    /// epoll again: a frame arriving meanwhile is read without a wake-up (lower latency under
    /// traffic, one core busy for that long). Zero: always sleep. Never polls when idle.
    pub poll_after_traffic: Duration,
}

impl Default for DataplaneOptions {
    fn default() -> Self {
        let hash_seed = RandomState::new().hash_one(0u8);
        Self {
            netns: None,
            settings: Settings { hash_seed, ..Settings::default() },
            batch_frames: 32,
            tunnel: None,
            overlay: Overlay::default(),
            poll_after_traffic: Duration::from_micros(50),
        }
    }
}

/// The agent's handle on its dataplane: a dedicated OS thread (never an async worker) that
/// owns the [`Datapath`](datapath::Datapath) and the ports' devices and switches frames.
///
/// Cheap to clone; the thread stops when the last clone is dropped. Every method is a request
/// the thread answers between two rounds of frames.
#[derive(Debug, Clone)]
pub struct Dataplane {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    commands: Sender<Command>,
    /// The thread's control eventfd: written after every command so its epoll wakes up.
    wake: File,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The datapath's epoch: its `now` is the time since.
    epoch: Instant,
}

impl Dataplane {
    /// Starts the dataplane thread, with no port, and returns once it runs (inside
    /// `options.netns` if given).
    pub fn spawn(options: DataplaneOptions) -> Result<Self, DataplaneError> {
        let wake = sys::event_fd().map_err(DataplaneError::Start)?;
        let control = wake.try_clone().map_err(DataplaneError::Start)?;
        let (commands, requests) = mpsc::channel();
        let (started, start_result) = mpsc::sync_channel(1);
        let epoch = Instant::now();
        let thread = thread::Builder::new()
            .name("dataplane".to_owned())
            .spawn(move || match Runtime::new(&options, control, requests, epoch) {
                Ok(runtime) => {
                    let _ = started.send(Ok(()));
                    runtime.run();
                }
                Err(error) => {
                    let _ = started.send(Err(error));
                }
            })
            .map_err(DataplaneError::Start)?;
        start_result.recv().map_err(|_| DataplaneError::Stopped)??;
        Ok(Self { shared: Arc::new(Shared { commands, wake, thread: Mutex::new(Some(thread)), epoch }) })
    }

    /// Opens interface `ifname` as port `config.id` and puts `config` in force for it (replacing
    /// any config of that port in the snapshot). When this returns, the port is policed: no
    /// frame from it is switched under any other policy.
    pub async fn add_port(&self, ifname: &str, config: PortConfig) -> Result<(), DataplaneError> {
        let ifname = ifname.to_owned();
        self.ask(|reply| Command::AddPort { ifname, config: Box::new(config), reply }).await?
    }

    /// Closes port `port`'s device and removes the port from the configuration.
    pub async fn remove_port(&self, port: PortId) -> Result<(), DataplaneError> {
        self.ask(|reply| Command::RemovePort { port, reply }).await?
    }

    /// Puts `snapshot` in force, whole, between two batches. Ports with a device but no config
    /// drop what they receive (`no_port`); configs without a device drop what is sent to them
    /// (`no_device`).
    pub async fn set_snapshot(&self, snapshot: Arc<Snapshot>) -> Result<(), DataplaneError> {
        self.ask(|reply| Command::SetSnapshot { snapshot, reply }).await
    }

    /// Puts `overlay` (the remote VTEPs and MACs of each bridge-domain) in force, between two
    /// batches, with the ports in force. Its `local_vtep` is ignored: the tunnel's stays.
    pub async fn set_overlay(&self, overlay: Overlay) -> Result<(), DataplaneError> {
        self.ask(|reply| Command::SetOverlay { overlay: Box::new(overlay), reply }).await
    }

    /// Counters of port `port`, if configured.
    pub async fn port_stats(&self, port: PortId) -> Result<Option<PortStats>, DataplaneError> {
        self.ask(|reply| Command::PortStats { port, reply }).await
    }

    /// Every drop, by reason, switch-wide: the datapath's and the devices'.
    pub async fn drops(&self) -> Result<SwitchDrops, DataplaneError> {
        self.ask(|reply| Command::Drops { reply }).await
    }

    /// The MAC address table now, by segment then MAC.
    pub async fn mac_table(&self) -> Result<Vec<MacTableRow>, DataplaneError> {
        self.ask(|reply| Command::MacTable { reply }).await
    }

    /// Runs `frame`, as if received on `port`, through the datapath's decisions without
    /// switching it, and returns each decision in words.
    pub async fn trace(&self, port: PortId, frame: Vec<u8>) -> Result<Vec<String>, DataplaneError> {
        self.ask(|reply| Command::Trace { port, frame, reply }).await
    }

    /// The datapath's clock now (the `now` its records and bindings are stamped with).
    pub fn clock(&self) -> Duration {
        self.shared.epoch.elapsed()
    }

    /// What the policy did: hit counters, secure ports, DHCP bindings, the flow table's fill.
    pub async fn policy_state(&self) -> Result<PolicyState, DataplaneError> {
        self.ask(|reply| Command::PolicyState { reply }).await
    }

    /// The datapath's events since the last call, oldest first.
    pub async fn events(&self) -> Result<Vec<DatapathEvent>, DataplaneError> {
        self.ask(|reply| Command::Events { reply }).await
    }

    /// Records of the flows due for export under these timeouts (see
    /// [`datapath::Datapath::expired_flows`]), with the datapath's clock when they were taken.
    pub async fn expired_flows(
        &self,
        active: Duration,
        inactive: Duration,
    ) -> Result<(Duration, Vec<FlowRecord>), DataplaneError> {
        self.ask(|reply| Command::ExpiredFlows { active, inactive, reply }).await
    }

    /// Every flow in the flow table (`vemcmd show flows`).
    pub async fn flows(&self) -> Result<Vec<FlowRecord>, DataplaneError> {
        self.ask(|reply| Command::Flows { reply }).await
    }

    /// Every tracked connection (`vemcmd show conntrack`).
    pub async fn connections(&self) -> Result<Vec<Connection>, DataplaneError> {
        self.ask(|reply| Command::Connections { reply }).await
    }

    /// Forgets every tracked connection (`vemcmd clear conntrack`).
    pub async fn clear_conntrack(&self) -> Result<(), DataplaneError> {
        self.ask(|reply| Command::ClearConntrack { reply }).await
    }

    /// Brings an error-disabled port back (`no shutdown` on its vEthernet); `false` if it was
    /// not error-disabled.
    pub async fn recover_port(&self, port: PortId) -> Result<bool, DataplaneError> {
        self.ask(|reply| Command::RecoverPort { port, reply }).await
    }

    /// Every port's device and its counters, by the order ports were added.
    pub async fn devices(&self) -> Result<Vec<PortDevice>, DataplaneError> {
        self.ask(|reply| Command::Devices { reply }).await
    }

    /// The datapath snapshot in force now (with the pins it chose).
    pub async fn config(&self) -> Result<Arc<Snapshot>, DataplaneError> {
        self.ask(|reply| Command::Config { reply }).await
    }

    /// Sends `frame` out of port `port`'s device as it is, past the datapath (counted by the
    /// device only): an uplink's RARP announcements.
    pub async fn transmit(&self, port: PortId, frame: Vec<u8>) -> Result<(), DataplaneError> {
        self.ask(|reply| Command::Transmit { port, frame, reply }).await?
    }

    async fn ask<T>(&self, request: impl FnOnce(Reply<T>) -> Command) -> Result<T, DataplaneError> {
        let (reply, answer) = oneshot::channel();
        self.shared.send(request(reply))?;
        answer.await.map_err(|_| DataplaneError::Stopped)
    }
}

impl Shared {
    fn send(&self, command: Command) -> Result<(), DataplaneError> {
        self.commands.send(command).map_err(|_| DataplaneError::Stopped)?;
        // Only fails if the counter would overflow: the thread has been woken already then.
        let _ = (&self.wake).write(&1u64.to_ne_bytes());
        Ok(())
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = self.send(Command::Stop);
        let thread = self.thread.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread {
            // The thread stops at its next wake-up, which the command just caused.
            let _ = thread.join();
        }
    }
}
