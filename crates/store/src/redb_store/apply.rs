//! Running a [`Txn`] against the keys table inside one redb write transaction.
//!
//! Operations run in order and each sees the writes before it; every write in the transaction
//! carries the same revision, as in etcd. Leases are checked before anything is written: a put
//! onto a dead lease fails the whole transaction, as etcd does.

use redb::Table;

use super::lease_tables::LeaseLinks;
use super::tables::{get_key, keys_with_prefix, put_key, remove_key};
use crate::{Compare, Event, KeyValue, LeaseId, Op, Revision, StoreError, Txn};

/// What a transaction did, before it is committed.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub succeeded: bool,
    /// The changes, in order; empty if the transaction wrote nothing.
    pub events: Vec<Event>,
    pub gets: Vec<Option<KeyValue>>,
    /// Whether it changed something other than keys (a lease's row), so that it must be
    /// committed even without events.
    pub side_effects: bool,
}

/// The tables a transaction writes.
pub(crate) struct WriteTables<'txn> {
    pub keys: Table<'txn, &'static [u8], &'static [u8]>,
    pub links: LeaseLinks<'txn>,
}

/// Evaluates the compares, then runs the chosen branch, writing at `revision`. `lease_alive`
/// says whether a lease may take keys.
pub(crate) fn apply(
    tables: &mut WriteTables<'_>,
    txn: &Txn,
    revision: Revision,
    lease_alive: &dyn Fn(LeaseId) -> bool,
) -> Result<Applied, StoreError> {
    let keys = &mut tables.keys;
    let mut succeeded = true;
    for compare in &txn.compare {
        if !holds(keys, compare)? {
            succeeded = false;
            break;
        }
    }
    let ops = if succeeded { &txn.success } else { &txn.failure };
    for op in ops {
        if let Op::PutLeased { lease, .. } = op
            && !lease_alive(*lease)
        {
            return Err(StoreError::LeaseNotFound { lease: *lease });
        }
    }
    let mut applied = Applied { succeeded, ..Applied::default() };
    for op in ops {
        match op {
            Op::Put { key, value } | Op::PutLeased { key, value, .. } => {
                let previous = get_key(keys, key)?;
                let kv = next_state(previous.as_ref(), key, value, revision);
                put_key(keys, &kv)?;
                // A plain put detaches the key from its lease, as in etcd.
                match op {
                    Op::PutLeased { lease, .. } => tables.links.attach(key, *lease)?,
                    _ => tables.links.detach(key)?,
                }
                applied.events.push(Event::Put { kv });
            }
            Op::Delete { key } => {
                if let Some(prev) = get_key(keys, key)? {
                    remove_key(keys, key)?;
                    tables.links.detach(key)?;
                    applied.events.push(Event::Delete { prev, mod_revision: revision });
                }
            }
            Op::DeletePrefix { prefix } => {
                for prev in keys_with_prefix(keys, prefix)? {
                    remove_key(keys, &prev.key)?;
                    tables.links.detach(&prev.key)?;
                    applied.events.push(Event::Delete { prev, mod_revision: revision });
                }
            }
            Op::Get { key } => applied.gets.push(get_key(keys, key)?),
        }
    }
    Ok(applied)
}

fn holds(keys: &Table<'_, &'static [u8], &'static [u8]>, compare: &Compare) -> Result<bool, StoreError> {
    Ok(match compare {
        Compare::ModRevision(key, expected) => {
            get_key(keys, key)?.map_or(0, |kv| kv.mod_revision) == *expected
        }
        Compare::CreateRevision(key, expected) => {
            get_key(keys, key)?.map_or(0, |kv| kv.create_revision) == *expected
        }
        Compare::Value(key, expected) => get_key(keys, key)?.is_some_and(|kv| kv.value == *expected),
    })
}

/// A key's state after a put at `revision`: created fresh, or one version on from `previous`.
fn next_state(previous: Option<&KeyValue>, key: &str, value: &[u8], revision: Revision) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: value.to_vec(),
        create_revision: previous.map_or(revision, |kv| kv.create_revision),
        mod_revision: revision,
        version: previous.map_or(1, |kv| kv.version + 1),
    }
}
