//! Helpers for fixed-width NX-OS tables.

use std::fmt::Write as _;

/// The rule above and below table headers (79 dashes, NX-OS's width).
pub const RULE: &str = "-------------------------------------------------------------------------------\n";

/// Appends one line, without trailing spaces when the last column is empty.
pub fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    let start = out.len();
    // Writing to a String cannot fail.
    let _ = out.write_fmt(args);
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
}
