//! Secrets out of config text, for logs and the accounting log: `username alice password
//! SECRET role network-admin` → `username alice password **** role network-admin`.
//!
//! Pure and deliberately broader than the grammar: it runs on text that may not parse (a
//! rejected line is logged too), and the shell accepts abbreviations, so `username alice pass
//! SECRET` is redacted as well. Layout (indentation, spacing, line breaks) is kept.

/// What a secret is replaced with.
pub const MASK: &str = "*****";

/// Keywords whose next word is a secret, anywhere on a line.
const SECRET_KEYWORDS: [&str; 2] = ["password", "secret"];

/// Returns `text` with every secret replaced by [`MASK`].
///
/// A secret is the word after `password` or `secret` (any case); after an encryption type
/// (`password 5 $argon2…`, NX-OS's `0`/`5`/`7`) the word after the type. On a `username` line
/// (or its abbreviation, with or without `no`), any abbreviation of `password` counts too.
pub fn redact(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let body = line.trim_end_matches(['\n', '\r']);
            format!("{}{}", crate::secrets::redact_line(body), &line[body.len()..])
        })
        .collect()
}

/// The keyword scan alone, for lines the grammar does not place a password in.
pub(crate) fn mask_keywords(line: &str) -> String {
    let words = words(line);
    let lower: Vec<String> = words.iter().map(|&(_, word)| word.to_ascii_lowercase()).collect();
    let first = usize::from(lower.first().is_some_and(|word| word == "no"));
    let username_line = lower.get(first).is_some_and(|word| word.len() >= 2 && "username".starts_with(word));
    let mut secrets = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = lower[i].as_str();
        // The user's name is a name, whatever it spells.
        let is_name = username_line && i == first + 1;
        let abbreviated_password = username_line && i > first + 1 && "password".starts_with(word);
        if !is_name && (SECRET_KEYWORDS.contains(&word) || abbreviated_password) {
            let mut secret = i + 1;
            if lower.get(secret).is_some_and(|w| matches!(w.as_str(), "0" | "5" | "7"))
                && secret + 1 < words.len()
            {
                secret += 1;
            }
            if secret < words.len() {
                secrets.push(secret);
            }
            i = secret + 1;
        } else {
            i += 1;
        }
    }
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    for index in secrets {
        let (start, word) = words[index];
        out.push_str(&line[copied..start]);
        out.push_str(MASK);
        copied = start + word.len();
    }
    out.push_str(&line[copied..]);
    out
}

/// Each whitespace-separated word with its byte offset.
fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (byte, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(byte),
            (true, Some(from)) => {
                out.push((from, &line[from..byte]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        out.push((from, &line[from..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let cases = [
            (
                "username alice password hunter2 role network-admin",
                "username alice password ***** role network-admin",
            ),
            ("username alice password 5 $argon2id$v=19$x role x", "username alice password 5 ***** role x"),
            ("username alice pass hunter2", "username alice pass *****"),
            ("USERNAME alice PASSWORD Hunter2", "USERNAME alice PASSWORD *****"),
            ("  username   bob  password\thunter2\n", "  username   bob  password\t*****\n"),
            ("no username bob password hunter2", "no username bob password *****"),
            // The trailing type digit alone is not a secret's place.
            ("username bob password 5", "username bob password *****"),
            ("username bob password", "username bob password"),
            ("snmp secret s3", "snmp secret *****"),
        ];
        for (text, want) in cases {
            assert_eq!(redact(text), want, "{text:?}");
        }
    }

    #[test]
    fn everything_else_is_kept_verbatim() {
        let text = "port-profile type vethernet p\n  description pass the salt\n  switchport access vlan 5\n";
        assert_eq!(redact(text), text);
        // `p` on a port-profile line is a profile name, not `password`.
        assert_eq!(redact("port-profile p x"), "port-profile p x");
        // A user named like a keyword keeps its name.
        assert_eq!(redact("username password password x"), "username password password *****");
    }

    #[test]
    fn every_line_is_redacted() {
        assert_eq!(
            redact("username a password x\nusername b password y"),
            "username a password *****\nusername b password *****"
        );
    }
}
