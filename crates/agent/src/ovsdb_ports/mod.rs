//! What the Interface rows of the agent's bridge ask for: the agent's [`ovsdb::View`] of the
//! replica the OVSDB client keeps ([`reconcile()`]: rows → [`DesiredPort`]s and rejected rows).
//! The client itself is the `ovsdb` crate; [`crate::ports`] acts on the views.

pub mod reconcile;

pub use reconcile::{DesiredPort, DesiredState, REQUIRED_KEYS, RejectReason, RejectedInterface, reconcile};
