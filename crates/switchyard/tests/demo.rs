//! The README's first command: `switchyard demo` runs a supervisor and two agents and shows them.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn demo_shows_two_online_modules_and_the_seed_profiles() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let online: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("Virtual Ethernet Module") && l.trim_end().ends_with(" ok"))
        .collect();
    assert_eq!(online.len(), 2, "{stdout}");
    assert!(stdout.contains("port-profile vlan100") && stdout.contains("port-profile uplink"), "{stdout}");
    assert!(stdout.contains("  switchport access vlan 100"), "{stdout}");
    assert_eq!(stdout.matches("Supervisor state: connected").count(), 2, "{stdout}");
    if switchyard::netns::is_root() {
        // The second act: two containers attached, talking, and a live profile change.
        assert!(stdout.contains("Vethernet1") && stdout.contains("Vethernet2"), "{stdout}");
        assert!(stdout.contains("3 received, 0% packet loss"), "{stdout}");
        assert!(stdout.contains("web1 reaches web2: no (ports are down)"), "{stdout}");
        assert!(stdout.contains("web1 reaches web2: yes again"), "{stdout}");
        let namespaces =
            String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout)
                .into_owned();
        assert!(!namespaces.contains("-web1") && !namespaces.contains("-web2"), "left behind: {namespaces}");
    }
    // The demo cleans up: no daemon of its own survives it.
    let left = Command::new("pgrep").args(["-f", "switchyard-demo"]).output().unwrap();
    assert!(left.stdout.is_empty(), "left running: {}", String::from_utf8_lossy(&left.stdout));
}
