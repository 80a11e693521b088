//! Which port-profiles concern each module: the profiles its attached ports use, and those of
//! its uplinks (as it registered them). An agent's Watch stream carries exactly those (see
//! [`crate::fanout`]).
//!
//! Pure: the port registry ([`crate::ports`]) reports every binding change as a before/after
//! pair; the counts say when a profile enters a module's interest (its first attached port) or
//! leaves it (its last one detached, moved away or switched profile). Names count whether the
//! profile exists or not, so a port waiting for its profile receives it the moment it is created.
//! Inheritance needs nothing here: a child's evaluated policy changes when its parent does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::port_binding::PortRecord;

/// The profile names one module's streams carry.
pub type ProfileSet = HashSet<Arc<str>>;

/// How many attached ports and uplinks of each module use each profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interest {
    uses: HashMap<u32, HashMap<Arc<str>, u32>>,
    /// Each module's uplinks' profiles (counted in `uses` as well).
    uplinks: HashMap<u32, Vec<Arc<str>>>,
}

impl Interest {
    /// The interest of a set of bindings.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a PortRecord>) -> Self {
        let mut interest = Self::default();
        for record in records {
            interest.rebind(None, Some(record));
        }
        interest
    }

    /// A binding went from `before` to `after` (`None`: no binding). Returns the modules whose
    /// set of profiles changed.
    pub fn rebind(&mut self, before: Option<&PortRecord>, after: Option<&PortRecord>) -> Vec<u32> {
        let (before, after) = (before.and_then(use_of), after.and_then(use_of));
        if before == after {
            return Vec::new();
        }
        let mut changed = Vec::new();
        if let Some((module, profile)) = before
            && self.release(module, profile)
        {
            changed.push(module);
        }
        if let Some((module, profile)) = after
            && self.take(module, profile)
            && !changed.contains(&module)
        {
            changed.push(module);
        }
        changed
    }

    /// `module`'s uplinks now use `profiles` (one per uplink). Returns whether the module's set
    /// of profiles changed.
    pub fn set_uplinks<'a>(&mut self, module: u32, profiles: impl IntoIterator<Item = &'a str>) -> bool {
        let before = self.profiles(module);
        for profile in self.uplinks.remove(&module).unwrap_or_default() {
            self.release(module, &profile);
        }
        let profiles: Vec<Arc<str>> = profiles.into_iter().map(Arc::from).collect();
        for profile in &profiles {
            self.take(module, profile);
        }
        if !profiles.is_empty() {
            self.uplinks.insert(module, profiles);
        }
        self.profiles(module) != before
    }

    /// The interest of `records` (the bindings read whole again), with this one's uplinks.
    pub fn with_ports<'a>(&self, records: impl IntoIterator<Item = &'a PortRecord>) -> Self {
        let mut interest = Self::of(records);
        for (&module, profiles) in &self.uplinks {
            interest.set_uplinks(module, profiles.iter().map(|profile| &**profile));
        }
        interest
    }

    /// The profiles `module`'s attached ports and uplinks use.
    pub fn profiles(&self, module: u32) -> ProfileSet {
        self.uses.get(&module).map(|uses| uses.keys().cloned().collect()).unwrap_or_default()
    }

    /// The modules whose set of profiles differs between `self` and `other`.
    pub fn differences(&self, other: &Self) -> Vec<u32> {
        let modules: HashSet<u32> = self.uses.keys().chain(other.uses.keys()).copied().collect();
        let mut differing: Vec<u32> = modules
            .into_iter()
            .filter(|module| {
                let (mine, theirs) = (self.uses.get(module), other.uses.get(module));
                let len = |uses: Option<&HashMap<Arc<str>, u32>>| uses.map_or(0, HashMap::len);
                len(mine) != len(theirs)
                    || mine.is_some_and(|mine| {
                        mine.keys().any(|name| theirs.is_none_or(|theirs| !theirs.contains_key(name)))
                    })
            })
            .collect();
        differing.sort_unstable();
        differing
    }

    /// One more port of `module` uses `profile`; true when the profile is new to the module.
    fn take(&mut self, module: u32, profile: &str) -> bool {
        let uses = self.uses.entry(module).or_default();
        match uses.get_mut(profile) {
            Some(count) => {
                *count += 1;
                false
            }
            None => {
                uses.insert(profile.into(), 1);
                true
            }
        }
    }

    /// One port fewer; true when it was the module's last port on the profile.
    fn release(&mut self, module: u32, profile: &str) -> bool {
        let Some(uses) = self.uses.get_mut(&module) else { return false };
        let Some(count) = uses.get_mut(profile) else { return false };
        *count -= 1;
        if *count > 0 {
            return false;
        }
        uses.remove(profile);
        if uses.is_empty() {
            self.uses.remove(&module);
        }
        true
    }
}

/// The (module, profile) a binding counts for: only attached ports use their profile (a static
/// binding kept after detach reserves a number, not the profile's policy on the host).
fn use_of(record: &PortRecord) -> Option<(u32, &str)> {
    record.attached.then_some((record.module, record.profile.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::attached_port as record;

    fn names(interest: &Interest, module: u32) -> Vec<String> {
        let mut names: Vec<String> = interest.profiles(module).iter().map(|name| name.to_string()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_profile_stays_until_its_last_port_goes() {
        let mut interest = Interest::default();
        let (a, b) = (record("a", 3, "web"), record("b", 3, "web"));
        assert_eq!(interest.rebind(None, Some(&a)), [3], "the first port brings the profile");
        assert_eq!(interest.rebind(None, Some(&b)), Vec::<u32>::new(), "the second changes nothing");
        assert_eq!(names(&interest, 3), ["web"]);
        assert_eq!(interest.rebind(Some(&a), None), Vec::<u32>::new());
        let kept = PortRecord { attached: false, ..b.clone() };
        assert_eq!(interest.rebind(Some(&b), Some(&kept)), [3], "a detached binding uses nothing");
        assert!(interest.profiles(3).is_empty());
        assert_eq!(interest, Interest::default(), "nothing left behind");
        assert_eq!(interest.rebind(Some(&kept), None), Vec::<u32>::new());
    }

    #[test]
    fn moves_and_profile_switches_change_both_sides() {
        let mut interest = Interest::default();
        let on_3 = record("a", 3, "web");
        interest.rebind(None, Some(&on_3));
        let on_4 = record("a", 4, "web");
        assert_eq!(interest.rebind(Some(&on_3), Some(&on_4)), [3, 4], "the port moved hosts");
        assert_eq!((names(&interest, 3), names(&interest, 4)), (vec![], vec!["web".to_owned()]));
        let db = record("a", 4, "db");
        assert_eq!(interest.rebind(Some(&on_4), Some(&db)), [4], "listed once");
        assert_eq!(names(&interest, 4), ["db"]);
        assert_eq!(interest.rebind(Some(&db), Some(&db.clone())), Vec::<u32>::new(), "unchanged rebind");
    }

    #[test]
    fn names_of_missing_profiles_count_too() {
        let interest = Interest::of(&[record("a", 3, "not-yet"), record("b", 5, "web")]);
        assert_eq!(names(&interest, 3), ["not-yet"]);
        assert_eq!(names(&interest, 5), ["web"]);
        assert!(interest.profiles(4).is_empty());
    }

    #[test]
    fn uplink_profiles_count_with_the_ports() {
        let mut interest = Interest::default();
        let port = record("a", 3, "web");
        interest.rebind(None, Some(&port));
        assert!(interest.set_uplinks(3, ["uplink", "uplink"]), "a new profile for module 3");
        assert_eq!(names(&interest, 3), ["uplink", "web"]);
        assert!(!interest.set_uplinks(3, ["uplink"]), "one uplink fewer, same set");
        assert!(!interest.set_uplinks(3, ["uplink"]), "registered again unchanged");
        assert!(interest.set_uplinks(3, ["web", "trunk"]));
        assert_eq!(names(&interest, 3), ["trunk", "web"]);
        assert_eq!(interest.rebind(Some(&port), None), Vec::<u32>::new(), "the uplink still uses web");
        assert_eq!(names(&interest, 3), ["trunk", "web"]);

        let reloaded = interest.with_ports(&[record("b", 4, "db")]);
        assert_eq!(names(&reloaded, 3), ["trunk", "web"], "uplinks survive a reload of the bindings");
        assert_eq!(names(&reloaded, 4), ["db"]);
        assert!(interest.set_uplinks(3, []));
        assert_eq!(interest, Interest::default(), "nothing left behind");
    }

    #[test]
    fn differences_name_the_modules_whose_sets_changed() {
        let before = Interest::of(&[record("a", 3, "web"), record("b", 4, "db"), record("c", 5, "x")]);
        let after = Interest::of(&[
            record("a", 3, "web"),
            record("a2", 3, "web"),
            record("b", 4, "web"),
            record("d", 6, "y"),
        ]);
        assert_eq!(before.differences(&after), [4, 5, 6]);
        assert_eq!(after.differences(&before), [4, 5, 6]);
        assert!(after.differences(&after.clone()).is_empty());
    }
}
