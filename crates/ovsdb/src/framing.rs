//! Splitting the byte stream into JSON values. OVSDB (RFC 7047) sends JSON-RPC messages back to
//! back on the socket with no length prefix and no delimiter, and a read may end anywhere: in
//! the middle of a message, of a string, of a number. The decoder keeps the incomplete tail and
//! parses it again once more bytes arrive.

use serde_json::Value;

use super::OvsdbError;

/// The largest single message the decoder buffers (the initial monitor reply of a host with
/// thousands of ports is a few MiB). Past it the peer is treated as broken, not trusted with
/// unbounded memory.
pub const DEFAULT_MESSAGE_LIMIT: usize = 64 << 20;

/// Bytes in, complete JSON values out. Pure: no I/O.
#[derive(Debug)]
pub struct StreamDecoder {
    buffer: Vec<u8>,
    limit: usize,
    failed: bool,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MESSAGE_LIMIT)
    }
}

impl StreamDecoder {
    /// A decoder refusing messages longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { buffer: Vec::new(), limit, failed: false }
    }

    /// Appends `bytes` and returns every value they complete, in order. After an error the
    /// stream has lost its framing for good: this and every later call fail.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Vec<Value>, OvsdbError> {
        if self.failed {
            return Err(OvsdbError::malformed("the stream already failed to parse"));
        }
        self.buffer.extend_from_slice(bytes);
        let result = self.drain_complete();
        if result.is_err() {
            self.failed = true;
            self.buffer = Vec::new();
        }
        result
    }

    /// How many bytes wait for the rest of their message.
    pub fn pending_bytes(&self) -> usize {
        self.buffer.len()
    }

    fn drain_complete(&mut self) -> Result<Vec<Value>, OvsdbError> {
        let mut values = Vec::new();
        let mut stream = serde_json::Deserializer::from_slice(&self.buffer).into_iter::<Value>();
        let mut consumed = 0;
        loop {
            match stream.next() {
                Some(Ok(value)) => {
                    consumed = stream.byte_offset();
                    values.push(value);
                }
                // The tail is the start of a message still on its way.
                Some(Err(error)) if error.is_eof() => break,
                Some(Err(error)) => {
                    return Err(OvsdbError::malformed(format!("invalid JSON: {error}")));
                }
                None => {
                    consumed = self.buffer.len();
                    break;
                }
            }
        }
        self.buffer.drain(..consumed);
        if self.buffer.len() > self.limit {
            return Err(OvsdbError::MessageTooLarge { limit: self.limit });
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn messages() -> Vec<Value> {
        vec![
            json!({"id": "echo", "method": "echo", "params": []}),
            json!({"id": null, "method": "update2", "params": [null, {"Interface": {
                "5c6c2ad8-8d9e-4f35-9a3a-0f6f6a1d2b3c": {"insert": {"name": "veth \"quoted\" {x}",
                "external_ids": ["map", [["iface-id", "ü-ñ"]]]}}}}]}),
            json!({"id": 7, "result": [{"count": 1}, {}], "error": null}),
            json!({"id": 8, "result": null, "error": {"error": "unknown method", "details": "\\"}}),
        ]
    }

    fn concatenated(values: &[Value], separator: &str) -> Vec<u8> {
        values.iter().map(Value::to_string).collect::<Vec<_>>().join(separator).into_bytes()
    }

    #[test]
    fn back_to_back_messages_come_out_in_order() {
        let all = messages();
        let mut decoder = StreamDecoder::default();
        assert_eq!(decoder.decode(&concatenated(&all, "")).unwrap(), all);
        assert_eq!(decoder.pending_bytes(), 0);
    }

    #[test]
    fn whitespace_between_messages_is_skipped() {
        let all = messages();
        let mut decoder = StreamDecoder::default();
        assert_eq!(decoder.decode(&concatenated(&all, "\n \t")).unwrap(), all);
    }

    #[test]
    fn a_message_split_inside_a_string_waits_for_its_tail() {
        let bytes = concatenated(&messages()[1..2], "");
        let cut = bytes.iter().position(|&b| b == b'{').unwrap() + 40;
        let mut decoder = StreamDecoder::default();
        assert!(decoder.decode(&bytes[..cut]).unwrap().is_empty());
        assert_eq!(decoder.pending_bytes(), cut);
        assert_eq!(decoder.decode(&bytes[cut..]).unwrap(), messages()[1..2]);
        assert_eq!(decoder.pending_bytes(), 0);
    }

    #[test]
    fn garbage_is_an_error_and_the_decoder_stays_failed() {
        let mut decoder = StreamDecoder::default();
        let error = decoder.decode(b"{\"id\": 1} }{").unwrap_err();
        assert!(matches!(error, OvsdbError::Malformed(_)), "{error}");
        assert!(error.to_string().contains("invalid JSON"), "{error}");
        assert!(decoder.decode(b"{\"id\": 2}").is_err());
    }

    #[test]
    fn an_endless_message_hits_the_limit() {
        let mut decoder = StreamDecoder::new(1024);
        assert!(decoder.decode(b"{\"params\": [\"").unwrap().is_empty());
        let error = decoder.decode(&[b'a'; 2048]).unwrap_err();
        assert!(matches!(error, OvsdbError::MessageTooLarge { limit: 1024 }), "{error}");
    }

    proptest! {
        #[test]
        fn any_split_of_valid_messages_gives_the_same_messages(
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let all = messages();
            let bytes = concatenated(&all, " ");
            let mut positions: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
            positions.sort_unstable();
            let mut decoder = StreamDecoder::default();
            let mut out = Vec::new();
            let mut start = 0;
            for end in positions.into_iter().chain([bytes.len()]) {
                out.extend(decoder.decode(&bytes[start..end]).unwrap());
                start = end;
            }
            prop_assert_eq!(out, all);
            prop_assert_eq!(decoder.pending_bytes(), 0);
        }

        #[test]
        fn random_bytes_never_panic(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..64), 0..16,
        )) {
            let mut decoder = StreamDecoder::new(256);
            for chunk in &chunks {
                let _ = decoder.decode(chunk);
            }
        }

        #[test]
        fn valid_prefix_then_garbage_yields_the_prefix_or_an_error(garbage in proptest::collection::vec(any::<u8>(), 1..64)) {
            let all = messages();
            let mut bytes = concatenated(&all, "");
            bytes.extend_from_slice(&garbage);
            let mut decoder = StreamDecoder::default();
            if let Ok(out) = decoder.decode(&bytes) {
                prop_assert_eq!(&out[..all.len()], &all[..]);
            }
        }
    }
}
