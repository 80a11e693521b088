//! What Switchyard's demo and tests build a host out of: network namespaces that remove
//! themselves on drop, and the commands that fill them. One copy, so every test cleans up alike.

pub mod command;
pub mod etcd;
pub mod fabric;
pub mod images;
pub mod netns;
pub mod supervisor_access;
