//! Switchyard's configuration: the model and the NX-OS-style language that describes it.
//!
//! Pure: no I/O, no clock. The supervisor keeps a [`Config`]; every change — a line typed in the
//! shell, a script posted to REST — goes through [`apply`], which parses the text, applies it to a
//! copy and validates the result, so a bad line changes nothing (atomic apply).
//!
//! `print ∘ parse` is a fixed point: [`print_running_config`] emits canonical text that [`apply`]
//! turns back into the same model.

pub mod model;
pub mod vlan_set;

pub use model::*;
pub use vlan_set::VlanSet;
