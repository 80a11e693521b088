//! A reference model of etcd's semantics: a sorted map, a revision counter and an event log,
//! written for clarity rather than speed. The property tests hold `RedbStore` to it.

use std::collections::BTreeMap;

use store::{Compare, Event, KeyValue, Op, Revision, Txn, TxnResponse};

#[derive(Debug, Default, Clone)]
pub struct Model {
    pub revision: Revision,
    keys: BTreeMap<String, KeyValue>,
    /// Every committed revision with its events, oldest first.
    log: Vec<(Revision, Vec<Event>)>,
}

impl Model {
    pub fn get(&self, key: &str) -> Option<KeyValue> {
        self.keys.get(key).cloned()
    }

    pub fn range(&self, prefix: &str) -> Vec<KeyValue> {
        self.keys.values().filter(|kv| kv.key.starts_with(prefix)).cloned().collect()
    }

    pub fn range_between(&self, start: &str, end: &str) -> Vec<KeyValue> {
        self.keys.values().filter(|kv| kv.key.as_str() >= start && kv.key.as_str() < end).cloned().collect()
    }

    pub fn put(&mut self, key: &str, value: &[u8]) -> Revision {
        self.txn(&Txn {
            success: vec![Op::Put { key: key.to_string(), value: value.to_vec() }],
            ..Txn::default()
        })
        .revision
    }

    pub fn delete(&mut self, key: &str) -> Option<Revision> {
        let before = self.revision;
        let after =
            self.txn(&Txn { success: vec![Op::Delete { key: key.to_string() }], ..Txn::default() }).revision;
        (after != before).then_some(after)
    }

    pub fn txn(&mut self, txn: &Txn) -> TxnResponse {
        let succeeded = txn.compare.iter().all(|compare| self.holds(compare));
        let ops = if succeeded { &txn.success } else { &txn.failure };
        let revision = self.revision + 1;
        let mut events = Vec::new();
        let mut gets = Vec::new();
        for op in ops {
            match op {
                // The model has no leases; the property test never attaches keys to one.
                Op::Put { key, value } | Op::PutLeased { key, value, .. } => {
                    let kv = match self.keys.get(key) {
                        Some(old) => KeyValue {
                            key: key.clone(),
                            value: value.clone(),
                            create_revision: old.create_revision,
                            mod_revision: revision,
                            version: old.version + 1,
                        },
                        None => KeyValue {
                            key: key.clone(),
                            value: value.clone(),
                            create_revision: revision,
                            mod_revision: revision,
                            version: 1,
                        },
                    };
                    self.keys.insert(key.clone(), kv.clone());
                    events.push(Event::Put { kv });
                }
                Op::Delete { key } => {
                    if let Some(prev) = self.keys.remove(key) {
                        events.push(Event::Delete { prev, mod_revision: revision });
                    }
                }
                Op::DeletePrefix { prefix } => {
                    let doomed: Vec<String> =
                        self.keys.keys().filter(|k| k.starts_with(prefix.as_str())).cloned().collect();
                    for key in doomed {
                        let prev = self.keys.remove(&key).expect("listed key exists");
                        events.push(Event::Delete { prev, mod_revision: revision });
                    }
                }
                Op::Get { key } => gets.push(self.keys.get(key).cloned()),
            }
        }
        if !events.is_empty() {
            self.revision = revision;
            self.log.push((revision, events));
        }
        TxnResponse { succeeded, revision: self.revision, gets }
    }

    fn holds(&self, compare: &Compare) -> bool {
        match compare {
            Compare::ModRevision(key, rev) => self.keys.get(key).map_or(0, |kv| kv.mod_revision) == *rev,
            Compare::CreateRevision(key, rev) => {
                self.keys.get(key).map_or(0, |kv| kv.create_revision) == *rev
            }
            Compare::Value(key, value) => self.keys.get(key).is_some_and(|kv| kv.value == *value),
        }
    }

    /// What a watcher on `prefix` from `start` (inclusive) receives: one batch per revision that
    /// touched a matching key.
    pub fn watch_batches(&self, prefix: &str, start: Revision) -> Vec<Vec<Event>> {
        self.log
            .iter()
            .filter(|(revision, _)| *revision >= start)
            .map(|(_, events)| {
                events.iter().filter(|e| event_key(e).starts_with(prefix)).cloned().collect::<Vec<_>>()
            })
            .filter(|events| !events.is_empty())
            .collect()
    }
}

pub fn event_key(event: &Event) -> &str {
    match event {
        Event::Put { kv } => &kv.key,
        Event::Delete { prev, .. } => &prev.key,
    }
}
