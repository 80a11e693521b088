//! The one error type of the language: where (line, column) and what was expected there.

use std::fmt;

/// A configuration error: a line that did not parse, a line that could not be applied, or a
/// model that failed validation.
///
/// `line` and `column` are 1-based positions in the text given to [`crate::apply()`]; both are 0 when
/// the error is about a model with no text (a REST `PUT`, [`crate::validate()`]), and then `message`
/// names the object and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line number; 0 when there is no text.
    pub line: usize,
    /// 1-based column (in characters) of the offending word; 0 when there is no text.
    pub column: usize,
    /// What is wrong, e.g. `invalid VLAN id '5000'`.
    pub message: String,
    /// What would have been accepted at that column, e.g. `["a number 1-4094"]`.
    pub expected: Vec<String>,
}

impl ConfigError {
    /// An error at a position in the text.
    pub fn at(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self { line, column, message: message.into(), expected: Vec::new() }
    }

    /// An error about a model that did not come from text (line and column 0).
    pub fn model(message: impl Into<String>) -> Self {
        Self::at(0, 0, message)
    }

    /// Adds what would have been accepted.
    #[must_use]
    pub fn expecting(mut self, expected: Vec<String>) -> Self {
        self.expected = expected;
        self
    }
}

impl fmt::Display for ConfigError {
    /// `line 3, column 27: invalid VLAN id '5000': expected a number 1-4094`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        f.write_str(&self.message)?;
        if !self.expected.is_empty() {
            write!(f, ": expected {}", alternatives(&self.expected))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// `a`, `a or b`, `a, b or c`.
pub fn alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_position() {
        let e = ConfigError::at(3, 27, "invalid VLAN id '5000'").expecting(vec!["a number 1-4094".into()]);
        assert_eq!(e.to_string(), "line 3, column 27: invalid VLAN id '5000': expected a number 1-4094");
        let e = ConfigError::model("port-profile web: max-ports 0 is out of range");
        assert_eq!(e.to_string(), "port-profile web: max-ports 0 is out of range");
    }

    #[test]
    fn alternatives_read_like_english() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(alternatives(&v(&["a"])), "a");
        assert_eq!(alternatives(&v(&["a", "b"])), "a or b");
        assert_eq!(alternatives(&v(&["a", "b", "c"])), "a, b or c");
    }
}
