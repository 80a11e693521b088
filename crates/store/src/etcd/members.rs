//! One etcd client per member, used one at a time, as etcd's own Go client does: requests go to
//! the current member until it fails, then to the next.
//!
//! (tonic's balanced channel over all endpoints keeps handing requests to a member that is
//! down — a third of them with one member of three dead — so the store does not use it.)

use std::sync::atomic::{AtomicUsize, Ordering};

use etcd_client::{Client, ConnectOptions};

use crate::StoreError;

#[derive(Clone)]
pub(super) struct Members {
    clients: std::sync::Arc<[Client]>,
    current: std::sync::Arc<AtomicUsize>,
}

impl Members {
    /// Clients for every endpoint; none connects before its first request.
    pub(super) async fn new(endpoints: &[String], options: &ConnectOptions) -> Result<Self, StoreError> {
        let mut clients = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let client = Client::connect([endpoint], Some(options.clone())).await.map_err(|error| {
                StoreError::Unavailable(format!(
                    "cannot use etcd endpoint {endpoint}: {}",
                    super::errors::from_etcd(error)
                ))
            })?;
            clients.push(client);
        }
        Ok(Self { clients: clients.into(), current: std::sync::Arc::new(AtomicUsize::new(0)) })
    }

    pub(super) fn len(&self) -> usize {
        self.clients.len()
    }

    /// The member to ask now, with its index for [`Members::failed`].
    pub(super) fn current(&self) -> (usize, Client) {
        let index = self.current.load(Ordering::Acquire) % self.clients.len();
        (index, self.clients[index].clone())
    }

    /// Moves on from member `index` after it failed (unless another request already did).
    pub(super) fn failed(&self, index: usize) {
        let next = (index + 1) % self.clients.len();
        let _ = self.current.compare_exchange(index, next, Ordering::AcqRel, Ordering::Acquire);
    }
}
