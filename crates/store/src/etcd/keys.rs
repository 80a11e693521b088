//! The key space of one [`super::EtcdStore`]: every key lives under its prefix, and everything
//! read back is stripped of it and turned into the store's types.

use etcd_client::EventType;

use crate::{Event, KeyValue, StoreError};

#[derive(Debug, Clone)]
pub(super) struct Keyspace {
    prefix: String,
}

impl Keyspace {
    pub(super) fn new(prefix: String) -> Self {
        Self { prefix }
    }

    /// The etcd key for a store key (or key prefix).
    pub(super) fn etcd_key(&self, key: &str) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(self.prefix.as_bytes());
        full.extend_from_slice(key.as_bytes());
        full
    }

    fn store_key(&self, key: &[u8]) -> Result<String, StoreError> {
        let stripped = key.strip_prefix(self.prefix.as_bytes()).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "etcd returned key {:?} outside the prefix {:?}",
                String::from_utf8_lossy(key),
                self.prefix
            ))
        })?;
        String::from_utf8(stripped.to_vec()).map_err(|_| {
            StoreError::Corrupt(format!("etcd key {:?} is not UTF-8", String::from_utf8_lossy(key)))
        })
    }

    pub(super) fn key_value(&self, kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
        Ok(KeyValue {
            key: self.store_key(kv.key())?,
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
            version: kv.version(),
        })
    }

    pub(super) fn key_values(&self, kvs: &[etcd_client::KeyValue]) -> Result<Vec<KeyValue>, StoreError> {
        kvs.iter().map(|kv| self.key_value(kv)).collect()
    }

    /// A watch event. A delete whose previous value etcd no longer has (compacted) carries the
    /// key with an empty value and zero revisions.
    pub(super) fn event(&self, event: &etcd_client::Event) -> Result<Event, StoreError> {
        let kv =
            event.kv().ok_or_else(|| StoreError::Corrupt("etcd sent a watch event without a key".into()))?;
        match event.event_type() {
            EventType::Put => Ok(Event::Put { kv: self.key_value(kv)? }),
            EventType::Delete => {
                let prev = match event.prev_kv() {
                    Some(prev) => self.key_value(prev)?,
                    None => KeyValue {
                        key: self.store_key(kv.key())?,
                        value: Vec::new(),
                        create_revision: 0,
                        mod_revision: 0,
                        version: 0,
                    },
                };
                Ok(Event::Delete { prev, mod_revision: kv.mod_revision() })
            }
        }
    }
}
