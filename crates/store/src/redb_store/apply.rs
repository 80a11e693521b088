//! Running a [`Txn`] against the keys table inside one redb write transaction.
//!
//! Operations run in order and each sees the writes before it; every write in the transaction
//! carries the same revision, as in etcd.

use redb::Table;

use super::tables::{get_key, keys_with_prefix, put_key, remove_key};
use crate::{Compare, Event, KeyValue, Op, Revision, StoreError, Txn};

/// What a transaction did, before it is committed.
#[derive(Debug)]
pub(crate) struct Applied {
    pub succeeded: bool,
    /// The changes, in order; empty if the transaction wrote nothing.
    pub events: Vec<Event>,
    pub gets: Vec<Option<KeyValue>>,
}

/// Evaluates the compares, then runs the chosen branch, writing at `revision`.
pub(crate) fn apply(
    keys: &mut Table<'_, &'static [u8], &'static [u8]>,
    txn: &Txn,
    revision: Revision,
) -> Result<Applied, StoreError> {
    let mut succeeded = true;
    for compare in &txn.compare {
        if !holds(keys, compare)? {
            succeeded = false;
            break;
        }
    }
    let ops = if succeeded { &txn.success } else { &txn.failure };
    let mut applied = Applied { succeeded, events: Vec::new(), gets: Vec::new() };
    for op in ops {
        match op {
            Op::Put { key, value } => {
                let previous = get_key(keys, key)?;
                let kv = next_state(previous.as_ref(), key, value, revision);
                put_key(keys, &kv)?;
                applied.events.push(Event::Put { kv });
            }
            Op::Delete { key } => {
                if let Some(prev) = get_key(keys, key)? {
                    remove_key(keys, key)?;
                    applied.events.push(Event::Delete { prev, mod_revision: revision });
                }
            }
            Op::DeletePrefix { prefix } => {
                for prev in keys_with_prefix(keys, prefix)? {
                    remove_key(keys, &prev.key)?;
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
