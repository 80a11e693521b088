//! The tables that make leases survive a restart: each lease with its TTL, and which keys are
//! attached to which lease (both ways, so that a put can detach a key and an expiry can find
//! every key of its lease, each in one lookup).

use redb::{ReadableTable, Table, TableDefinition};

use crate::codec;
use crate::{LeaseId, StoreError};

/// Lease id → its TTL in seconds.
pub(crate) const LEASES: TableDefinition<LeaseId, &[u8]> = TableDefinition::new("leases");
/// Key name → the lease it is attached to.
pub(crate) const KEY_LEASE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key_lease");
/// Lease id (8 bytes, big-endian so one lease's keys sort together) + key name → nothing.
pub(crate) const LEASE_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("lease_keys");

/// The next lease id to hand out, in the meta table.
pub(crate) const META_NEXT_LEASE: &[u8] = b"next_lease";

/// The lease tables of one write transaction.
pub(crate) struct LeaseLinks<'txn> {
    pub key_lease: Table<'txn, &'static [u8], &'static [u8]>,
    pub lease_keys: Table<'txn, &'static [u8], &'static [u8]>,
}

impl LeaseLinks<'_> {
    /// Attaches `key` to `lease`, detaching it from any lease it had.
    pub(crate) fn attach(&mut self, key: &str, lease: LeaseId) -> Result<(), StoreError> {
        self.detach(key)?;
        self.key_lease.insert(key.as_bytes(), codec::encode_revision(lease).as_slice())?;
        self.lease_keys.insert(link_key(lease, key).as_slice(), [].as_slice())?;
        Ok(())
    }

    /// Detaches `key` from its lease, if it has one.
    pub(crate) fn detach(&mut self, key: &str) -> Result<(), StoreError> {
        let lease = match self.key_lease.remove(key.as_bytes())? {
            Some(bytes) => codec::decode_revision(bytes.value())?,
            None => return Ok(()),
        };
        self.lease_keys.remove(link_key(lease, key).as_slice())?;
        Ok(())
    }

    /// Every key attached to `lease`, in key order.
    pub(crate) fn keys_of(&self, lease: LeaseId) -> Result<Vec<String>, StoreError> {
        let start = link_key(lease, "");
        let mut keys = Vec::new();
        for entry in self.lease_keys.range::<&[u8]>(start.as_slice()..)? {
            let (link, _) = entry?;
            let Some(key) = link.value().strip_prefix(start.as_slice()) else { break };
            keys.push(codec::decode_key(key)?);
        }
        Ok(keys)
    }
}

fn link_key(lease: LeaseId, key: &str) -> Vec<u8> {
    let mut link = Vec::with_capacity(8 + key.len());
    link.extend_from_slice(&lease.to_be_bytes());
    link.extend_from_slice(key.as_bytes());
    link
}

/// Every persisted lease with its TTL in seconds.
pub(crate) fn read_leases(
    leases: &impl ReadableTable<LeaseId, &'static [u8]>,
) -> Result<Vec<(LeaseId, i64)>, StoreError> {
    let mut found = Vec::new();
    for entry in leases.iter()? {
        let (id, ttl) = entry?;
        found.push((id.value(), codec::decode_revision(ttl.value())?));
    }
    Ok(found)
}

/// Takes the next lease id from the meta table (ids start at 1 and are never reused).
pub(crate) fn next_lease_id(
    meta: &mut Table<'_, &'static [u8], &'static [u8]>,
) -> Result<LeaseId, StoreError> {
    let id = match meta.get(META_NEXT_LEASE)? {
        Some(bytes) => codec::decode_revision(bytes.value())?,
        None => 1,
    };
    meta.insert(META_NEXT_LEASE, codec::encode_revision(id + 1).as_slice())?;
    Ok(id)
}
