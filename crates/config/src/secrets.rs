//! Keeping passwords out of what is shown: logs, events, the accounting log, history and error
//! echoes may quote config lines. One place decides where a secret is: the grammar for a
//! `username` line (so the password's column stays put for a caret), [`crate::redact()`]'s keyword
//! scan for everything else (`no username … password X`, `secret X`, text that does not parse).

use crate::grammar::split_words;
use crate::language::{self, Mode, Op, Scope};

/// What a redacted password reads as.
pub const REDACTED: &str = crate::redact::MASK;

/// One line with its password (if it is a `username` line) replaced by [`REDACTED`]. For a line
/// that does not parse, the word after `password` (and its `0`/`5`) is taken for the password,
/// or, without a `password` word, everything after the user name: where the password was cannot
/// be known for sure. The password's column stays where it was (a caret may point at it).
pub fn redact_line(line: &str) -> String {
    let words = split_words(line);
    let is_username =
        words.first().is_some_and(|first| "username".starts_with(&first.text.to_ascii_lowercase()));
    if !is_username {
        return crate::redact::mask_keywords(line);
    }
    let parsed = language::parse_line(Scope::Typed(Mode::Config), line).ok();
    let parsed_column = parsed
        .filter(|statement| matches!(statement.op, Op::Username { .. }) && !statement.negated)
        .and_then(|statement| statement.arg(1).map(|arg| arg.column));
    let secret = match parsed_column {
        Some(column) => words.iter().position(|word| word.column == column),
        None => guess_secret(&words),
    };
    match secret.map(|index| words.get(index)) {
        Some(Some(word)) => {
            format!("{}{REDACTED}{}", &line[..word.start], &line[word.start + word.text.len()..])
        }
        // `password` with nothing after it: nothing to hide.
        Some(None) => line.to_string(),
        None if words.len() > 2 => format!("{}{REDACTED}", &line[..words[2].start]),
        None => line.to_string(),
    }
}

/// The index of the password's word in a `username` line that did not parse: the word after
/// `password` (abbreviated or not), after a `0` or `5` if there is one.
fn guess_secret(words: &[crate::grammar::Word<'_>]) -> Option<usize> {
    let keyword =
        words.iter().skip(2).position(|word| {
            word.text.len() >= 2 && "password".starts_with(&word.text.to_ascii_lowercase())
        })? + 2;
    let next = keyword + 1;
    let typed = words.get(next).is_some_and(|word| matches!(word.text, "0" | "5")) && words.len() > next + 1;
    Some(if typed { next + 1 } else { next })
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
        assert_eq!(
            redact_line("username alice password s3 cret role x"),
            "username alice password ***** cret role x"
        );
        assert_eq!(redact_line("username alice pass 5 h?sh role x"), "username alice pass 5 ***** role x");
        assert_eq!(redact_line("username alice s3cret"), "username alice *****");
        assert_eq!(redact_line("no username alice"), "no username alice");
        assert_eq!(redact_line("no username alice password s3"), "no username alice password *****");
        assert_eq!(redact_line("snmp secret s3"), "snmp secret *****");
        assert_eq!(redact_line("vlan 100"), "vlan 100");
    }
}
