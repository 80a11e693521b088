//! Keeping passwords out of what is shown: the lines of a `username` command as logs, events,
//! history and error echoes may quote them.

use crate::grammar::split_words;
use crate::language::{self, Mode, Op, Scope};

/// What a redacted password reads as.
pub const REDACTED: &str = "*****";

/// `text` with the password of every `username` line replaced by [`REDACTED`]; other lines as
/// they were.
pub fn redact_secrets(text: &str) -> String {
    let mut out: String = text.lines().map(|line| redact_line(line) + "\n").collect();
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

/// One line with its password (if it is a `username` line) replaced by [`REDACTED`]. A line that
/// looks like `username` but does not parse keeps only its first two words: where the password
/// was cannot be known.
pub fn redact_line(line: &str) -> String {
    let words = split_words(line);
    let is_username =
        words.first().is_some_and(|first| "username".starts_with(&first.text.to_ascii_lowercase()));
    if !is_username {
        return line.to_string();
    }
    let parsed = language::parse_line(Scope::Typed(Mode::Config), line).ok();
    let secret_column = parsed
        .filter(|statement| matches!(statement.op, Op::Username { .. }) && !statement.negated)
        .and_then(|statement| statement.arg(1).map(|arg| arg.column));
    match secret_column.and_then(|column| words.iter().find(|word| word.column == column)) {
        Some(word) => format!("{}{REDACTED}{}", &line[..word.start], &line[word.start + word.text.len()..]),
        None if words.len() > 2 => format!("{} {REDACTED}", &line[..words[1].start + words[1].text.len()]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced_and_nothing_else() {
        assert_eq!(
            redact_line("  username alice password s3cret role network-admin"),
            "  username alice password ***** role network-admin"
        );
        assert_eq!(
            redact_line("user alice pass 0 s3cret role network-operator"),
            "user alice pass 0 ***** role network-operator"
        );
        assert_eq!(
            redact_line("username alice password 5 $argon2id$x role network-admin"),
            "username alice password 5 ***** role network-admin"
        );
        assert_eq!(redact_line("username alice password s3 cret role x"), "username alice *****");
        assert_eq!(redact_line("no username alice"), "no username alice");
        assert_eq!(redact_line("vlan 100"), "vlan 100");
        assert_eq!(
            redact_secrets("vlan 5\nusername a password p role network-admin\n"),
            "vlan 5\nusername a password ***** role network-admin\n"
        );
        assert_eq!(redact_secrets("username a password p"), "username a *****");
    }
}
