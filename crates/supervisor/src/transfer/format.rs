//! The export file, line by line: a header, one line per key, a trailer. Pure: bytes in, records
//! out, every defect reported with its line number before anything is written anywhere.
//!
//! ```text
//! {"format":"switchyard-export","version":1,"exported_at_unix_ms":1767225600000,"source_revision":118,"keys":2}
//! {"key":"/switchyard/config/vlans/0100","value":{"id":100,"name":null}}
//! {"key":"/switchyard/counters/next-module","value":4}
//! {"end":"switchyard-export","keys":2,"sha256":"9c1e…"}
//! ```
//!
//! A value that is JSON (as nearly every value the supervisor stores) is written as that JSON,
//! byte for byte, so the file reads and diffs well; anything else goes as `value_base64`. The
//! trailer's SHA-256 covers every key and value as bytes (not as text), so a file cut short, or
//! edited without care, is refused as a whole.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

/// The header's `format`, and the trailer's `end`.
pub const FORMAT: &str = "switchyard-export";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// Every key of the export lives under this prefix.
pub const KEY_PREFIX: &str = "/switchyard/";

/// One key and its value, as the store holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub value: Vec<u8>,
}

/// The first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub exported_at_unix_ms: u64,
    /// The store revision the export reflects (one read, one revision).
    pub source_revision: i64,
    /// How many key lines follow.
    pub keys: u64,
}

/// A whole export, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub header: Header,
    /// In file order (the exporter writes key order).
    pub records: Vec<Record>,
}

/// What is wrong with an export file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("the input is empty: not a switchyard export")]
    Empty,
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error(
        "the input ends after line {lines} without its trailer line: the file is truncated (or was cut short while written)"
    )]
    Truncated { lines: usize },
    #[error("the trailer (line {line}) counts {trailer} keys but the file holds {found}")]
    CountMismatch { line: usize, trailer: u64, found: u64 },
    #[error("the header announces {header} keys but the file holds {found}")]
    HeaderMismatch { header: u64, found: u64 },
    #[error(
        "the checksum does not match (trailer {expected}, content {actual}): the file was changed or damaged"
    )]
    Checksum { expected: String, actual: String },
    #[error("reading line {line}: {reason}")]
    Read { line: usize, reason: String },
}

/// Writes `records` as a whole export (header, lines, trailer).
pub fn write(
    mut out: impl Write,
    exported_at_unix_ms: u64,
    source_revision: i64,
    records: &[Record],
) -> std::io::Result<()> {
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        exported_at_unix_ms,
        source_revision,
        keys: records.len() as u64,
    };
    write_line(&mut out, &header)?;
    let mut checksum = Checksum::default();
    for record in records {
        checksum.add(record);
        write_line(&mut out, &RecordLine::of(record))?;
    }
    let trailer = Trailer { end: FORMAT.to_owned(), keys: records.len() as u64, sha256: checksum.hex() };
    write_line(&mut out, &trailer)?;
    out.flush()
}

fn write_line(out: &mut impl Write, line: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

/// Reads and checks a whole export: the header, every line, no key twice, the trailer's count
/// and checksum, nothing after the trailer. The first defect is the error.
pub fn read(input: impl BufRead) -> Result<Export, FormatError> {
    let mut lines = input.lines().enumerate().map(|(index, line)| (index + 1, line));
    let (first, text) = match lines.next() {
        None => return Err(FormatError::Empty),
        Some((line, text)) => (line, text.map_err(|e| FormatError::Read { line, reason: e.to_string() })?),
    };
    let header = parse_header(&text).map_err(|reason| FormatError::Line { line: first, reason })?;
    let mut records = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut checksum = Checksum::default();
    let mut last = first;
    while let Some((line, text)) = lines.next() {
        last = line;
        let text = text.map_err(|e| FormatError::Read { line, reason: e.to_string() })?;
        let at = |reason: String| FormatError::Line { line, reason };
        match parse_line(&text).map_err(at)? {
            Parsed::Record(record) => {
                if let Some(before) = seen.insert(record.key.clone(), line) {
                    return Err(at(format!("key {} already came on line {before}", record.key)));
                }
                checksum.add(&record);
                records.push(record);
            }
            Parsed::Trailer(trailer) => {
                let found = records.len() as u64;
                if trailer.keys != found {
                    return Err(FormatError::CountMismatch { line, trailer: trailer.keys, found });
                }
                if header.keys != found {
                    return Err(FormatError::HeaderMismatch { header: header.keys, found });
                }
                let actual = checksum.hex();
                if !trailer.sha256.eq_ignore_ascii_case(&actual) {
                    return Err(FormatError::Checksum { expected: trailer.sha256, actual });
                }
                let extra =
                    lines.find(|(_, text)| text.as_ref().map_or(true, |text| !text.trim().is_empty()));
                if let Some((line, _)) = extra {
                    return Err(FormatError::Line {
                        line,
                        reason: "more lines after the trailer".to_owned(),
                    });
                }
                return Ok(Export { header, records });
            }
        }
    }
    Err(FormatError::Truncated { lines: last })
}

fn parse_header(text: &str) -> Result<Header, String> {
    // Checked before the shape, so a newer file says "version 2" rather than "unknown field".
    let loose: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the header is not JSON ({e})"))?;
    if loose.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
        return Err(format!(
            "not a switchyard export (the first line must be a header with \"format\":\"{FORMAT}\")"
        ));
    }
    match loose.get("version").and_then(serde_json::Value::as_u64) {
        Some(version) if version == u64::from(VERSION) => {}
        Some(version) => {
            return Err(format!("export format version {version}; this build reads version {VERSION}"));
        }
        None => return Err("the header has no numeric \"version\"".to_owned()),
    }
    serde_json::from_value(loose).map_err(|e| format!("bad header: {e}"))
}

/// A key line as written: the value as JSON when it is JSON, else in base64.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordLine {
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_base64: Option<String>,
}

impl RecordLine {
    fn of(record: &Record) -> Self {
        match as_json(&record.value) {
            Some(json) => Self { key: record.key.clone(), value: Some(json), value_base64: None },
            None => Self {
                key: record.key.clone(),
                value: None,
                value_base64: Some(base64::engine::general_purpose::STANDARD.encode(&record.value)),
            },
        }
    }
}

/// `value` as embeddable JSON, when writing it as JSON gives back exactly these bytes: valid
/// UTF-8 JSON, no surrounding whitespace (the parser drops it), no line break (one line per key),
/// and not `null` (which would read back as "no value").
fn as_json(value: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(value).ok()?;
    if text.contains(['\n', '\r']) || text == "null" {
        return None;
    }
    let raw = RawValue::from_string(text.to_owned()).ok()?;
    (raw.get() == text).then_some(raw)
}

/// The last line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Trailer {
    end: String,
    keys: u64,
    sha256: String,
}

/// Any line after the header: a key line or the trailer, told apart by their fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyLine {
    key: Option<String>,
    value: Option<Box<RawValue>>,
    value_base64: Option<String>,
    end: Option<String>,
    keys: Option<u64>,
    sha256: Option<String>,
}

enum Parsed {
    Record(Record),
    Trailer(Trailer),
}

fn parse_line(text: &str) -> Result<Parsed, String> {
    if text.trim().is_empty() {
        return Err("an empty line".to_owned());
    }
    let line: AnyLine = serde_json::from_str(text).map_err(|e| format!("not a valid line ({e})"))?;
    match line {
        AnyLine { key: Some(key), value, value_base64, end: None, keys: None, sha256: None } => {
            check_key(&key)?;
            let value = match (value, value_base64) {
                (Some(json), None) => json.get().as_bytes().to_vec(),
                (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_bytes())
                    .map_err(|e| format!("key {key}: value_base64 is not base64 ({e})"))?,
                (Some(_), Some(_)) => return Err(format!("key {key} has both value and value_base64")),
                (None, None) => return Err(format!("key {key} has no value (value or value_base64)")),
            };
            Ok(Parsed::Record(Record { key, value }))
        }
        AnyLine { key: None, value: None, value_base64: None, end: Some(end), keys, sha256 } => {
            if end != FORMAT {
                return Err(format!("a trailer must say \"end\":\"{FORMAT}\""));
            }
            let keys = keys.ok_or("the trailer has no \"keys\" count")?;
            let sha256 = sha256.ok_or("the trailer has no \"sha256\"")?;
            Ok(Parsed::Trailer(Trailer { end, keys, sha256 }))
        }
        _ => Err("neither a key line ({\"key\":…,\"value\":…}) nor the trailer ({\"end\":…})".to_owned()),
    }
}

/// Only switchyard keys, and only durable ones, ever come in.
fn check_key(key: &str) -> Result<(), String> {
    match key.strip_prefix(KEY_PREFIX) {
        Some(rest) if !rest.is_empty() => {}
        _ => return Err(format!("key {key:?} is outside {KEY_PREFIX}")),
    }
    if let Some(prefix) = super::SKIPPED_PREFIXES.iter().find(|prefix| key.starts_with(*prefix)) {
        return Err(format!("key {key} is live state ({prefix}), which is never exported or imported"));
    }
    Ok(())
}

/// SHA-256 over every record as bytes: its key's and value's lengths and contents, in order.
#[derive(Default)]
struct Checksum(Sha256);

impl Checksum {
    fn add(&mut self, record: &Record) {
        for part in [record.key.as_bytes(), &record.value] {
            self.0.update((part.len() as u64).to_be_bytes());
            self.0.update(part);
        }
    }

    fn hex(&self) -> String {
        self.0.clone().finalize().iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(key: &str, value: &[u8]) -> Record {
        Record { key: key.to_owned(), value: value.to_vec() }
    }

    fn sample() -> Vec<Record> {
        vec![
            record("/switchyard/config/port-profiles/web", br#"{"name":"web","vlan":100}"#),
            record("/switchyard/counters/next-module", b"4"),
            record("/switchyard/events/00000000000000000001", b"\x00\xffnot json"),
            record("/switchyard/config/dhcp-snooping", b"null"),
            record("/switchyard/empty", b""),
            record("/switchyard/spaced", b" {\"a\": 1}"),
            record("/switchyard/pretty", b"{\n  \"a\": 1\n}"),
            record("/switchyard/leading-zero", b"007"),
        ]
    }

    fn exported(records: &[Record]) -> String {
        let mut out = Vec::new();
        write(&mut out, 1_767_225_600_000, 42, records).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_value_comes_back_byte_for_byte() {
        let text = exported(&sample());
        let back = read(text.as_bytes()).unwrap();
        assert_eq!(back.records, sample());
        assert_eq!(back.header.source_revision, 42);
        assert_eq!(back.header.keys, 8);
        assert_eq!(text.lines().count(), 10, "one line per key, plus header and trailer:\n{text}");
    }

    #[test]
    fn json_values_stay_readable_and_the_rest_is_base64() {
        let text = exported(&sample());
        assert!(
            text.contains(
                r#"{"key":"/switchyard/config/port-profiles/web","value":{"name":"web","vlan":100}}"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"{"key":"/switchyard/counters/next-module","value":4}"#), "{text}");
        for key in ["events/", "dhcp-snooping", "empty", "spaced", "pretty", "leading-zero"] {
            let line = text.lines().find(|line| line.contains(key)).unwrap();
            assert!(line.contains("value_base64"), "{line}");
        }
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let text = exported(&sample());
        let lines: Vec<&str> = text.lines().collect();
        let cut = lines[..lines.len() - 1].join("\n");
        assert_eq!(read(cut.as_bytes()), Err(FormatError::Truncated { lines: 9 }));
        // Cut inside the trailer: the last line is not a valid line.
        let mid = &text[..text.len() - 10];
        assert!(
            matches!(read(mid.as_bytes()), Err(FormatError::Line { line: 10, .. })),
            "{:?}",
            read(mid.as_bytes())
        );
        // A key line lost, trailer intact.
        let mut lost = lines.clone();
        lost.remove(3);
        let err = read(lost.join("\n").as_bytes()).unwrap_err();
        assert!(matches!(err, FormatError::CountMismatch { trailer: 8, found: 7, .. }), "{err}");
        assert_eq!(read(&b""[..]), Err(FormatError::Empty));
    }

    #[test]
    fn a_changed_value_fails_the_checksum() {
        let text = exported(&sample()).replace("\"vlan\":100", "\"vlan\":101");
        let err = read(text.as_bytes()).unwrap_err();
        assert!(matches!(err, FormatError::Checksum { .. }), "{err}");
        assert!(err.to_string().contains("changed or damaged"), "{err}");
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        let text = exported(&sample());
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let cases: [(usize, &str, &str); 7] = [
            (2, "{\"key\":", "not a valid line"),
            (3, "{\"key\":\"/other/x\",\"value\":1}", "outside /switchyard/"),
            (3, "{\"key\":\"/switchyard/live/modules/3\",\"value\":1}", "live state"),
            (4, "{\"key\":\"/switchyard/x\"}", "has no value"),
            (4, "{\"key\":\"/switchyard/x\",\"value\":1,\"value_base64\":\"AA==\"}", "both"),
            (5, "{\"key\":\"/switchyard/x\",\"value_base64\":\"!!\"}", "not base64"),
            (6, "{\"key\":\"/switchyard/x\",\"value\":1,\"extra\":2}", "unknown field"),
        ];
        for (line, bad, reason) in cases {
            let saved = std::mem::replace(&mut lines[line - 1], bad.to_owned());
            let err = read(lines.join("\n").as_bytes()).unwrap_err();
            let FormatError::Line { line: at, reason: said } = &err else { panic!("{bad}: {err}") };
            assert_eq!(*at, line, "{bad}: {err}");
            assert!(said.contains(reason), "{bad}: {err}");
            lines[line - 1] = saved;
        }
        assert!(read(lines.join("\n").as_bytes()).is_ok(), "every case restored");
    }

    #[test]
    fn a_key_twice_is_refused_with_both_lines() {
        let records = vec![record("/switchyard/a", b"1"), record("/switchyard/a", b"2")];
        let err = read(exported(&records).as_bytes()).unwrap_err();
        assert_eq!(
            err,
            FormatError::Line { line: 3, reason: "key /switchyard/a already came on line 2".to_owned() }
        );
    }

    #[test]
    fn the_header_is_checked_first() {
        let text = exported(&sample());
        let other_version = text.replacen("\"version\":1", "\"version\":2", 1);
        let err = read(other_version.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("line 1: export format version 2; this build reads version 1"),
            "{err}"
        );
        let not_ours = text.replacen(FORMAT, "something-else", 1);
        assert!(read(not_ours.as_bytes()).unwrap_err().to_string().contains("not a switchyard export"));
        let not_json = format!("PK\u{3}\u{4}\n{text}");
        assert!(
            read(not_json.as_bytes()).unwrap_err().to_string().contains("line 1: the header is not JSON")
        );
        let wrong_count = text.replacen("\"keys\":8", "\"keys\":9", 1);
        assert_eq!(read(wrong_count.as_bytes()), Err(FormatError::HeaderMismatch { header: 9, found: 8 }));
    }

    #[test]
    fn nothing_may_follow_the_trailer() {
        let text = exported(&sample()) + "{\"key\":\"/switchyard/late\",\"value\":1}\n";
        assert!(matches!(read(text.as_bytes()), Err(FormatError::Line { line: 11, .. })));
        let blank_tail = exported(&sample()) + "\n\n";
        assert!(read(blank_tail.as_bytes()).is_ok(), "trailing blank lines are harmless");
    }
}
