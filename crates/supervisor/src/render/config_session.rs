//! `show configuration session [NAME]` and `show configuration session summary`, as NX-OS
//! prints them. Clear-text passwords in a session's lines are shown as `*****`.

use super::text::{RULE, cell, line};
use crate::clock::format_timestamp;
use crate::config_sessions::{SessionSummary, SessionView};

/// `show configuration session [NAME]`: each session, then its lines numbered from 0001 (the
/// numbers `verify` and `commit` report errors with).
pub fn show_configuration_session(sessions: &[SessionView]) -> String {
    let mut out = String::new();
    for session in sessions {
        line(&mut out, format_args!("config session {}", session.summary.name));
        for (index, text) in session.lines.iter().enumerate() {
            line(&mut out, format_args!("{:04} {}", index + 1, config::redact_line(text)));
        }
        out.push('\n');
    }
    out
}

/// `show configuration session summary`: every session with its owner and creation time.
pub fn show_configuration_session_summary(sessions: &[SessionSummary]) -> String {
    let mut out = String::new();
    line(&mut out, format_args!("{}{}Creation Time", cell("Name", 33), cell("Session Owner", 25)));
    out.push_str(RULE);
    for session in sessions {
        line(
            &mut out,
            format_args!(
                "{}{}{}",
                cell(&session.name, 33),
                cell(&session.owner, 25),
                format_timestamp(session.created_ms)
            ),
        );
    }
    out.push('\n');
    line(&mut out, format_args!("Number of active configuration sessions = {}", sessions.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(name: &str, lines: &[&str]) -> SessionView {
        SessionView {
            summary: SessionSummary {
                name: name.into(),
                owner: "admin".into(),
                created_ms: 1_796_000_000_000,
                lines: lines.len(),
            },
            lines: lines.iter().map(|&l| l.to_owned()).collect(),
        }
    }

    #[test]
    fn sessions_with_numbered_lines() {
        let shown = show_configuration_session(&[session(
            "s1",
            &[
                "vlan 100",
                "username bob password s3cret role network-admin",
                "port-profile type vethernet web",
                "  state enabled",
            ],
        )]);
        assert_eq!(
            shown,
            "config session s1\n0001 vlan 100\n0002 username bob password ***** role network-admin\n\
             0003 port-profile type vethernet web\n0004   state enabled\n\n"
        );
    }

    #[test]
    fn summary_lists_owner_and_time() {
        let shown = show_configuration_session_summary(&[session("s1", &[]).summary]);
        let lines: Vec<&str> = shown.lines().collect();
        assert!(
            lines[0].starts_with("Name")
                && lines[0].contains("Session Owner")
                && lines[0].ends_with("Creation Time")
        );
        assert!(
            lines[2].starts_with("s1 ") && lines[2].contains("admin") && lines[2].contains("2026"),
            "{shown}"
        );
        assert_eq!(lines.last(), Some(&"Number of active configuration sessions = 1"));
    }
}
