//! The library half of the `switchyard` binary: the shell client, the demo, and the child-process
//! handling they and the integration tests share. The daemons themselves live in their own crates.

pub mod demo;
pub mod join;
pub mod processes;
pub mod shell;
pub mod sshd;
pub mod stdout;
pub mod store_args;
pub mod transfer_command;

/// The demo's and the tests' network namespaces, kept at their old path.
pub use testbed::netns;
