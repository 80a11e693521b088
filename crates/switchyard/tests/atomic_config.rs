//! All-or-nothing configuration through the real binaries: a script piped into `switchyard
//! shell` (or given with `-c`) applies all of its configuration or none of it, and names the bad
//! line; `configure session NAME` records lines across shell runs until `commit` or `abort`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Testbed, stderr, stdout};

#[test]
fn a_bad_line_in_a_script_applies_nothing_and_is_named() {
    let bed = Testbed::start();
    // Line 6 names a VLAN out of range; lines 2-5 and 7 are good.
    let script = "configure terminal\nvlan 300\nport-profile type vethernet db\n  switchport mode access\n  \
                  description before\n  switchport access vlan 5000\n  state enabled\nend\nshow module\n";
    let out = bed.shell(&[], script);
    assert!(!out.status.success(), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(said.starts_with("line 6: switch(config-port-prof)#   switchport access vlan 5000\n"), "{said}");
    // The shell's own grammar knows VLAN ids: nothing ran at all.
    assert!(said.contains("% Nothing was run"), "{said}");
    // The caret sits under the bad VLAN id.
    let caret = said.lines().nth(1).unwrap();
    assert_eq!(
        caret.find('^'),
        Some("line 6: switch(config-port-prof)#   switchport access vlan ".len()),
        "{said}"
    );
    let running = bed.show("show running-config");
    assert!(!running.contains("vlan 300") && !running.contains("db"), "{running}");
    // The exec command after the commit point did not run either.
    assert!(!stdout(&out).contains("Mod"), "{}", stdout(&out));

    // A result that does not validate (an unknown parent), found only by the supervisor: the
    // same, with -c.
    let dash_c =
        "configure terminal; vlan 300; port-profile type vethernet db; inherit port-profile nowhere; end";
    let out = bed.shell(&["-c", dash_c], "");
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.starts_with("line 4: switch(config-port-prof)# inherit port-profile nowhere\n"), "{said}");
    assert!(said.contains("% Nothing of the script's configuration was applied"), "{said}");
    assert!(!bed.show("show running-config").contains("vlan 300"));

    // A line that does not parse stops the script before anything runs, exec commands included.
    let out = bed.shell(&[], "join-token create\nconfigure terminal\nvlan 301\nswitchport acces vlan 1\n");
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("line 4: switch(config-vlan)# switchport acces vlan 1\n"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("% Nothing was run"), "{}", stderr(&out));
    assert!(bed.show("show join-tokens").lines().count() <= 2, "no token was made");
}

#[test]
fn a_good_script_applies_everything_at_its_last_configuration_line() {
    let bed = Testbed::start();
    let script = "show running-config\nconfigure terminal\nvlan 300\nport-profile type vethernet db\n  \
                  switchport access vlan 300\nend\nconfigure terminal\nport-profile type vethernet db\n  \
                  state enabled\nend\nshow running-config port-profile db\n";
    let out = bed.shell(&[], script);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // The show before the commit saw the old config; the one after it, the new.
    let (before, after) = text.split_once("port-profile type vethernet db").expect("the profile shown");
    assert!(!before.contains("vlan 300"), "{text}");
    assert!(after.contains("switchport access vlan 300") && after.contains("state enabled"), "{text}");
    // One transaction: one accounting entry holding every line.
    let log = bed.show("show accounting log");
    let entries: Vec<&str> = log.lines().filter(|l| l.contains("vlan 300")).collect();
    assert_eq!(entries.len(), 1, "{log}");
}

#[test]
fn a_configuration_session_outlives_the_shell_and_commits_at_once() {
    let bed = Testbed::start();
    let record = "configure session s1\nvlan 300\nport-profile type vethernet db\n  switchport access vlan 300\n  \
                  inherit port-profile nowhere\nend\n";
    let out = bed.shell(&[], record);
    assert!(out.status.success(), "{}", stderr(&out));
    // Recorded, not applied, and still there after the shell left.
    assert!(!bed.show("show running-config").contains("vlan 300"));
    let shown = bed.show("show configuration session s1");
    assert_eq!(
        shown,
        "config session s1\n0001 vlan 300\n0002 port-profile type vethernet db\n0003   switchport access vlan 300\n\
         0004   inherit port-profile nowhere\n\n"
    );
    let summary = bed.show("show configuration session summary");
    assert!(summary.lines().any(|l| l.starts_with("s1 ") && l.contains("admin")), "{summary}");

    // verify finds the bad line, by number; so does commit, which applies nothing.
    let out = bed.shell(&["-c", "configure session s1; verify"], "");
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("% Verification Failed:") && said.contains("% line 4:   inherit port-profile nowhere"),
        "{said}"
    );
    let out = bed.shell(&["-c", "configure session s1; commit"], "");
    assert!(stderr(&out).contains("% Commit Failed:"), "{}", stderr(&out));
    assert!(!bed.show("show running-config").contains("vlan 300"));

    // Another session at the same time, aborted: it leaves no trace.
    let out = bed.shell(&["-c", "configure session s2; vlan 400; abort"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!bed.show("show configuration session summary").contains("s2"));

    // Abort s1 and record it again, good this time: verify, then commit applies it all.
    let out = bed.shell(&["-c", "configure session s1; abort"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let good = "configure session s1\nvlan 300\nport-profile type vethernet db\n  switchport access vlan 300\n  \
                state enabled\n  verify\n  commit\nshow running-config port-profile db\n";
    let out = bed.shell(&[], good);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Verification Successful\nCommit Successful\n"), "{text}");
    assert!(text.contains("switchport access vlan 300"), "{text}");
    assert!(bed.show("show configuration session summary").contains("sessions = 0"));
    let log = bed.show("show accounting log");
    assert!(log.contains("cmd=configure session s1 commit"), "{log}");
}

#[test]
fn a_network_operator_makes_no_configuration_session() {
    let bed = Testbed::start();
    let out = bed.shell(
        &["-c", "configure terminal; username olive password 0live-pw-9731 role network-operator"],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let file = bed.root.path().join("olive-password");
    std::fs::write(&file, "0live-pw-9731\n").unwrap();
    let file = file.display().to_string();
    let out = bed.shell_without_login(
        &["--user", "olive", "--password-file", &file, "-c", "configure session mine; vlan 7"],
        "",
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("% Permission denied for the role"), "{}", stderr(&out));
    assert!(bed.show("show configuration session summary").contains("sessions = 0"));
}
