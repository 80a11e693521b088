//! `show logging logfile`: one event a line.

use super::text::line;
use crate::events::EventRecord;

/// Renders the event log, oldest first: `2026 Nov 29 06:01:02 switch %FAC-SEV-MNEM: text`.
/// Event texts quote what agents sent (host names, adapters, owners, reasons): one event is one
/// line, whatever they hold (see `render::text::line`).
pub fn show_logging_logfile(events: &[EventRecord], switch_name: &str) -> String {
    let mut out = String::new();
    for event in events {
        line(&mut out, format_args!("{}", event.logfile_line(switch_name)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;

    #[test]
    fn one_line_per_event() {
        let events = [
            EventRecord::new(0, 1_795_932_062_000, &Event::module_detected("bilbo", 3)),
            EventRecord::new(1, 1_795_932_063_000, &Event::module_online(3)),
        ];
        assert_eq!(
            show_logging_logfile(&events, "switch"),
            "2026 Nov 29 06:01:02 switch %VEM_MGR-2-VEM_MGR_DETECTED: Host bilbo detected as module 3\n\
             2026 Nov 29 06:01:03 switch %VEM_MGR-2-MOD_ONLINE: Module 3 is online\n"
        );
        assert_eq!(show_logging_logfile(&[], "switch"), "");
        let forged = Event::module_detected("evil\n2026 Nov 29 06:01:02 switch %FAKE", 9);
        let text = show_logging_logfile(&[EventRecord::new(0, 1_795_932_062_000, &forged)], "switch");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}
