//! Helpers for fixed-width NX-OS tables.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::agent_input;

/// The rule above and below table headers (79 dashes, NX-OS's width).
pub const RULE: &str = "-------------------------------------------------------------------------------\n";

/// Appends one line, without trailing spaces when the last column is empty. Control and format
/// characters (see [`agent_input::is_unsafe`]) are shown as `?`: a line holds what agents sent
/// (names, versions, reasons), which was checked on the way in, but a line must never carry a
/// newline that forges a row or an escape sequence that drives the operator's terminal, whatever
/// wrote the store.
pub fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    let start = out.len();
    // Writing to a String cannot fail.
    let _ = out.write_fmt(args);
    if let Cow::Owned(clean) = agent_input::printable(&out[start..]) {
        out.truncate(start);
        out.push_str(&clean);
    }
    let trimmed = out[start..].trim_end().len();
    out.truncate(start + trimmed);
    out.push('\n');
}

/// `value` padded to `width`; a longer value keeps one space after it so columns never run
/// together.
pub fn cell(value: &str, width: usize) -> String {
    if value.chars().count() < width { format!("{value:<width$}") } else { format!("{value} ") }
}

/// `02:ab:cd:00:01:01` as NX-OS writes MAC addresses: `02ab.cd00.0101`. Anything else is shown
/// as given.
pub fn dotted_mac(mac: &str) -> String {
    let hex: String = mac.chars().filter(|c| *c != ':').collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return mac.to_owned();
    }
    let hex = hex.to_ascii_lowercase();
    format!("{}.{}.{}", &hex[0..4], &hex[4..8], &hex[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_macs() {
        assert_eq!(cell("Veth1", 8), "Veth1   ");
        assert_eq!(cell("Vethernet", 8), "Vethernet ");
        assert_eq!(dotted_mac("02:AB:cd:00:01:01"), "02ab.cd00.0101");
        assert_eq!(dotted_mac("junk"), "junk");
        let mut out = String::new();
        line(&mut out, format_args!("{}{}", cell("a", 4), ""));
        assert_eq!(out, "a\n");
    }

    #[test]
    fn lines_never_carry_what_a_terminal_obeys() {
        let mut out = String::new();
        line(&mut out, format_args!("3    {}", "0.1.0\n4    0      Virtual Ethernet Module"));
        line(&mut out, format_args!("3    {}", "\u{1b}]0;pwned\u{7}\u{1b}[2J"));
        assert_eq!(out, "3    0.1.0?4    0      Virtual Ethernet Module\n3    ?]0;pwned??[2J\n");
        assert_eq!(out.lines().count(), 2, "no forged row");
    }
}
