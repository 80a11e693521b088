//! OVSDB values (RFC 7047 §5.1): atoms, `["set", […]]`, `["map", [[k, v], …]]`, and
//! `["uuid", "…"]`; plus the `update2` diffs that change them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::OvsdbError;
use super::jsonrpc::kind;

/// One scalar value.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// `integer`.
    Integer(i64),
    /// `real`.
    Real(f64),
    /// `boolean`.
    Boolean(bool),
    /// `string`.
    String(String),
    /// `uuid`: a reference to a row, `["uuid", "…"]` on the wire.
    Uuid(String),
}

impl Atom {
    /// Parses an atom; `["named-uuid", …]` only exists inside a transaction and is refused.
    pub fn from_json(value: &Value) -> Result<Self, OvsdbError> {
        match value {
            Value::Bool(b) => Ok(Atom::Boolean(*b)),
            Value::String(s) => Ok(Atom::String(s.clone())),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Atom::Integer(i)),
                None => {
                    n.as_f64().map(Atom::Real).ok_or_else(|| OvsdbError::malformed(format!("number {n}")))
                }
            },
            Value::Array(pair) => match pair.as_slice() {
                [Value::String(tag), Value::String(uuid)] if tag == "uuid" => Ok(Atom::Uuid(uuid.clone())),
                _ => Err(OvsdbError::malformed(format!("expected an atom, got {value}"))),
            },
            other => Err(OvsdbError::malformed(format!("expected an atom, got {}", kind(other)))),
        }
    }

    /// The wire form.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => json!(i),
            Atom::Real(r) => json!(r),
            Atom::Boolean(b) => json!(b),
            Atom::String(s) => json!(s),
            Atom::Uuid(u) => json!(["uuid", u]),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The referenced row's uuid, if this is a reference.
    pub fn as_uuid(&self) -> Option<&str> {
        match self {
            Atom::Uuid(u) => Some(u),
            _ => None,
        }
    }
}

/// A column's value. A scalar column holds a set of exactly one atom; an optional one a set of
/// zero or one.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// Zero or more atoms.
    Set(Vec<Atom>),
    /// Key/value pairs, keys unique.
    Map(Vec<(Atom, Atom)>),
}

/// How a column's `update2` diff applies, which the wire form alone does not tell: a scalar's
/// diff is its new value, a set's diff the atoms that came or went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Exactly one atom.
    Scalar,
    /// Zero or more atoms, including the optional (zero or one) columns.
    Set,
    /// Key/value pairs.
    Map,
}

impl Datum {
    /// Parses a `<value>`: an atom, a `<set>` or a `<map>`.
    pub fn from_json(value: &Value) -> Result<Self, OvsdbError> {
        if let Value::Array(items) = value
            && let [Value::String(tag), Value::Array(elements)] = items.as_slice()
        {
            match tag.as_str() {
                "set" => {
                    return elements.iter().map(Atom::from_json).collect::<Result<_, _>>().map(Datum::Set);
                }
                "map" => return elements.iter().map(pair).collect::<Result<_, _>>().map(Datum::Map),
                _ => {}
            }
        }
        Atom::from_json(value).map(|atom| Datum::Set(vec![atom]))
    }

    /// The wire form: a lone atom as itself, anything else as a `<set>` or `<map>`.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(atoms) => match atoms.as_slice() {
                [atom] => atom.to_json(),
                _ => json!(["set", atoms.iter().map(Atom::to_json).collect::<Vec<_>>()]),
            },
            Datum::Map(pairs) => {
                json!([
                    "map",
                    pairs.iter().map(|(k, v)| json!([k.to_json(), v.to_json()])).collect::<Vec<_>>()
                ])
            }
        }
    }

    /// A `<map>` of strings.
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        Datum::Map(
            pairs.into_iter().map(|(k, v)| (Atom::String(k.clone()), Atom::String(v.clone()))).collect(),
        )
    }

    /// An optional column's value: empty set or one atom.
    pub fn optional(atom: Option<Atom>) -> Self {
        Datum::Set(atom.into_iter().collect())
    }

    /// The atoms of a set (a map's keys).
    pub fn atoms(&self) -> impl Iterator<Item = &Atom> {
        let (set, map) = match self {
            Datum::Set(atoms) => (atoms.as_slice(), &[][..]),
            Datum::Map(pairs) => (&[][..], pairs.as_slice()),
        };
        set.iter().chain(map.iter().map(|(k, _)| k))
    }

    /// The only atom of a scalar or non-empty optional column.
    pub fn single(&self) -> Option<&Atom> {
        match self {
            Datum::Set(atoms) if atoms.len() == 1 => atoms.first(),
            _ => None,
        }
    }

    /// A map's string pairs; non-string pairs and sets give nothing.
    pub fn to_string_map(&self) -> BTreeMap<String, String> {
        match self {
            Datum::Set(_) => BTreeMap::new(),
            Datum::Map(pairs) => pairs
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect(),
        }
    }

    /// Applies an `update2` diff (ovsdb-server(7) §4.1.14): a scalar takes the new value; a set
    /// gains the diff's atoms it lacked and loses those it had; a map loses the pairs repeated
    /// exactly, takes the new value of keys it had with another value, and gains new keys.
    pub fn apply_diff(&mut self, diff: Datum, kind: ColumnKind) -> Result<(), OvsdbError> {
        match (kind, &mut *self, diff) {
            (ColumnKind::Scalar, _, diff) => *self = diff,
            (ColumnKind::Set, Datum::Set(atoms), Datum::Set(changes)) => {
                for atom in changes {
                    match atoms.iter().position(|a| *a == atom) {
                        Some(at) => {
                            atoms.remove(at);
                        }
                        None => atoms.push(atom),
                    }
                }
            }
            (ColumnKind::Map, Datum::Map(pairs), Datum::Map(changes)) => {
                for (key, value) in changes {
                    match pairs.iter().position(|(k, _)| *k == key) {
                        Some(at) if pairs.get(at).is_some_and(|(_, v)| *v == value) => {
                            pairs.remove(at);
                        }
                        Some(at) => {
                            if let Some(slot) = pairs.get_mut(at) {
                                slot.1 = value;
                            }
                        }
                        None => pairs.push((key, value)),
                    }
                }
            }
            // An empty map may arrive as an empty set: `["set", []]` and `["map", []]` are the
            // same default.
            (ColumnKind::Map, current @ Datum::Set(_), diff @ Datum::Map(_))
                if current.atoms().count() == 0 =>
            {
                *current = Datum::Map(Vec::new());
                return current.apply_diff(diff, kind);
            }
            (kind, current, diff) => {
                return Err(OvsdbError::malformed(format!(
                    "diff {} does not apply to {kind:?} column value {}",
                    diff.to_json(),
                    current.to_json()
                )));
            }
        }
        Ok(())
    }
}

fn pair(value: &Value) -> Result<(Atom, Atom), OvsdbError> {
    match value {
        Value::Array(kv) if kv.len() == 2 => match kv.as_slice() {
            [k, v] => Ok((Atom::from_json(k)?, Atom::from_json(v)?)),
            _ => Err(OvsdbError::malformed("map pair")),
        },
        other => Err(OvsdbError::malformed(format!("expected a [key, value] pair, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]

    use proptest::prelude::*;

    use super::*;

    fn datum(value: &Value) -> Datum {
        Datum::from_json(value).unwrap()
    }

    #[test]
    fn parses_every_encoding() {
        assert_eq!(datum(&json!(7)), Datum::Set(vec![Atom::Integer(7)]));
        assert_eq!(datum(&json!("up")), Datum::Set(vec![Atom::String("up".into())]));
        assert_eq!(datum(&json!(["set", []])), Datum::Set(vec![]));
        assert_eq!(datum(&json!(["uuid", "u1"])), Datum::Set(vec![Atom::Uuid("u1".into())]));
        assert_eq!(
            datum(&json!(["set", [["uuid", "u1"], ["uuid", "u2"]]])),
            Datum::Set(vec![Atom::Uuid("u1".into()), Atom::Uuid("u2".into())])
        );
        assert_eq!(
            datum(&json!(["map", [["iface-id", "a"], ["vm-name", "web1"]]])).to_string_map(),
            BTreeMap::from([("iface-id".into(), "a".into()), ("vm-name".into(), "web1".into())])
        );
        assert_eq!(datum(&json!(1.5)), Datum::Set(vec![Atom::Real(1.5)]));
        assert_eq!(datum(&json!(true)), Datum::Set(vec![Atom::Boolean(true)]));
    }

    #[test]
    fn refuses_what_is_not_a_value() {
        for bad in [
            json!(null),
            json!({}),
            json!(["named-uuid", "x"]),
            json!(["map", [["only-key"]]]),
            json!(["set", [null]]),
            json!(["uuid", 5]),
        ] {
            assert!(Datum::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wire_form_round_trips() {
        for value in [
            json!(5),
            json!(["set", []]),
            json!(["set", [1, 2]]),
            json!(["uuid", "u"]),
            json!(["map", [["a", "b"]]]),
            json!(["map", []]),
        ] {
            assert_eq!(datum(&value).to_json(), value);
        }
    }

    #[test]
    fn scalar_diff_is_the_new_value() {
        let mut value = datum(&json!(3));
        value.apply_diff(datum(&json!(4)), ColumnKind::Scalar).unwrap();
        assert_eq!(value, datum(&json!(4)));
    }

    #[test]
    fn set_diff_toggles_atoms() {
        let mut ofport = datum(&json!(["set", []]));
        ofport.apply_diff(datum(&json!(5)), ColumnKind::Set).unwrap();
        assert_eq!(ofport, datum(&json!(5)));
        ofport.apply_diff(datum(&json!(["set", [5, 7]])), ColumnKind::Set).unwrap();
        assert_eq!(ofport, datum(&json!(7)));
        ofport.apply_diff(datum(&json!(7)), ColumnKind::Set).unwrap();
        assert_eq!(ofport, datum(&json!(["set", []])));
    }

    #[test]
    fn map_diff_removes_updates_and_inserts() {
        let mut ids = datum(&json!(["map", [["gone", "x"], ["changed", "old"], ["kept", "k"]]]));
        ids.apply_diff(
            datum(&json!(["map", [["gone", "x"], ["changed", "new"], ["added", "a"]]])),
            ColumnKind::Map,
        )
        .unwrap();
        assert_eq!(
            ids.to_string_map(),
            BTreeMap::from([
                ("changed".into(), "new".into()),
                ("kept".into(), "k".into()),
                ("added".into(), "a".into())
            ])
        );
    }

    #[test]
    fn a_map_diff_on_a_set_is_malformed() {
        let mut ports = datum(&json!(["set", [["uuid", "p"]]]));
        let error = ports.apply_diff(datum(&json!(["map", [["a", "b"]]])), ColumnKind::Map).unwrap_err();
        assert!(error.to_string().contains("does not apply"), "{error}");
    }

    fn diff_of(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Datum {
        let mut pairs = Vec::new();
        for (k, v) in old {
            match new.get(k) {
                None => pairs.push((k, v)),
                Some(n) if n != v => pairs.push((k, n)),
                Some(_) => {}
            }
        }
        pairs.extend(new.iter().filter(|(k, _)| !old.contains_key(*k)));
        Datum::string_map(pairs)
    }

    proptest! {
        #[test]
        fn map_diff_takes_old_to_new(
            old in proptest::collection::btree_map("[a-d]", "[xy]", 0..4),
            new in proptest::collection::btree_map("[a-d]", "[xy]", 0..4),
        ) {
            let mut value = Datum::string_map(&old);
            value.apply_diff(diff_of(&old, &new), ColumnKind::Map).unwrap();
            prop_assert_eq!(value.to_string_map(), new);
        }

        #[test]
        fn set_diff_takes_old_to_new(
            old in proptest::collection::btree_set(0i64..6, 0..5),
            new in proptest::collection::btree_set(0i64..6, 0..5),
        ) {
            let mut value = Datum::Set(old.iter().copied().map(Atom::Integer).collect());
            let diff = Datum::Set(old.symmetric_difference(&new).copied().map(Atom::Integer).collect());
            value.apply_diff(diff, ColumnKind::Set).unwrap();
            let mut got: Vec<i64> = value.atoms().filter_map(Atom::as_integer).collect();
            got.sort_unstable();
            prop_assert_eq!(got, new.into_iter().collect::<Vec<_>>());
        }
    }
}
