//! `switchyard shell`: the NX-OS-style shell. A thin client: the command language (modes,
//! completion, `?`) comes from the `cli` crate, every command runs in the supervisor over REST.

pub mod client;
