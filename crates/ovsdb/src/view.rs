//! What the linker makes of the replica. The client knows the protocol and the tables; what
//! the rows ask for (which interfaces are ports, which rows are wrong) is the linker's, so the
//! session hands it the replica through [`View`] and reports only views that differ.

use std::fmt;

use super::replica::{Replica, Row};
use super::schema::{BRIDGE, OPEN_VSWITCH};

/// A pure function of the replica, compared to decide whether anything changed. The session
/// computes it after every update once the monitor reply is in, and emits it
/// ([`crate::OvsdbEvent::Changed`]) when it differs from the previous one, so a view should hold
/// only what the linker acts on: our own write-backs (`ofport`, `status`, `cur_cfg`) then
/// cause no event.
pub trait View: Clone + PartialEq + fmt::Debug + Send + 'static {
    /// The view of `replica` for a linker that owns `bridge`.
    fn of(replica: &Replica, bridge: &str) -> Self;

    /// Called once for each view that will be emitted, with the one emitted before on this
    /// connection (none on the first): where to log what became wrong, once. Does nothing unless
    /// implemented.
    fn announce(&self, bridge: &str, previous: Option<&Self>) {
        let _ = (bridge, previous);
    }
}

/// The Bridge row named `bridge` that the root row references (an unreferenced one is garbage).
pub fn find_bridge<'a>(replica: &'a Replica, bridge: &str) -> Option<&'a Row> {
    replica
        .rows(OPEN_VSWITCH)
        .flat_map(|(_, root)| root.uuids("bridges"))
        .filter_map(|uuid| replica.row(BRIDGE, uuid))
        .find(|row| row.text("name") == bridge)
}
