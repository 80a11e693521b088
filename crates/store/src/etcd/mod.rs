//! The etcd backend.

mod options;

pub use options::{EtcdOptions, EtcdTls};

/// The etcd backend (next step).
#[derive(Debug)]
pub struct EtcdStore;
