//! OVSDB: the seed's way of attaching a container. `ovs-vsctl add-port BRIDGE VETH -- set
//! interface VETH external_ids:iface-id=… attached-mac=… profile=… vm-uuid=… vm-name=…`
//! writes rows into a real ovsdb-server; the agent, in ovs-vswitchd's place, monitors them,
//! makes a port of every Interface row on its bridge, and writes back `ofport`, `link_state`,
//! `admin_state`, `status` and `error`, then `cur_cfg = next_cfg` so that `ovs-vsctl` (which
//! waits for that without `--no-wait`) returns.
//!
//! Layout: pure parts — the stream decoder ([`framing`]), JSON-RPC messages, OVSDB values
//! ([`datum`]), the replica, [`reconcile`] (rows → [`DesiredPort`]s), the transactions, and the
//! per-connection protocol machine ([`Session`]) — driven by one tokio task ([`spawn`]) that
//! owns the Unix socket and reconnects with backoff.
//!
//! RFC 7047 and ovsdb-server(7) (for `monitor_cond` / `update2`) are the references.

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
pub use reconcile::{DesiredPort, PortView, REQUIRED_KEYS, RejectReason, RejectedInterface, reconcile};
pub use session::{Session, SessionEvent, Ticket};
pub use transaction::{InterfaceState, LinkState, OFPORT_FAILED};
