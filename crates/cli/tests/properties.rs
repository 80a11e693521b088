//! Properties of sessions: no input panics, and typing lines one by one does what applying
//! them as one script does.
#![allow(clippy::unwrap_used)]

use cli::{Action, Session};
use config::{Config, apply};
use proptest::prelude::*;

/// Headers and the sub-mode lines valid under them. Whether a sequence succeeds depends on
/// order and types (inheriting a profile not yet created, `max-ports` on an uplink, …).
/// `end`/`exit` are left out: at the top level the shell and a script read them differently
/// (the shell leaves configuration mode).
const VLAN_HEADERS: &[&str] = &["vlan 10-12", "vlan 5", "no vlan 11"];
const VLAN_LINES: &[&str] = &["name blue", "no name"];
const BRIDGE_DOMAIN_HEADERS: &[&str] = &["bridge-domain red", "bridge-domain blue", "no bridge-domain red"];
const BRIDGE_DOMAIN_LINES: &[&str] = &["segment id 5000", "segment id 16777215", "no segment id"];
const PROFILE_HEADERS: &[&str] = &[
    "port-profile type vethernet a",
    "port-profile b",
    "port-profile type ethernet up",
    "no port-profile b",
];
const PROFILE_LINES: &[&str] = &[
    "description web tier",
    "no description",
    "switchport mode trunk",
    "switchport mode access",
    "switchport access vlan 7",
    "no switchport access vlan",
    "switchport access bridge-domain red",
    "no switchport access bridge-domain",
    "switchport trunk allowed vlan 1-20",
    "switchport trunk allowed vlan add 30",
    "switchport trunk allowed vlan remove 2",
    "switchport trunk native vlan 3",
    "channel-group auto mode on mac-pinning",
    "inherit port-profile a",
    "no inherit port-profile",
    "max-ports 4",
    "port-binding dynamic",
    "system vlan 3",
    "no system vlan",
    "shutdown",
    "no shutdown",
    "state enabled",
    "no state enabled",
];

/// A header and lines under it (none under a `no` header: it opens no sub-mode).
fn block() -> impl Strategy<Value = Vec<&'static str>> {
    let vlan =
        (prop::sample::select(VLAN_HEADERS), prop::collection::vec(prop::sample::select(VLAN_LINES), 0..3));
    let profile = (
        prop::sample::select(PROFILE_HEADERS),
        prop::collection::vec(prop::sample::select(PROFILE_LINES), 0..5),
    );
    let domain = (
        prop::sample::select(BRIDGE_DOMAIN_HEADERS),
        prop::collection::vec(prop::sample::select(BRIDGE_DOMAIN_LINES), 0..3),
    );
    prop_oneof![vlan, domain, profile].prop_map(|(header, lines)| {
        let mut block = vec![header];
        if !header.starts_with("no ") {
            block.extend(lines);
        }
        block
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn typed_lines_compose_like_a_script(
        blocks in prop::collection::vec(block(), 1..6),
        indent in any::<bool>(),
    ) {
        let picks: Vec<&str> = blocks.iter().flatten().copied().collect();
        let mut session = Session::new("switch");
        session.interpret("configure terminal").unwrap();
        let mut typed = Config::default();
        let mut all_ok = true;
        for line in &picks {
            match session.interpret(line) {
                Ok(Action::Config { text }) => match apply(&typed, &text) {
                    Ok(applied) => typed = applied.config,
                    Err(e) => {
                        let _ = session.map_config_error(&e);
                        session.config_failed();
                        all_ok = false;
                    }
                },
                Ok(other) => prop_assert!(false, "{line}: unexpected {other:?}"),
                Err(_) => all_ok = false,
            }
        }
        if all_ok {
            // The script indents sub-mode lines (or not: unindented ones read as typed).
            let script: String = blocks
                .iter()
                .flat_map(|block| {
                    block.iter().enumerate().map(|(i, line)| {
                        let pad = if i > 0 && indent { "  " } else { "" };
                        format!("{pad}{line}\n")
                    })
                })
                .collect();
            let applied = apply(&Config::default(), &script)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{script}")))?;
            prop_assert_eq!(applied.config, typed, "{}", script);
        }
    }

    #[test]
    fn nothing_panics(lines in prop::collection::vec("\\PC{0,40}", 0..8), pos in 0usize..64) {
        let mut session = Session::new("switch");
        for line in &lines {
            let _ = session.help(line);
            let _ = session.complete(line, pos);
            let _ = cli::parse_exec(line);
            if let Ok(Action::Config { text }) = session.interpret(line)
                && let Err(e) = apply(&Config::default(), &text)
            {
                let _ = session.map_config_error(&e);
            }
            let _ = session.prompt();
        }
    }

    #[test]
    fn nothing_panics_in_config_modes(
        words in prop::collection::vec(
            prop::sample::select(&["do", "show", "sh", "no", "vlan", "port-profile", "web",
                "switchport", "trunk", "allowed", "é", "5000", "1-3", "?", "exit", "end",
                "configure", "terminal", "name", "state", "enabled", "bridge-domain", "segment",
                "id", "interface", "ethernet", "3/1", "red", "vethernet", "3", "shutdown"][..]),
            0..6,
        ),
        trailing_space in any::<bool>(),
        pos in 0usize..80,
    ) {
        let mut session = Session::new("switch");
        session.interpret("configure terminal").unwrap();
        let mut line = words.join(" ");
        if trailing_space {
            line.push(' ');
        }
        let _ = session.help(&line);
        let (start, _) = session.complete(&line, pos);
        prop_assert!(start <= line.len());
        let _ = session.interpret(&line);
        let _ = session.interpret("port-profile web");
        let _ = session.help(&line);
        let _ = session.interpret(&line);
        // The interface sub-mode: exec commands only, or a global line that leaves it.
        session.interpret("end").unwrap();
        session.interpret("configure terminal").unwrap();
        prop_assert_eq!(session.interpret("interface vethernet 3"), Ok(Action::ModeChanged));
        let _ = session.help(&line);
        let (start, _) = session.complete(&line, pos);
        prop_assert!(start <= line.len());
        match session.interpret(&line) {
            Ok(Action::Exec(cli::ExecCommand::InterfaceVethernetShutdown { number, .. })) => {
                prop_assert_eq!(number, 3);
            }
            Ok(Action::Config { text }) => prop_assert!(!text.starts_with("interface"), "{}", text),
            _ => {}
        }
    }
}
