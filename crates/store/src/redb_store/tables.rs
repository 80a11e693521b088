//! The redb tables behind the store and typed reads and writes over them.
//!
//! Keys and values are raw bytes decoded by [`crate::codec`], so damaged data surfaces as
//! [`StoreError::Corrupt`] rather than as a panic inside redb's typed accessors.

use redb::{ReadableTable, Table, TableDefinition};

use crate::codec;
use crate::{Event, KeyValue, Revision, StoreError};

/// Key name → `KeyRecord`: the current state of every live key.
pub(crate) const KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("keys");
/// Revision → the events that revision committed, kept for watchers to replay.
pub(crate) const HISTORY: TableDefinition<Revision, &[u8]> = TableDefinition::new("history");
/// Counters that must survive a restart.
pub(crate) const META: TableDefinition<&[u8], &[u8]> = TableDefinition::new("meta");

/// The store's revision (the last committed write).
const META_REVISION: &[u8] = b"revision";
/// The newest revision dropped from the history; watches must start after it.
const META_COMPACTED: &[u8] = b"compacted";

/// The counters kept in [`META`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub revision: Revision,
    pub compacted: Revision,
}

pub(crate) fn read_counters(
    meta: &impl ReadableTable<&'static [u8], &'static [u8]>,
) -> Result<Counters, StoreError> {
    let read = |name: &[u8]| -> Result<Revision, StoreError> {
        match meta.get(name)? {
            Some(bytes) => Ok(codec::decode_revision(bytes.value())?),
            None => Ok(0),
        }
    };
    Ok(Counters { revision: read(META_REVISION)?, compacted: read(META_COMPACTED)? })
}

pub(crate) fn write_counters(
    meta: &mut Table<'_, &'static [u8], &'static [u8]>,
    counters: Counters,
) -> Result<(), StoreError> {
    meta.insert(META_REVISION, codec::encode_revision(counters.revision).as_slice())?;
    meta.insert(META_COMPACTED, codec::encode_revision(counters.compacted).as_slice())?;
    Ok(())
}

pub(crate) fn get_key(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &str,
) -> Result<Option<KeyValue>, StoreError> {
    match keys.get(key.as_bytes())? {
        Some(bytes) => {
            let record = codec::decode_record(bytes.value())?;
            Ok(Some(record.into_key_value(key.to_string())))
        }
        None => Ok(None),
    }
}

/// Every key that starts with `prefix`, in key order.
pub(crate) fn keys_with_prefix(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &str,
) -> Result<Vec<KeyValue>, StoreError> {
    let mut found = Vec::new();
    for entry in keys.range::<&[u8]>(prefix.as_bytes()..)? {
        let (key, value) = entry?;
        if !key.value().starts_with(prefix.as_bytes()) {
            break;
        }
        found.push(decode_entry(key.value(), value.value())?);
    }
    Ok(found)
}

/// Every key in `[start, end)`, in key order.
pub(crate) fn keys_between(
    keys: &impl ReadableTable<&'static [u8], &'static [u8]>,
    start: &str,
    end: &str,
) -> Result<Vec<KeyValue>, StoreError> {
    if start >= end {
        return Ok(Vec::new());
    }
    keys.range::<&[u8]>(start.as_bytes()..end.as_bytes())?
        .map(|entry| {
            let (key, value) = entry?;
            decode_entry(key.value(), value.value())
        })
        .collect()
}

fn decode_entry(key: &[u8], value: &[u8]) -> Result<KeyValue, StoreError> {
    let key = codec::decode_key(key)?;
    Ok(codec::decode_record(value)?.into_key_value(key))
}

pub(crate) fn put_key(
    keys: &mut Table<'_, &'static [u8], &'static [u8]>,
    kv: &KeyValue,
) -> Result<(), StoreError> {
    keys.insert(kv.key.as_bytes(), codec::encode_record(kv).as_slice())?;
    Ok(())
}

pub(crate) fn remove_key(
    keys: &mut Table<'_, &'static [u8], &'static [u8]>,
    key: &str,
) -> Result<(), StoreError> {
    keys.remove(key.as_bytes())?;
    Ok(())
}

/// A run of history read from one snapshot, already filtered to a watcher's prefix.
#[derive(Debug, Default)]
pub(crate) struct HistoryChunk {
    /// Revisions with at least one matching event, oldest first.
    pub entries: Vec<(Revision, Vec<Event>)>,
    /// The revision a watcher should ask for next.
    pub next: Revision,
    /// Whether the chunk reached the snapshot's revision (otherwise more history follows).
    pub complete: bool,
}

/// Reads up to `limit` revisions of history from `from` (inclusive), keeping events for keys
/// with `prefix`.
pub(crate) fn read_history(
    history: &impl ReadableTable<Revision, &'static [u8]>,
    counters: Counters,
    prefix: &str,
    from: Revision,
    limit: usize,
) -> Result<HistoryChunk, StoreError> {
    if from <= counters.compacted {
        return Err(StoreError::Compacted { requested: from, oldest: counters.compacted + 1 });
    }
    let mut chunk =
        HistoryChunk { entries: Vec::new(), next: from.max(counters.revision + 1), complete: true };
    for (read, entry) in history.range(from..)?.enumerate() {
        let (revision, bytes) = entry?;
        let revision = revision.value();
        if read == limit {
            chunk.next = revision;
            chunk.complete = false;
            break;
        }
        let mut events = codec::decode_events(bytes.value())?;
        events.retain(|event| event_matches(event, prefix));
        if !events.is_empty() {
            chunk.entries.push((revision, events));
        }
    }
    Ok(chunk)
}

/// Whether a watcher on `prefix` sees `event`.
pub(crate) fn event_matches(event: &Event, prefix: &str) -> bool {
    let key = match event {
        Event::Put { kv } => &kv.key,
        Event::Delete { prev, .. } => &prev.key,
    };
    key.starts_with(prefix)
}

pub(crate) fn append_history(
    history: &mut Table<'_, Revision, &'static [u8]>,
    revision: Revision,
    events: &[Event],
) -> Result<(), StoreError> {
    history.insert(revision, codec::encode_events(events).as_slice())?;
    Ok(())
}

/// Drops history older than the newest `limit` revisions; returns the new compacted revision.
pub(crate) fn compact_history(
    history: &mut Table<'_, Revision, &'static [u8]>,
    counters: Counters,
    limit: Revision,
) -> Result<Revision, StoreError> {
    let compact_to = counters.revision - limit;
    if compact_to <= counters.compacted {
        return Ok(counters.compacted);
    }
    history.retain_in(..=compact_to, |_, _| false)?;
    Ok(compact_to)
}
