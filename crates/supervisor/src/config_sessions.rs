//! Configuration sessions (`configure session NAME`, NX-OS's config-s mode): configuration lines
//! recorded under a name instead of applied, checked as a whole (`verify`) and applied as one
//! transaction (`commit`) or dropped (`abort`).
//!
//! A session lives in this supervisor's memory: it outlives the shell that made it (enter it
//! again with `configure session NAME`), not a restart of the supervisor, and other supervisors
//! sharing the store do not see it. It belongs to the account that made it: only that account
//! sees its lines or changes it; `show configuration session summary` lists every session with
//! its owner. NX-OS's bounds: 32 sessions, 20,000 lines in all.
//!
//! The table is pure (the caller passes the time); applying a session is the config store's
//! (`config_store::apply_text`), with the text [`ConfigSessions::text`] gives.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use utoipa::ToSchema;

/// The most sessions at once (NX-OS's limit).
pub const MAX_SESSIONS: usize = 32;
/// The most lines in all sessions together (NX-OS's limit).
pub const MAX_LINES: usize = 20_000;
/// The longest session name (NX-OS's limit).
pub const NAME_MAX: usize = 63;

/// Why a session operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("configuration session {0} does not exist")]
    NoSuchSession(String),
    #[error("configuration session {name} belongs to {owner}")]
    NotOwner { name: String, owner: String },
    #[error("invalid session name '{0}': 1-{NAME_MAX} letters, digits, '-' or '_'")]
    BadName(String),
    #[error("too many configuration sessions (at most {MAX_SESSIONS}); commit or abort one")]
    TooManySessions,
    #[error("configuration sessions hold at most {MAX_LINES} lines in all; commit or abort one")]
    TooManyLines,
}

/// One session as `show configuration session summary` and REST list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionSummary {
    pub name: String,
    /// The account that made it (the only one that may see or change its lines).
    pub owner: String,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// How many lines it holds.
    pub lines: usize,
}

/// One session with its lines (`show configuration session NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub summary: SessionSummary,
    /// The recorded lines, sub-mode lines indented under their header; line N of the text
    /// `verify` and `commit` check is `lines[N-1]`.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    owner: String,
    created_ms: u64,
    lines: Vec<String>,
}

/// Every session of this supervisor, by name.
#[derive(Debug, Default)]
pub struct ConfigSessions {
    sessions: Mutex<BTreeMap<String, Session>>,
}

impl ConfigSessions {
    fn table(&self) -> MutexGuard<'_, BTreeMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes session `name` for `owner`, or finds `owner`'s session of that name. Returns
    /// whether it is new.
    pub fn open(&self, name: &str, owner: &str, now_ms: u64) -> Result<bool, SessionError> {
        check_name(name)?;
        let mut table = self.table();
        if let Some(session) = table.get(name) {
            owned(name, session, owner)?;
            return Ok(false);
        }
        if table.len() >= MAX_SESSIONS {
            return Err(SessionError::TooManySessions);
        }
        table.insert(
            name.to_owned(),
            Session { owner: owner.to_owned(), created_ms: now_ms, lines: Vec::new() },
        );
        Ok(true)
    }

    /// Records config `text` (already known to parse) at the end of `owner`'s session `name`.
    /// A sub-mode header that repeats the session's current one (the shell sends each sub-mode
    /// line under its header) is recorded once. Returns the session's line count.
    pub fn append(&self, name: &str, owner: &str, text: &str) -> Result<usize, SessionError> {
        let mut table = self.table();
        let total: usize = table.values().map(|session| session.lines.len()).sum();
        let session = find(&mut table, name, owner)?;
        let mut new: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
        let header = session.lines.iter().rev().find(|line| !line.starts_with(char::is_whitespace));
        if new.len() > 1
            && header.is_some_and(|header| header == new[0])
            && new[1..].iter().all(|line| line.starts_with(char::is_whitespace))
        {
            new.remove(0);
        }
        if total + new.len() > MAX_LINES {
            return Err(SessionError::TooManyLines);
        }
        session.lines.extend(new.into_iter().map(str::to_owned));
        Ok(session.lines.len())
    }

    /// `owner`'s session `name`, with its lines.
    pub fn view(&self, name: &str, owner: &str) -> Result<SessionView, SessionError> {
        let mut table = self.table();
        let session = find(&mut table, name, owner)?;
        Ok(SessionView { summary: summary(name, session), lines: session.lines.clone() })
    }

    /// Every session of `owner`, with its lines, by name.
    pub fn views_of(&self, owner: &str) -> Vec<SessionView> {
        let table = self.table();
        table
            .iter()
            .filter(|(_, session)| session.owner == owner)
            .map(|(name, session)| SessionView {
                summary: summary(name, session),
                lines: session.lines.clone(),
            })
            .collect()
    }

    /// Every session (anyone's), by name.
    pub fn summaries(&self) -> Vec<SessionSummary> {
        self.table().iter().map(|(name, session)| summary(name, session)).collect()
    }

    /// The session's lines as one config text, and how many lines it holds.
    pub fn text(&self, name: &str, owner: &str) -> Result<(String, usize), SessionError> {
        let mut table = self.table();
        let session = find(&mut table, name, owner)?;
        let text = session.lines.iter().map(|line| format!("{line}\n")).collect();
        Ok((text, session.lines.len()))
    }

    /// The first `count` lines were committed: they leave the session, and the session ends
    /// unless lines were added meanwhile.
    pub fn committed(&self, name: &str, count: usize) {
        let mut table = self.table();
        if let Some(session) = table.get_mut(name) {
            session.lines.drain(..count.min(session.lines.len()));
            if session.lines.is_empty() {
                table.remove(name);
            }
        }
    }

    /// Ends `owner`'s session `name` without applying it (`abort`).
    pub fn abort(&self, name: &str, owner: &str) -> Result<(), SessionError> {
        let mut table = self.table();
        find(&mut table, name, owner)?;
        table.remove(name);
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), SessionError> {
    let valid = (1..=NAME_MAX).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err(SessionError::BadName(name.chars().take(NAME_MAX + 1).collect())) }
}

fn owned(name: &str, session: &Session, owner: &str) -> Result<(), SessionError> {
    if session.owner == owner {
        Ok(())
    } else {
        Err(SessionError::NotOwner { name: name.to_owned(), owner: session.owner.clone() })
    }
}

fn find<'t>(
    table: &'t mut BTreeMap<String, Session>,
    name: &str,
    owner: &str,
) -> Result<&'t mut Session, SessionError> {
    let session = table.get_mut(name).ok_or_else(|| SessionError::NoSuchSession(name.to_owned()))?;
    owned(name, session, owner)?;
    Ok(session)
}

fn summary(name: &str, session: &Session) -> SessionSummary {
    SessionSummary {
        name: name.to_owned(),
        owner: session.owner.clone(),
        created_ms: session.created_ms,
        lines: session.lines.len(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_are_recorded_with_one_header_per_block() {
        let sessions = ConfigSessions::default();
        assert_eq!(sessions.open("s1", "alice", 5), Ok(true));
        assert_eq!(sessions.open("s1", "alice", 6), Ok(false));
        for text in [
            "vlan 100\n",
            "port-profile type vethernet web\n",
            "port-profile type vethernet web\n  switchport access vlan 100\n",
            "port-profile type vethernet web\n  state enabled\n",
            "vlan 200\n",
            "port-profile type vethernet web\n  no shutdown\n",
        ] {
            sessions.append("s1", "alice", text).unwrap();
        }
        let view = sessions.view("s1", "alice").unwrap();
        assert_eq!(
            view.lines,
            [
                "vlan 100",
                "port-profile type vethernet web",
                "  switchport access vlan 100",
                "  state enabled",
                "vlan 200",
                "port-profile type vethernet web",
                "  no shutdown"
            ]
        );
        assert_eq!(
            view.summary,
            SessionSummary { name: "s1".into(), owner: "alice".into(), created_ms: 5, lines: 7 }
        );
        let (text, count) = sessions.text("s1", "alice").unwrap();
        assert_eq!(count, 7);
        assert!(
            text.starts_with("vlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n")
        );
    }

    #[test]
    fn a_session_is_its_owners() {
        let sessions = ConfigSessions::default();
        sessions.open("s1", "alice", 0).unwrap();
        let theirs = Err(SessionError::NotOwner { name: "s1".into(), owner: "alice".into() });
        assert_eq!(sessions.open("s1", "bob", 0), theirs.clone().map(|()| false));
        assert_eq!(sessions.append("s1", "bob", "vlan 5\n"), theirs.clone().map(|()| 0));
        assert_eq!(sessions.abort("s1", "bob"), theirs);
        assert!(sessions.views_of("bob").is_empty());
        assert_eq!(sessions.views_of("alice").len(), 1);
        assert_eq!(sessions.summaries().len(), 1);
        assert_eq!(sessions.abort("s1", "alice"), Ok(()));
        assert_eq!(sessions.abort("s1", "alice"), Err(SessionError::NoSuchSession("s1".into())));
    }

    #[test]
    fn bounds_and_names() {
        let sessions = ConfigSessions::default();
        assert_eq!(sessions.open("", "a", 0), Err(SessionError::BadName(String::new())));
        assert!(matches!(sessions.open("a b", "a", 0), Err(SessionError::BadName(_))));
        assert!(matches!(sessions.open(&"x".repeat(NAME_MAX + 1), "a", 0), Err(SessionError::BadName(_))));
        for n in 0..MAX_SESSIONS {
            sessions.open(&format!("s{n}"), "a", 0).unwrap();
        }
        assert_eq!(sessions.open("one-more", "a", 0), Err(SessionError::TooManySessions));
        let many = "vlan 7\n".repeat(MAX_LINES);
        assert_eq!(sessions.append("s0", "a", &many), Ok(MAX_LINES));
        assert_eq!(sessions.append("s1", "a", "vlan 8\n"), Err(SessionError::TooManyLines));
    }

    #[test]
    fn a_commit_ends_the_session_unless_lines_came_meanwhile() {
        let sessions = ConfigSessions::default();
        sessions.open("s1", "a", 0).unwrap();
        sessions.append("s1", "a", "vlan 7\n").unwrap();
        let (_, count) = sessions.text("s1", "a").unwrap();
        sessions.append("s1", "a", "vlan 8\n").unwrap();
        sessions.committed("s1", count);
        assert_eq!(sessions.view("s1", "a").unwrap().lines, ["vlan 8"]);
        sessions.committed("s1", 1);
        assert!(sessions.summaries().is_empty());
    }
}
