//! The shell's error: a column in the user's line and NX-OS's wording, rendered under a caret.

use std::fmt;

use config::grammar::{MatchError, MatchErrorKind};

/// An error about a line the user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// 1-based column (in characters) of the first character that did not match; 0 when the
    /// error has no position (then no caret is drawn).
    pub column: usize,
    /// NX-OS's wording, e.g. `Invalid command at '^' marker.`, or the supervisor's reason.
    pub message: String,
    /// What exactly was wrong, when known: `invalid VLAN id '5000': expected a number 1-4094`.
    pub detail: Option<String>,
}

impl CliError {
    /// Renders the error as NX-OS does, below a line typed after a prompt of `prompt_len`
    /// characters: the caret line (when there is a column), `% message`, then the detail.
    pub fn render(&self, prompt_len: usize) -> String {
        let mut out = String::new();
        if self.column > 0 {
            out.push_str(&caret(prompt_len, self.column));
            out.push('\n');
        }
        out.push_str(&self.to_string());
        if let Some(detail) = &self.detail {
            out.push('\n');
            out.push_str(detail);
        }
        out
    }
}

impl fmt::Display for CliError {
    /// `% Invalid command at '^' marker.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "% {}", self.message)
    }
}

impl std::error::Error for CliError {}

impl CliError {
    /// A grammar error at `column` (already shifted to the user's line).
    pub(crate) fn from_match(error: &MatchError, column: usize) -> Self {
        let what = match error.kind {
            MatchErrorKind::Invalid => "Invalid",
            MatchErrorKind::Incomplete => "Incomplete",
            MatchErrorKind::Ambiguous => "Ambiguous",
        };
        let mut detail = error.message.clone();
        if !error.expected.is_empty() {
            detail.push_str(": expected ");
            detail.push_str(&config::error::alternatives(&error.expected));
        }
        Self { column, message: format!("{what} command at '^' marker."), detail: Some(detail) }
    }
}

/// The caret line: `^` under column `column` (1-based) of a line typed after a prompt of
/// `prompt_len` characters.
///
/// ```
/// // switch# show modul x
/// //                    ^
/// assert_eq!(cli::caret("switch# ".len(), 12), format!("{}^", " ".repeat(19)));
/// ```
pub fn caret(prompt_len: usize, column: usize) -> String {
    format!("{}^", " ".repeat(prompt_len + column.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_nx_os() {
        let e = CliError { column: 12, message: "Invalid command at '^' marker.".into(), detail: None };
        assert_eq!(
            format!("switch# show modul x\n{}", e.render(8)),
            "switch# show modul x\n                   ^\n% Invalid command at '^' marker."
        );
        let e = CliError { column: 0, message: "port-profile 'x' does not exist".into(), detail: None };
        assert_eq!(e.render(8), "% port-profile 'x' does not exist");
    }
}
