//! The library half of the `switchyard` binary: the shell client, the demo, and the child-process
//! handling they and the integration tests share. The daemons themselves live in their own crates.

pub mod demo;
pub mod netns;
pub mod processes;
pub mod shell;
pub mod sshd;
