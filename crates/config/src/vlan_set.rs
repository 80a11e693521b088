//! A set of VLAN ids, printed and parsed in NX-OS range form (`1-5,7,100-109`).
//! Implemented by the config crate's owner; placeholder so dependents compile.
