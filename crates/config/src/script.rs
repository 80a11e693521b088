//! A whole configuration text → parsed lines, with sub-modes by indentation.
//!
//! NX-OS prints sub-mode lines indented under their header (`port-profile …` then `  switchport
//! …`); an indented line belongs to the header above it, and one with no header above is an
//! error. An unindented line after a header is read as the shell reads it: the sub-mode's
//! commands first, then global ones (which leave the sub-mode), so a pasted shell session —
//! `configure terminal`, headers, unindented sub-mode lines, `exit`, `end` — parses too.
//! Blank lines and `!` comments are skipped.

use crate::error::ConfigError;
use crate::language::{self, Mode, Op, Scope, Statement};

/// One parsed line of a script.
#[derive(Debug, Clone)]
pub struct ScriptLine<'a> {
    /// 1-based line number.
    pub number: usize,
    /// The line without surrounding whitespace (for change descriptions).
    pub text: &'a str,
    pub statement: Statement,
}

/// Parses every line; the first line that does not parse is the error.
pub fn parse_script(text: &str) -> Result<Vec<ScriptLine<'_>>, ConfigError> {
    let mut lines = Vec::new();
    let mut sub_mode: Option<Mode> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('!') {
            continue;
        }
        let indented = raw.starts_with(char::is_whitespace);
        let scope = match (indented, sub_mode) {
            (true, Some(mode)) => Scope::Indented(mode),
            (true, None) => {
                let column = raw.chars().take_while(|c| c.is_whitespace()).count() + 1;
                return Err(ConfigError::at(number, column, "indented line outside a sub-mode").expecting(
                    vec![
                    "a 'vlan', 'bridge-domain', 'port-profile', 'ip access-list' or 'flow …' line above it"
                        .to_string(),
                    "no indentation".to_string(),
                ],
                ));
            }
            (false, mode) => Scope::Typed(mode.unwrap_or(Mode::Config)),
        };
        let statement = language::parse_line(scope, raw)
            .map_err(|e| ConfigError::at(number, e.column, e.message).expecting(e.expected))?;
        sub_mode = next_sub_mode(sub_mode, &statement);
        lines.push(ScriptLine { number, text: trimmed, statement });
    }
    Ok(lines)
}

/// The sub-mode after a line: `end`/`exit` leave it, a global line replaces it (or leaves it),
/// a sub-mode line keeps it.
fn next_sub_mode(current: Option<Mode>, statement: &Statement) -> Option<Mode> {
    match statement.op {
        Op::End | Op::Exit => None,
        _ if statement.mode == Mode::Config => statement.enters(),
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ops(text: &str) -> Vec<(usize, Op, Mode)> {
        parse_script(text)
            .unwrap()
            .into_iter()
            .map(|l| (l.number, l.statement.op, l.statement.mode))
            .collect()
    }

    #[test]
    fn indentation_selects_the_sub_mode() {
        let text = "vlan 100\n  name web\n\n! comment\nport-profile web\n  state enabled\n";
        assert_eq!(
            ops(text),
            vec![
                (1, Op::Vlan, Mode::Config),
                (2, Op::VlanName, Mode::Vlan),
                (5, Op::PortProfile(None), Mode::Config),
                (6, Op::StateEnabled, Mode::PortProfile),
            ]
        );
    }

    #[test]
    fn a_pasted_session_parses() {
        let text = "configure terminal\nport-profile type vethernet web\nswitchport mode access\n\
                    exit\nvlan 5\nname five\nend\n";
        let got: Vec<Op> = ops(text).into_iter().map(|(_, op, _)| op).collect();
        assert_eq!(got.len(), 7);
        assert_eq!(got[2], Op::SwitchportMode(crate::SwitchportMode::Access));
        assert_eq!(got[5], Op::VlanName);
    }

    #[test]
    fn indented_line_without_header_is_an_error() {
        let e = parse_script("vlan 1\n  name a\nno vlan 1\n  name b\n").unwrap_err();
        assert_eq!((e.line, e.column), (4, 3));
        assert_eq!(e.message, "indented line outside a sub-mode");
        let e = parse_script("  shutdown").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
    }

    #[test]
    fn indented_global_command_is_an_error() {
        let e = parse_script("port-profile a\n  vlan 5\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
    }

    #[test]
    fn exit_leaves_the_sub_mode() {
        let e = parse_script("port-profile a\nexit\nshutdown\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
    }

    #[test]
    fn errors_carry_line_and_column() {
        let e = parse_script("port-profile a\n  switchport access vlan 5000\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2, column 26: invalid VLAN id '5000': expected a number 1-4094");
        let e = parse_script("bogus line").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(e.expected.contains(&"vlan".to_string()));
    }
}
