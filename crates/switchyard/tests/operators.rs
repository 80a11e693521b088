//! Operators through the real binaries: the shell logs in (password file, environment, the
//! local admin password), a network-operator's shows work and its changes are refused, and no
//! password reaches the supervisor's log or the shell's echo.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Testbed, stderr, stdout};

const OPERATOR_PASSWORD: &str = "0live-pw-9731";

/// A testbed with `olive`, a network-operator, whose password is in the returned file.
fn with_operator() -> (Testbed, std::path::PathBuf) {
    let bed = Testbed::start();
    let out = bed.shell(
        &[],
        &format!(
            "configure terminal\nusername olive password {OPERATOR_PASSWORD} role network-operator\n\
             port-profile type vethernet web\n  switchport access vlan 100\n  state enabled\nend\n"
        ),
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let file = bed.root.path().join("olive-password");
    std::fs::write(&file, format!("{OPERATOR_PASSWORD}\n")).unwrap();
    (bed, file)
}

#[test]
fn a_network_operator_shows_and_is_refused_changes() {
    let (bed, file) = with_operator();
    let file = file.display().to_string();
    let as_olive = ["--user", "olive", "--password-file", file.as_str()];

    let show = [&as_olive[..], &["-c", "show running-config; show port-profile brief"]].concat();
    let out = bed.shell_without_login(&show, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let running = stdout(&out);
    // A read-only account sees the accounts, not their hashes.
    assert!(running.contains("username olive password 5 ***** role network-operator"), "{running}");
    assert!(!running.contains("$argon2"), "{running}");
    assert!(running.contains("port-profile type vethernet web"), "{running}");

    // The shell refuses configuration mode, as NX-OS does…
    for change in [
        "configure terminal; vlan 7; end",
        "configure terminal; port-profile web; switchport access vlan 101; end",
        "configure terminal; no username olive; end",
    ] {
        let out = bed.shell_without_login(&[&as_olive[..], &["-c", change]].concat(), "");
        assert!(!out.status.success(), "{change}: {}", stdout(&out));
        let said = stderr(&out);
        assert!(said.contains("% Permission denied for the role"), "{change}: {said}");
    }
    // …and the supervisor refuses the change itself when the text comes anyway (a script
    // from an older shell, or curl).
    let olive = switchyard::shell::client::https_agent(&bed.ca_cert()).unwrap();
    let basic = supervisor::trust::credentials::basic_header("olive", OPERATOR_PASSWORD);
    let mut reply = olive
        .post(format!("{}/api/v1/config", bed.url))
        .header("authorization", &basic)
        .content_type("text/plain")
        .send("vlan 7\n")
        .unwrap();
    assert_eq!(reply.status().as_u16(), 403);
    let body = reply.body_mut().read_to_string().unwrap();
    assert!(body.contains("olive is network-operator (read-only)"), "{body}");
    // The same account through the environment.
    let out = std::process::Command::new(common::exe())
        .args(["shell", "--supervisor", &bed.url, "-c", "show module", "--ca-cert"])
        .arg(bed.ca_cert())
        .env("SWITCHYARD_USER", "olive")
        .env("SWITCHYARD_PASSWORD", OPERATOR_PASSWORD)
        .env("SWITCHYARD_DATA_DIR", bed.root.path().join("nowhere"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Virtual Supervisor Module"));
    let running = bed.show("show running-config");
    assert!(!running.contains("vlan 7") && running.contains("switchport access vlan 100"), "{running}");
}

#[test]
fn no_login_or_a_wrong_one_is_told_clearly() {
    let (bed, _) = with_operator();
    let out = bed.shell_without_login(&["-c", "show module"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("% Authentication failed: authentication required"), "{}", stderr(&out));

    let wrong = bed.root.path().join("wrong");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let wrong = wrong.display().to_string();
    let out =
        bed.shell_without_login(&["--user", "olive", "--password-file", &wrong, "-c", "show module"], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("% Authentication failed: wrong user name or password"),
        "{}",
        stderr(&out)
    );

    let out = bed.shell_without_login(&["--user", "olive", "-c", "show module"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no password for olive"), "{}", stderr(&out));
}

#[test]
fn passwords_stay_out_of_logs_and_echoes() {
    let (bed, _) = with_operator();
    // A refused line is echoed above its caret: without the password.
    let out = bed.shell(&[], "configure terminal\nusername bob password s3cret-b0b? role network-admin\n");
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("username bob") && said.contains("invalid password"), "{said}");
    assert!(!said.contains("s3cret-b0b"), "{said}");

    let admin_password = switchyard::shell::login::local_admin_password(&bed.supervisor_dir()).unwrap();
    let log = std::fs::read_to_string(bed.children.log_dir().join("supervisor.log")).unwrap();
    assert!(log.contains("admin-password"), "the generated password's path is logged:\n{log}");
    let events = bed.show("show logging logfile");
    for secret in [admin_password.as_str(), OPERATOR_PASSWORD, "s3cret-b0b"] {
        assert!(!log.contains(secret), "a password in the supervisor's log:\n{log}");
        assert!(!events.contains(secret), "{events}");
    }
}

#[test]
fn the_admin_password_file_sets_the_first_admin() {
    let root = tempfile::tempdir().unwrap();
    let listen = switchyard::processes::free_loopback_addr().unwrap().to_string();
    let url = format!("https://{listen}");
    let dir = root.path().join("supervisor");
    let ca = dir.join("tls/ca.pem").display().to_string();
    let password_file = root.path().join("admin-pw");
    std::fs::write(&password_file, "Ch0sen-admin-pw\n").unwrap();
    let mut children = switchyard::processes::Children::new(common::exe(), root.path()).unwrap();
    let (dir_arg, file_arg) = (dir.display().to_string(), password_file.display().to_string());
    children
        .spawn(
            "supervisor",
            &["supervisor", "--data-dir", &dir_arg, "--listen", &listen, "--admin-password-file", &file_arg],
        )
        .unwrap();
    let shell = |file: &str| {
        std::process::Command::new(common::exe())
            .args([
                "shell",
                "--supervisor",
                &url,
                "--ca-cert",
                &ca,
                "--user",
                "admin",
                "--password-file",
                file,
                "-c",
                "show module",
            ])
            .env("SWITCHYARD_DATA_DIR", root.path().join("nowhere"))
            .output()
            .unwrap()
    };
    common::poll_until(
        "the supervisor answers admin",
        std::time::Duration::from_secs(20),
        || shell(&file_arg).status.success(),
        || common::logs_of(&children, 30),
    );
    assert!(!dir.join("admin-password").exists(), "no password generated when one is given");
    let wrong = root.path().join("wrong");
    std::fs::write(&wrong, "Ch0sen-admin-pw-not\n").unwrap();
    assert!(!shell(&wrong.display().to_string()).status.success());
    let log = std::fs::read_to_string(children.log_dir().join("supervisor.log")).unwrap();
    assert!(!log.contains("Ch0sen-admin-pw"), "{log}");
}

/// Reads `from` into `seen` until it holds `what`; panics after 20 s with what came.
fn read_until(from: &mut impl std::io::Read, seen: &mut String, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut buffer = [0u8; 4096];
    while !seen.contains(what) {
        assert!(std::time::Instant::now() < deadline, "no {what:?} in {seen:?}");
        let n = from.read(&mut buffer).unwrap();
        assert!(n > 0, "ended without {what:?}: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
}

#[test]
fn on_a_terminal_the_shell_asks_for_the_password() {
    use std::io::Write as _;
    let (bed, _) = with_operator();
    let command = format!(
        "{} shell --supervisor {} --user olive --data-dir {} --ca-cert {}",
        common::exe().display(),
        bed.url,
        bed.root.path().join("nowhere").display(),
        bed.ca_cert().display()
    );
    // `script` gives the shell a terminal (a pty) fed from our pipe.
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("SWITCHYARD_PASSWORD")
        // Its history file goes there, not into the tester's home.
        .env("HOME", bed.root.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    let mut seen = String::new();
    read_until(&mut output, &mut seen, "Password for olive: ");
    input.write_all(format!("{OPERATOR_PASSWORD}\n").as_bytes()).unwrap();
    read_until(&mut output, &mut seen, "switch# ");
    input.write_all(b"show module\n").unwrap();
    read_until(&mut output, &mut seen, "Virtual Supervisor Module");
    input.write_all(b"configure terminal\n").unwrap();
    read_until(&mut output, &mut seen, "Permission denied for the role");
    input.write_all(b"exit\n").unwrap();
    drop(input);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut output, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{seen}{rest}");
    let history = std::fs::read_to_string(bed.root.path().join(".switchyard_history")).unwrap();
    assert!(history.contains("show module") && !history.contains(OPERATOR_PASSWORD), "{history}");
    // (Whether the terminal echoed the password is not asserted: rpassword turns echo off just
    // after printing the prompt, and this test types the moment the prompt shows.)
}
