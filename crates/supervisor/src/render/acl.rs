//! `show ip access-lists [NAME]`, `show ipv6 access-lists [NAME]`: NX-OS's layout, entries with
//! their matches summed over every module.

use config::Family;

use super::text::line;
use crate::policy_views::AccessListView;

/// NX-OS's indentation of a list's lines.
const INDENT: &str = "        ";

/// Every list in `lists`, a blank line between two. `[match=N]` ends each entry only when the
/// list has `statistics per-entry` (as NX-OS); then, when the implicit deny at the end dropped
/// anything, a last line `implicit deny ip any any [match=N]` says so (NX-OS shows no such
/// line: here a packet no entry permits is never uncounted).
pub fn show_access_lists(lists: &[AccessListView]) -> String {
    let mut out = String::new();
    for (index, list) in lists.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let kind = match list.family {
            Family::Ipv4 => "IP",
            Family::Ipv6 => "IPv6",
        };
        line(&mut out, format_args!("{kind} access list {}", list.name));
        if list.statistics_per_entry {
            line(&mut out, format_args!("{INDENT}statistics per-entry"));
        }
        for entry in &list.entries {
            if list.statistics_per_entry {
                line(
                    &mut out,
                    format_args!("{INDENT}{} {} [match={}]", entry.sequence, entry.entry, entry.matches),
                );
            } else {
                line(&mut out, format_args!("{INDENT}{} {}", entry.sequence, entry.entry));
            }
        }
        if list.statistics_per_entry && list.implicit_deny_matches > 0 {
            line(
                &mut out,
                format_args!(
                    "{INDENT}implicit deny {} any any [match={}]",
                    list.family.keyword(),
                    list.implicit_deny_matches
                ),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_views::AceView;

    fn entry(sequence: u32, entry: &str, matches: u64) -> AceView {
        AceView { sequence, entry: entry.into(), matches }
    }

    #[test]
    fn nx_os_layout_with_statistics() {
        let web = AccessListView {
            name: "WEB-IN".into(),
            family: Family::Ipv4,
            statistics_per_entry: true,
            entries: vec![
                entry(10, "permit tcp any 10.100.0.0/24 eq 80", 42),
                entry(20, "permit icmp any any", 0),
                entry(30, "deny ip any any", 3),
            ],
            implicit_deny_matches: 0,
        };
        let six = AccessListView {
            name: "WEB6".into(),
            family: Family::Ipv6,
            statistics_per_entry: false,
            entries: vec![entry(10, "permit tcp any any eq 80", 9)],
            implicit_deny_matches: 5,
        };
        assert_eq!(
            show_access_lists(&[web.clone(), six]),
            "IP access list WEB-IN\n\
             \x20       statistics per-entry\n\
             \x20       10 permit tcp any 10.100.0.0/24 eq 80 [match=42]\n\
             \x20       20 permit icmp any any [match=0]\n\
             \x20       30 deny ip any any [match=3]\n\
             \n\
             IPv6 access list WEB6\n\
             \x20       10 permit tcp any any eq 80\n"
        );
        let denied = AccessListView { family: Family::Ipv6, implicit_deny_matches: 7, ..web };
        assert!(
            show_access_lists(&[denied]).ends_with("        implicit deny ipv6 any any [match=7]\n"),
            "the implicit deny's count, with statistics per-entry"
        );
        assert_eq!(show_access_lists(&[]), "");
    }
}
