//! An OVSDB client (RFC 7047) for the `Open_vSwitch` database, written for Switchyard's agent,
//! which links it to take the place of ovs-vswitchd: it monitors the Interface rows of one
//! bridge in a real ovsdb-server and writes back `ofport`, `link_state`, `admin_state`,
//! `status` and `error`, then `cur_cfg = next_cfg` so that `ovs-vsctl` (which waits for that
//! without `--no-wait`) returns.
//!
//! Layout: pure parts — the stream decoder ([`framing`]), JSON-RPC messages, OVSDB values
//! ([`datum`]), the [`replica`], the transactions, [`backoff`], and the per-connection protocol
//! machine ([`Session`]) — driven by one tokio task ([`spawn`]) that owns the Unix socket and
//! reconnects with backoff. What the rows *mean* is the linker's: it implements [`View`], a pure
//! function of the replica, and receives a new view whenever the rows change it.
//!
//! RFC 7047 and ovsdb-server(7) (for `monitor_cond` / `update2`) are the references.
//!
//! The linker's side of the contract, in full:
//!
//! ```no_run
//! # async fn agent() -> Result<(), ovsdb::OvsdbError> {
//! use ovsdb::replica::Replica;
//! use ovsdb::{InterfaceState, OvsdbConfig, OvsdbEvent, View, spawn};
//!
//! /// The names of the Interface rows, and the configuration to acknowledge.
//! #[derive(Debug, Clone, PartialEq)]
//! struct Names {
//!     names: Vec<String>,
//!     next_cfg: i64,
//! }
//!
//! impl View for Names {
//!     fn of(replica: &Replica, _bridge: &str) -> Self {
//!         let names = replica.rows("Interface").map(|(_, row)| row.text("name").to_owned()).collect();
//!         let next_cfg = replica.rows("Open_vSwitch").map(|(_, row)| row.integer("next_cfg")).sum();
//!         Names { names, next_cfg }
//!     }
//! }
//!
//! let config = OvsdbConfig::new("unix:/run/openvswitch/db.sock".parse()?, "sy-br");
//! let (ovsdb, mut events) = spawn::<Names>(config);
//! while let Some(event) = events.recv().await {
//!     if let OvsdbEvent::Changed(view) = event {
//!         // Act on the rows, then write every row's state back.
//!         let rows = view.names.iter().map(|name| InterfaceState::up(name, 1)).collect();
//!         ovsdb.acknowledge(view.next_cfg, rows).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod backoff;
mod config;
pub mod datum;
mod driver;
mod error;
pub mod framing;
mod jsonrpc;
mod outbox;
pub mod replica;
pub mod schema;
mod session;
mod transaction;
mod view;

pub use config::{Endpoint, OvsdbConfig};
pub use driver::{OvsdbEvent, OvsdbHandle, OvsdbStats, spawn};
pub use error::OvsdbError;
pub use jsonrpc::Message;
pub use session::{Session, SessionEvent, Ticket};
pub use transaction::{InterfaceState, LinkState, OFPORT_FAILED};
pub use view::{View, find_bridge};
