//! The thin tokio shell around [`Session`]: owns the socket, reconnects with backoff, hands
//! events to the agent and runs its transactions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use super::OvsdbError;
use super::backoff::{Backoff, random_unit};
use super::config::{Endpoint, OvsdbConfig};
use super::outbox::Outbox;
use super::session::{Session, SessionEvent, Ticket};
use super::transaction::InterfaceState;
use super::view::View;

/// How many events the channel to the agent holds; more wait, coalesced, in the driver.
const EVENT_CHANNEL: usize = 8;
/// How many transactions may wait for the driver.
const COMMAND_CHANNEL: usize = 64;
/// One socket read.
const READ_CHUNK: usize = 64 * 1024;

/// What the OVSDB client tells the agent; `V` is the agent's [`View`] of the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OvsdbEvent<V> {
    /// Connected to ovsdb-server; a [`OvsdbEvent::Changed`] with the full state follows.
    Connected,
    /// The agent's view of the rows, in full: the first after each (re)connect, then one
    /// whenever it changes. The agent applies it, then calls [`OvsdbHandle::acknowledge`] with
    /// the `next_cfg` it saw and every row's state.
    Changed(V),
    /// The connection is gone; the client reconnects on its own. The agent keeps its ports.
    Disconnected {
        /// Why, for the log.
        reason: String,
    },
}

/// Counters of the client, for `show` commands and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OvsdbStats {
    /// Whether a connection is up now.
    pub connected: bool,
    /// Connections made so far.
    pub connections: u64,
    /// Connections dropped because the server sent something malformed.
    pub malformed_messages: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connected: AtomicBool,
    connections: AtomicU64,
    malformed_messages: AtomicU64,
}

#[derive(Debug)]
enum Write {
    Acknowledge { next_cfg: i64, states: Vec<InterfaceState> },
    States(Vec<InterfaceState>),
}

#[derive(Debug)]
struct Command {
    write: Write,
    reply: oneshot::Sender<Result<(), OvsdbError>>,
}

/// The agent's side of the OVSDB client: cheap to clone; the client stops when every handle
/// is dropped.
#[derive(Debug, Clone)]
pub struct OvsdbHandle {
    commands: mpsc::Sender<Command>,
    counters: Arc<Counters>,
}

impl OvsdbHandle {
    /// Writes every row's state and `cur_cfg = next_cfg` in one transaction: what releases
    /// the `ovs-vsctl` calls (without `--no-wait`) that asked for configuration `next_cfg`.
    pub async fn acknowledge(&self, next_cfg: i64, states: Vec<InterfaceState>) -> Result<(), OvsdbError> {
        self.run(Write::Acknowledge { next_cfg, states }).await
    }

    /// Writes one row's `ofport`, `link_state`, `admin_state`, `status` and `error`.
    pub async fn set_interface_state(&self, state: InterfaceState) -> Result<(), OvsdbError> {
        self.set_interface_states(vec![state]).await
    }

    /// Writes several rows' states in one transaction.
    pub async fn set_interface_states(&self, states: Vec<InterfaceState>) -> Result<(), OvsdbError> {
        self.run(Write::States(states)).await
    }

    /// The client's counters now.
    pub fn stats(&self) -> OvsdbStats {
        OvsdbStats {
            connected: self.counters.connected.load(Ordering::Relaxed),
            connections: self.counters.connections.load(Ordering::Relaxed),
            malformed_messages: self.counters.malformed_messages.load(Ordering::Relaxed),
        }
    }

    async fn run(&self, write: Write) -> Result<(), OvsdbError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command { write, reply }).await.map_err(|_| OvsdbError::Stopped)?;
        answer.await.map_err(|_| OvsdbError::Stopped)?
    }
}

/// Starts the client on the current tokio runtime: it connects, monitors, creates the bridge
/// when missing, and keeps reconnecting until every [`OvsdbHandle`] is dropped.
pub fn spawn<V: View>(config: OvsdbConfig) -> (OvsdbHandle, mpsc::Receiver<OvsdbEvent<V>>) {
    let (commands_tx, commands) = mpsc::channel(COMMAND_CHANNEL);
    let (events, events_rx) = mpsc::channel(EVENT_CHANNEL);
    let counters = Arc::new(Counters::default());
    let driver = Driver { config, commands, events, counters: counters.clone(), outbox: Outbox::default() };
    tokio::spawn(driver.run());
    (OvsdbHandle { commands: commands_tx, counters }, events_rx)
}

/// How a connection ended.
enum Ended {
    /// Every handle is gone: stop.
    Stopped,
    /// The connection failed or ended (after the monitor reply, if `synced`); reconnect.
    Lost { reason: String, synced: bool },
}

struct Driver<V> {
    config: OvsdbConfig,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<OvsdbEvent<V>>,
    counters: Arc<Counters>,
    outbox: Outbox<V>,
}

impl<V: View> Driver<V> {
    async fn run(mut self) {
        let mut backoff = Backoff::new(self.config.reconnect_min, self.config.reconnect_max);
        // Whether the agent has heard that the connection is down (so a server that stays
        // away gives one Disconnected, not one per attempt).
        let mut told_down = false;
        loop {
            let Endpoint::Unix(path) = &self.config.endpoint;
            let ended = match UnixStream::connect(path).await {
                Ok(stream) => {
                    told_down = false;
                    self.counters.connections.fetch_add(1, Ordering::Relaxed);
                    self.counters.connected.store(true, Ordering::Relaxed);
                    tracing::info!(endpoint = %self.config.endpoint, "ovsdb: connected");
                    self.outbox.push(OvsdbEvent::Connected);
                    let ended = self.connection(stream).await;
                    self.counters.connected.store(false, Ordering::Relaxed);
                    ended
                }
                Err(error) => Ended::Lost { reason: format!("cannot connect: {error}"), synced: false },
            };
            let Ended::Lost { reason, synced } = ended else { return };
            if synced {
                backoff.reset();
            }
            if !told_down {
                told_down = true;
                tracing::warn!(endpoint = %self.config.endpoint, "ovsdb: {reason}; reconnecting");
                self.outbox.push(OvsdbEvent::Disconnected { reason });
            } else {
                tracing::debug!(endpoint = %self.config.endpoint, "ovsdb: {reason}");
            }
            if !self.idle(backoff.next_delay(random_unit())).await {
                return;
            }
        }
    }

    /// Serves one connection until it ends.
    async fn connection(&mut self, stream: UnixStream) -> Ended {
        let (mut reader, mut writer) = stream.into_split();
        let mut session = Session::<V>::new(self.config.bridge.clone());
        let mut waiters: HashMap<Ticket, oneshot::Sender<Result<(), OvsdbError>>> = HashMap::new();
        let mut chunk = vec![0u8; READ_CHUNK];
        let ended = loop {
            while let Some(event) = session.poll_event() {
                match event {
                    SessionEvent::Changed(view) => self.outbox.push(OvsdbEvent::Changed(view)),
                    SessionEvent::Transacted { ticket, result } => {
                        if let Some(waiter) = waiters.remove(&ticket) {
                            let _ = waiter.send(result);
                        }
                    }
                }
            }
            let out = session.take_transmit();
            if !out.is_empty()
                && let Err(error) = writer.write_all(&out).await
            {
                break format!("write failed: {error}");
            }
            tokio::select! {
                read = reader.read(&mut chunk) => match read {
                    Ok(0) => break "ovsdb-server closed the connection".to_owned(),
                    Ok(n) => {
                        if let Err(error) = session.receive(chunk.get(..n).unwrap_or_default()) {
                            if matches!(error, OvsdbError::Malformed(_) | OvsdbError::MessageTooLarge { .. }
                                | OvsdbError::UnexpectedResponse(_))
                            {
                                self.counters.malformed_messages.fetch_add(1, Ordering::Relaxed);
                            }
                            break error.to_string();
                        }
                    }
                    Err(error) => break format!("read failed: {error}"),
                },
                command = self.commands.recv() => {
                    let Some(Command { write, reply }) = command else { return Ended::Stopped };
                    let ticket = match &write {
                        Write::Acknowledge { next_cfg, states } => session.acknowledge(*next_cfg, states),
                        Write::States(states) => session.set_interface_states(states),
                    };
                    waiters.insert(ticket, reply);
                }
                permit = self.events.reserve(), if !self.outbox.is_empty() => deliver(&mut self.outbox, permit),
            }
        };
        for (_, waiter) in waiters {
            let _ = waiter.send(Err(OvsdbError::ConnectionLost));
        }
        Ended::Lost { reason: ended, synced: session.is_synced() }
    }

    /// Waits `delay` before the next attempt, refusing transactions and delivering events;
    /// false when every handle is gone.
    async fn idle(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                command = self.commands.recv() => match command {
                    Some(Command { reply, .. }) => { let _ = reply.send(Err(OvsdbError::NotConnected)); }
                    None => return false,
                },
                permit = self.events.reserve(), if !self.outbox.is_empty() => deliver(&mut self.outbox, permit),
            }
        }
    }
}

/// Hands the oldest waiting event to the agent.
fn deliver<V>(
    outbox: &mut Outbox<V>,
    permit: Result<mpsc::Permit<'_, OvsdbEvent<V>>, mpsc::error::SendError<()>>,
) {
    match permit {
        Ok(permit) => {
            if let Some(event) = outbox.pop() {
                permit.send(event);
            }
        }
        // Nobody listens any more; transactions may still come through the handles.
        Err(_) => outbox.clear(),
    }
}
