//! The on-disk encoding of key records and history entries.
//!
//! Hand-rolled little-endian framing rather than serde: values are opaque bytes that JSON would
//! inflate several times over, and a decoder that checks every length can report damaged data as
//! an error instead of panicking. Pure: no I/O.

use crate::{Event, KeyValue, Revision};

/// Why stored bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{what} is truncated: needed {needed} more bytes, {left} left")]
    Truncated { what: &'static str, needed: usize, left: usize },
    #[error("{what} is not valid UTF-8")]
    NotUtf8 { what: &'static str },
    #[error("unknown event tag {0}")]
    UnknownEventTag(u8),
    #[error("{0} trailing bytes after the last event")]
    TrailingBytes(usize),
}

/// A key's stored state, without its name (the table key holds that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub create_revision: Revision,
    pub mod_revision: Revision,
    pub version: i64,
    pub value: Vec<u8>,
}

impl KeyRecord {
    /// Joins the record with its key.
    pub fn into_key_value(self, key: String) -> KeyValue {
        KeyValue {
            key,
            value: self.value,
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
        }
    }
}

/// `create_revision | mod_revision | version | value…` (value runs to the end).
pub fn encode_record(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + kv.value.len());
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.mod_revision.to_le_bytes());
    out.extend_from_slice(&kv.version.to_le_bytes());
    out.extend_from_slice(&kv.value);
    out
}

pub fn decode_record(bytes: &[u8]) -> Result<KeyRecord, DecodeError> {
    let mut reader = Reader::new(bytes);
    let create_revision = reader.i64("key record")?;
    let mod_revision = reader.i64("key record")?;
    let version = reader.i64("key record")?;
    Ok(KeyRecord { create_revision, mod_revision, version, value: reader.rest().to_vec() })
}

/// Table keys are stored as bytes so that a damaged key is an error, not a panic inside redb.
pub fn decode_key(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::NotUtf8 { what: "key" })
}

const TAG_PUT: u8 = 0;
const TAG_DELETE: u8 = 1;

/// `count | (tag [mod_revision] key_value)*` for the events of one revision.
pub fn encode_events(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len(&mut out, events.len());
    for event in events {
        match event {
            Event::Put { kv } => {
                out.push(TAG_PUT);
                encode_key_value(&mut out, kv);
            }
            Event::Delete { prev, mod_revision } => {
                out.push(TAG_DELETE);
                out.extend_from_slice(&mod_revision.to_le_bytes());
                encode_key_value(&mut out, prev);
            }
        }
    }
    out
}

pub fn decode_events(bytes: &[u8]) -> Result<Vec<Event>, DecodeError> {
    let mut reader = Reader::new(bytes);
    let count = reader.len("event count")?;
    // Do not trust `count` for the allocation: a damaged count must not reserve gigabytes.
    let mut events = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let event = match reader.u8("event tag")? {
            TAG_PUT => Event::Put { kv: decode_key_value(&mut reader)? },
            TAG_DELETE => {
                let mod_revision = reader.i64("delete event")?;
                Event::Delete { prev: decode_key_value(&mut reader)?, mod_revision }
            }
            tag => return Err(DecodeError::UnknownEventTag(tag)),
        };
        events.push(event);
    }
    match reader.rest().len() {
        0 => Ok(events),
        left => Err(DecodeError::TrailingBytes(left)),
    }
}

/// A revision counter stored in the meta table.
pub fn encode_revision(revision: Revision) -> [u8; 8] {
    revision.to_le_bytes()
}

pub fn decode_revision(bytes: &[u8]) -> Result<Revision, DecodeError> {
    let mut reader = Reader::new(bytes);
    let revision = reader.i64("revision")?;
    match reader.rest().len() {
        0 => Ok(revision),
        left => Err(DecodeError::TrailingBytes(left)),
    }
}

fn encode_key_value(out: &mut Vec<u8>, kv: &KeyValue) {
    put_len(out, kv.key.len());
    out.extend_from_slice(kv.key.as_bytes());
    put_len(out, kv.value.len());
    out.extend_from_slice(&encode_record(kv));
}

fn decode_key_value(reader: &mut Reader<'_>) -> Result<KeyValue, DecodeError> {
    let key_len = reader.len("key length")?;
    let key = decode_key(reader.take("key", key_len)?)?;
    let value_len = reader.len("value length")?;
    let record = decode_record(reader.take("key record", value_len.saturating_add(24))?)?;
    Ok(record.into_key_value(key))
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Keys and values beyond 4 GiB are refused by redb long before they get here.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
}

/// A cursor over stored bytes whose every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated { what, needed: n, left: self.bytes.len() });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(what, N)?);
        Ok(array)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.array(what).map(i64::from_le_bytes)
    }

    fn len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let len = u32::from_le_bytes(self.array(what)?);
        // usize is at least 32 bits on every target redb supports.
        Ok(len as usize)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &[u8], revision: Revision) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: value.to_vec(),
            create_revision: 1,
            mod_revision: revision,
            version: 3,
        }
    }

    #[test]
    fn record_round_trips() {
        let original = kv("port-profile/web", b"vlan 10", 7);
        let record = decode_record(&encode_record(&original)).expect("decodes");
        assert_eq!(record.into_key_value(original.key.clone()), original);
    }

    #[test]
    fn events_round_trip() {
        let events = vec![
            Event::Put { kv: kv("a", b"1", 4) },
            Event::Delete { prev: kv("b", b"", 2), mod_revision: 4 },
        ];
        assert_eq!(decode_events(&encode_events(&events)).expect("decodes"), events);
    }

    #[test]
    fn truncated_record_is_an_error() {
        let bytes = encode_record(&kv("a", b"value", 1));
        assert!(matches!(decode_record(&bytes[..20]), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn every_truncation_of_events_is_an_error() {
        let bytes = encode_events(&[Event::Put { kv: kv("key", b"value", 1) }]);
        for cut in 0..bytes.len() {
            assert!(decode_events(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn garbage_events_do_not_panic() {
        let garbage = [0xff_u8; 40];
        assert!(decode_events(&garbage).is_err());
        assert_eq!(decode_events(&[1, 0, 0, 0, 9]), Err(DecodeError::UnknownEventTag(9)));
    }

    #[test]
    fn non_utf8_key_is_an_error() {
        assert_eq!(decode_key(&[0xc3, 0x28]), Err(DecodeError::NotUtf8 { what: "key" }));
    }
}
