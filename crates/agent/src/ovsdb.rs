//! The OVSDB client (the `ovsdb` crate) as the agent uses it: its view of the rows is a
//! [`DesiredState`], so [`OvsdbEvent::Changed`] carries one. The seed attaches a container with
//! `ovs-vsctl add-port BRIDGE VETH -- set interface VETH external_ids:iface-id=… attached-mac=…
//! profile=… vm-uuid=… vm-name=…`; the agent, in ovs-vswitchd's place, makes a port of every
//! Interface row on its bridge and writes the rows back.
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

use tokio::sync::mpsc;

pub use ::ovsdb::*;

pub use crate::ovsdb_ports::{
    DesiredPort, DesiredState, REQUIRED_KEYS, RejectReason, RejectedInterface, reconcile,
};

/// What the OVSDB client tells the agent: the ports the database asks for, in full, the first
/// after each (re)connect, then one whenever they or `next_cfg` change.
pub type OvsdbEvent = ::ovsdb::OvsdbEvent<DesiredState>;

/// Starts the OVSDB client with the agent's view of the rows; see [`::ovsdb::spawn`].
pub fn spawn(config: OvsdbConfig) -> (OvsdbHandle, mpsc::Receiver<OvsdbEvent>) {
    ::ovsdb::spawn(config)
}
