//! The evaluated policies agent streams are served from, and the deltas between versions.
//!
//! Pure: the fan-out ([`crate::fanout`]) feeds it evaluations and broadcasts what it returns.
//! Each policy carries the revision at which its *value* last changed, so an agent that says it
//! knows `name@revision` is sent nothing for it when that is still current. On a fresh start the
//! revision of a policy is the newest revision among the profiles it inherits from (deterministic
//! from the store), so agents keep their `known` maps across supervisor restarts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use config::EffectivePolicy;
use store::Revision;

use crate::interest::ProfileSet;

/// One evaluated policy and its wire form (built once, shared by every stream).
#[derive(Debug, Clone)]
struct Entry {
    policy: EffectivePolicy,
    wire: Arc<proto::Policy>,
}

/// What changed between two versions of the table: one is broadcast to every agent stream,
/// which passes on the part that concerns its module.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// The config revision the table is at after this delta.
    pub revision: Revision,
    pub upserts: Vec<Arc<proto::Policy>>,
    pub removes: Vec<Arc<str>>,
}

/// The current evaluated policies.
#[derive(Debug, Default)]
pub struct PolicyTable {
    revision: Revision,
    entries: BTreeMap<Arc<str>, Entry>,
}

impl PolicyTable {
    /// The config revision the table reflects.
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// How many policies the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no policy.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Replaces the table with a new evaluation at `revision`. Policies whose value changed
    /// (or that are new) get `revision_of(name)`; the rest keep theirs.
    pub fn update(
        &mut self,
        evaluated: BTreeMap<String, EffectivePolicy>,
        revision: Revision,
        revision_of: impl Fn(&str) -> Revision,
    ) -> Delta {
        let mut delta = Delta { revision, ..Delta::default() };
        let mut entries = BTreeMap::new();
        for (name, policy) in evaluated {
            let name: Arc<str> = name.into();
            let entry = match self.entries.remove(&name) {
                Some(old) if old.policy == policy => old,
                _ => {
                    let entry = Entry { wire: Arc::new(wire(&name, &policy, revision_of(&name))), policy };
                    delta.upserts.push(entry.wire.clone());
                    entry
                }
            };
            entries.insert(name, entry);
        }
        delta.removes = std::mem::take(&mut self.entries).into_keys().collect();
        self.entries = entries;
        self.revision = revision;
        delta
    }

    /// What an agent holding `known` (name -> revision) needs to be in sync when it is concerned
    /// with the policies named in `interest`: the interesting policies it lacks or holds at
    /// another revision (by name), and removes for the known names outside `interest` or gone.
    /// Costs O(|interest| + |known|), whatever the size of the table.
    pub fn sync(&self, known: &HashMap<String, Revision>, interest: &ProfileSet) -> Delta {
        let mut delta = Delta { revision: self.revision, ..Delta::default() };
        for entry in interest.iter().filter_map(|name| self.entries.get(name)) {
            if known.get(entry.wire.name.as_str()) != Some(&entry.wire.revision) {
                delta.upserts.push(entry.wire.clone());
            }
        }
        delta.upserts.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let mut removes: Vec<Arc<str>> = known
            .keys()
            .filter(|name| !interest.contains(name.as_str()) || !self.entries.contains_key(name.as_str()))
            .map(|name| Arc::from(name.as_str()))
            .collect();
        removes.sort_unstable();
        delta.removes = removes;
        delta
    }

    /// One policy, if present.
    pub fn get(&self, name: &str) -> Option<&EffectivePolicy> {
        self.entries.get(name).map(|entry| &entry.policy)
    }

    /// One policy and its wire form (with the revision agent streams carry), if present.
    pub fn entry(&self, name: &str) -> Option<(&EffectivePolicy, &Arc<proto::Policy>)> {
        self.entries.get(name).map(|entry| (&entry.policy, &entry.wire))
    }
}

fn wire(name: &str, policy: &EffectivePolicy, revision: Revision) -> proto::Policy {
    // Serializing plain data to a String cannot fail.
    let json = serde_json::to_string(policy).unwrap_or_default();
    proto::Policy { name: name.to_owned(), revision, json }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::access_policy as policy;

    fn evaluation(items: &[(&str, u16)]) -> BTreeMap<String, EffectivePolicy> {
        items.iter().map(|&(name, vlan)| (name.to_owned(), policy(name, vlan))).collect()
    }

    fn names(delta: &Delta) -> Vec<(String, Revision)> {
        delta.upserts.iter().map(|p| (p.name.clone(), p.revision)).collect()
    }

    #[test]
    fn update_sends_only_value_changes() {
        let mut table = PolicyTable::default();
        let first = table.update(evaluation(&[("a", 10), ("b", 20)]), 5, |_| 5);
        assert_eq!(names(&first), [("a".into(), 5), ("b".into(), 5)]);
        assert!(first.removes.is_empty());

        let second = table.update(evaluation(&[("a", 10), ("b", 21), ("c", 30)]), 6, |_| 6);
        assert_eq!(names(&second), [("b".into(), 6), ("c".into(), 6)]);
        assert_eq!(second.revision, 6);

        let third = table.update(evaluation(&[("b", 21)]), 7, |_| 7);
        assert!(third.upserts.is_empty());
        assert_eq!(third.removes, vec![Arc::<str>::from("a"), Arc::from("c")]);
        assert_eq!(table.revision(), 7);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn sync_sends_only_the_difference() {
        let mut table = PolicyTable::default();
        table.update(evaluation(&[("a", 10), ("b", 20)]), 5, |_| 5);
        table.update(evaluation(&[("a", 10), ("b", 21), ("c", 30)]), 6, |_| 6);
        let known: HashMap<String, Revision> =
            [("a".to_owned(), 5), ("b".to_owned(), 5), ("gone".to_owned(), 3)].into();
        let interest: ProfileSet = ["a", "b", "c"].into_iter().map(Arc::from).collect();
        let sync = table.sync(&known, &interest);
        assert_eq!(sync.revision, 6);
        assert_eq!(names(&sync), [("b".into(), 6), ("c".into(), 6)]);
        assert_eq!(sync.removes, vec![Arc::<str>::from("gone")]);

        let nothing_concerns = table.sync(&known, &ProfileSet::new());
        assert!(nothing_concerns.upserts.is_empty());
        assert_eq!(nothing_concerns.removes.len(), 3, "everything the agent holds is dropped");
    }

    #[test]
    fn sync_follows_the_interest() {
        let mut table = PolicyTable::default();
        table.update(evaluation(&[("a", 10), ("b", 20), ("c", 30)]), 5, |_| 5);
        let known: HashMap<String, Revision> = [("a".to_owned(), 5), ("b".to_owned(), 5)].into();
        // Interested in a (known, current), c (lacking) and a profile that does not exist yet.
        let interest: ProfileSet = ["a", "c", "later"].into_iter().map(Arc::from).collect();
        let sync = table.sync(&known, &interest);
        assert_eq!(names(&sync), [("c".into(), 5)], "only the lacking policy of the interest");
        assert_eq!(sync.removes, vec![Arc::<str>::from("b")], "b no longer concerns the agent");
    }

    #[test]
    fn wire_form_is_the_json_model() {
        let mut table = PolicyTable::default();
        let delta = table.update(evaluation(&[("web", 100)]), 9, |_| 4);
        let decoded: EffectivePolicy = serde_json::from_str(&delta.upserts[0].json).unwrap();
        assert_eq!(decoded, policy("web", 100));
        assert_eq!(delta.upserts[0].revision, 4);
        assert_eq!(table.get("web"), Some(&policy("web", 100)));
    }
}
