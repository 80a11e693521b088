//! OVSDB: the seed's way of attaching a container. `ovs-vsctl add-port BRIDGE VETH -- set
//! interface VETH external_ids:iface-id=… attached-mac=… profile=… vm-uuid=… vm-name=…`
//! writes rows into a real ovsdb-server; the agent, in ovs-vswitchd's place, monitors them,
//! makes a port of every Interface row on its bridge, and writes back `ofport`, `link_state`,
//! `admin_state`, `status` and `error`, then `cur_cfg = next_cfg` so that `ovs-vsctl` (which
//! waits for that without `--no-wait`) returns.
//!
//! Layout: pure parts — the stream decoder ([`framing`]), JSON-RPC messages, OVSDB values
//! ([`datum`]), the replica, [`reconcile()`] (rows → [`DesiredPort`]s), the transactions, and the
//! per-connection protocol machine ([`Session`]) — driven by one tokio task ([`spawn`]) that
//! owns the Unix socket and reconnects with backoff.
//!
//! RFC 7047 and ovsdb-server(7) (for `monitor_cond` / `update2`) are the references.
//!
//! The agent's side of the contract, in full:
//!
//! ```no_run
//! # async fn agent() -> Result<(), agent::ovsdb::OvsdbError> {
//! use agent::ovsdb::{InterfaceState, OvsdbConfig, OvsdbEvent, spawn};
//!
//! let config = OvsdbConfig::new("unix:/run/openvswitch/db.sock".parse()?, "sy-br");
//! let (ovsdb, mut events) = spawn(config);
//! while let Some(event) = events.recv().await {
//!     if let OvsdbEvent::Changed(state) = event {
//!         // Make the ports `state.desired` lists, remove the others, then write back every
//!         // row: working ports with their number, the rest with an error.
//!         let mut rows: Vec<InterfaceState> =
//!             state.desired.iter().map(|port| InterfaceState::up(&port.ifname, 1)).collect();
//!         rows.extend(state.rejected.iter().map(|rejected| rejected.state()));
//!         ovsdb.acknowledge(state.next_cfg, rows).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod config;
pub mod datum;
mod driver;
mod error;
pub mod framing;
mod jsonrpc;
mod outbox;
pub mod reconcile;
pub mod replica;
pub mod schema;
mod session;
mod transaction;

pub use config::{Endpoint, OvsdbConfig};
pub use driver::{OvsdbEvent, OvsdbHandle, OvsdbStats, spawn};
pub use error::OvsdbError;
pub use jsonrpc::Message;
pub use reconcile::{DesiredPort, DesiredState, REQUIRED_KEYS, RejectReason, RejectedInterface, reconcile};
pub use session::{Session, SessionEvent, Ticket};
pub use transaction::{InterfaceState, LinkState, OFPORT_FAILED};
