//! The control plane as a user drives it: real supervisor and agent processes on loopback, the
//! real shell binary, REST over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{SUPERVISOR, Testbed, stderr, stdout};

const WEB_PROFILE: &str = "\
configure terminal
vlan 100
port-profile type vethernet web
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
end
";

/// Raw REST calls, trusting the bed's supervisor's CA.
fn http(bed: &Testbed) -> ureq::Agent {
    switchyard::shell::client::https_agent(&bed.ca_cert()).unwrap()
}

#[test]
fn config_through_the_shell_script_and_dash_c() {
    let bed = Testbed::start();

    let out = bed.shell(&[], WEB_PROFILE);
    assert!(out.status.success(), "script failed: {}{}", stdout(&out), stderr(&out));

    let out = bed.shell(&["-c", "show port-profile name web; show running-config port-profile web"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("port-profile web"), "{text}");
    assert!(text.contains("  switchport access vlan 100"), "{text}");
    assert!(text.contains("port-profile type vethernet web"), "{text}");

    let brief = bed.show("show port-profile brief");
    assert!(brief.lines().any(|l| l.starts_with("web ") && l.contains("Vethernet")), "{brief}");
}

#[test]
fn a_bad_command_shows_the_caret_and_fails_the_script() {
    let bed = Testbed::start();
    let out = bed.shell(&["-c", "show modul x"], "");
    assert!(!out.status.success());
    let all = stdout(&out) + &stderr(&out);
    assert!(all.contains("% Invalid command at '^' marker."), "{all}");
    let caret = all.lines().find(|l| l.trim() == "^").expect("a caret line");
    // `modul` abbreviates `module`; the caret sits under the `x` that matches nothing.
    // The line is echoed with its number in the script.
    assert_eq!(caret.find('^'), Some("line 1: switch# show modul ".len()), "{all}");

    // A bad line in a script stops it, exits non-zero and applies nothing, before it or after.
    let script = "configure terminal\nport-profile type vethernet app\n  switchport access vlan 5000\n  description after\nend\n";
    let out = bed.shell(&[], script);
    assert!(!out.status.success(), "{}", stdout(&out));
    let running = bed.show("show running-config");
    assert!(!running.contains("app") && !running.contains("after"), "{running}");
}

#[test]
fn config_through_rest_is_atomic_and_errors_are_json() {
    let bed = Testbed::start();
    let http = http(&bed);
    let auth = bed.admin_authorization();

    // One bad line applies nothing.
    let bad =
        "vlan 200\nport-profile type vethernet db\n  switchport mode access\n  switchport access vlan 5000\n";
    let mut resp = http
        .post(format!("{}/api/v1/config", bed.url))
        .header("authorization", &auth)
        .content_type("text/plain")
        .send(bad)
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let err: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(err["line"], 4, "{err}");
    assert!(err["column"].as_u64().unwrap() > 1, "{err}");
    assert!(err["error"].as_str().unwrap().contains("5000"), "{err}");
    let running = bed.show("show running-config");
    assert!(!running.contains("vlan 200") && !running.contains("db"), "half-applied: {running}");

    // The JSON form of the model.
    let profile =
        serde_json::json!({"type": "vethernet", "mode": "access", "access_vlan": 300, "state_enabled": true});
    let resp = http
        .put(format!("{}/api/v1/port-profiles/db", bed.url))
        .header("authorization", &auth)
        .content_type("application/json")
        .send(profile.to_string())
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let running = bed.show("show running-config port-profile db");
    assert!(running.contains("switchport access vlan 300"), "{running}");
    let mut resp = http
        .get(format!("{}/api/v1/port-profiles/db", bed.url))
        .header("authorization", &auth)
        .call()
        .unwrap();
    let got: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(got["access_vlan"], 300, "{got}");

    // Wrong shape, oversized body, unknown route: JSON errors with a 4xx status.
    let wrong = serde_json::json!({"type": "vethernet", "access_vlan": "lots"});
    let mut resp = http
        .put(format!("{}/api/v1/port-profiles/db", bed.url))
        .header("authorization", &auth)
        .content_type("application/json")
        .send(wrong.to_string())
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert!(body["error"].is_string(), "{body}");
    let huge = "vlan 10\n".repeat(1 << 18);
    let sent = http
        .post(format!("{}/api/v1/config", bed.url))
        .header("authorization", &auth)
        .content_type("text/plain")
        .send(&huge);
    match sent {
        Ok(resp) => assert_eq!(resp.status().as_u16(), 413),
        // The supervisor answers 413 from the Content-Length and closes; a loaded client may
        // still be writing the body then (the 413's JSON is checked in-process, tests/rest.rs).
        Err(ureq::Error::Io(e))
            if matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset) => {}
        Err(e) => panic!("oversized body: {e}"),
    }
    let resp =
        http.get(format!("{}/api/v1/nothing-here", bed.url)).header("authorization", &auth).call().unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    // Still serving, still holding what was applied.
    assert!(bed.show("show running-config").contains("access vlan 300"));
    let resp = http.get(format!("{}/openapi.json", bed.url)).header("authorization", &auth).call().unwrap();
    assert!(resp.status().is_success());
}

#[test]
fn supervisor_kill9_keeps_profiles_and_module_numbers() {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], WEB_PROFILE);
    assert!(out.status.success(), "{}", stderr(&out));
    bed.start_agent("bilbo");
    bed.start_agent("frodo");
    let bilbo = bed.module_of("bilbo").unwrap();
    let frodo = bed.module_of("frodo").unwrap();
    assert_eq!((bilbo, frodo), (3, 4), "modules are numbered 3, 4, … in join order");
    let before = bed.show("show running-config");

    bed.kill9(SUPERVISOR);
    bed.start_supervisor();
    assert_eq!(bed.show("show running-config"), before);
    // The agents reconnect by themselves and keep their numbers.
    bed.wait_until("both agents back online", Duration::from_secs(30), |bed| {
        bed.module_status("bilbo").as_deref() == Some("ok")
            && bed.module_status("frodo").as_deref() == Some("ok")
    });
    assert_eq!(bed.module_of("bilbo"), Some(bilbo));
    assert_eq!(bed.module_of("frodo"), Some(frodo));

    // An agent restart keeps its number too.
    bed.kill9("bilbo");
    bed.start_agent("bilbo");
    assert_eq!(bed.module_of("bilbo"), Some(bilbo));
    // A registration is logged when the module was offline, always with the same number; a
    // module back within its lease's TTL (a supervisor or an agent restarting) never went
    // offline, so nothing is logged twice.
    let log = bed.show("show logging logfile");
    let detected: Vec<&str> = log.lines().filter(|l| l.contains("Host bilbo detected as module")).collect();
    assert!(!detected.is_empty(), "{log}");
    assert!(!log.contains(&format!("Module {bilbo} is offline")), "{log}");
    assert!(detected.iter().all(|l| l.ends_with("Host bilbo detected as module 3")), "{log}");
}

#[test]
fn a_killed_agent_goes_offline_within_10s_and_is_logged() {
    let mut bed = Testbed::start();
    bed.start_agent("bilbo");
    let module = bed.module_of("bilbo").unwrap();
    let log = bed.show("show logging logfile");
    assert!(log.contains(&format!("%VEM_MGR-2-MOD_ONLINE: Module {module} is online")), "{log}");

    bed.kill9("bilbo");
    let killed = Instant::now();
    bed.wait_until("bilbo offline", Duration::from_secs(10), |bed| {
        bed.module_status("bilbo").as_deref() == Some("offline")
    });
    assert!(killed.elapsed() < Duration::from_secs(10));
    let log = bed.show("show logging logfile");
    assert!(log.contains(&format!("%VEM_MGR-2-MOD_OFFLINE: Module {module} is offline")), "{log}");
}

#[test]
fn no_module_removes_a_gone_host_which_may_come_back_as_a_new_module() {
    let mut bed = Testbed::start();
    bed.start_agent("bilbo");
    let module = bed.module_of("bilbo").unwrap();
    let online = bed.shell(&["-c", &format!("no module {module}")], "");
    assert!(!online.status.success(), "refused while online");
    assert!(stderr(&online).contains(&format!("module {module} is online")), "{}", stderr(&online));

    bed.kill9("bilbo");
    bed.wait_until("bilbo offline", Duration::from_secs(10), |bed| {
        bed.module_status("bilbo").as_deref() == Some("offline")
    });
    let removed = bed.shell(&["-c", &format!("no module {module}")], "");
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(stdout(&removed), format!("Module {module} (host bilbo) removed\n"));
    assert_eq!(bed.module_of("bilbo"), None, "{}", bed.show("show module"));
    let log = bed.show("show logging logfile");
    assert!(
        log.contains(&format!("%VEM_MGR-2-VEM_MGR_REMOVED: Module {module} (host bilbo) removed")),
        "{log}"
    );

    // The same host (same data dir, same host id) starts again with a new token from an
    // operator (its certificate went with the module): a new module.
    bed.start_agent_joining("bilbo");
    assert!(bed.module_of("bilbo").unwrap() > module);
}

#[test]
fn a_profile_change_reaches_every_agent() {
    let mut bed = Testbed::start();
    let out = bed.shell(&[], WEB_PROFILE);
    assert!(out.status.success(), "{}", stderr(&out));
    let hosts = ["bilbo", "frodo", "sam"];
    for host in hosts {
        bed.start_agent(host);
    }
    // An agent receives only the profiles its ports use: give each host a container on web.
    if !switchyard::netns::is_root() {
        eprintln!("SKIPPED: attaching containers needs root");
        return;
    }
    let mut containers = Vec::new();
    for (index, host) in hosts.iter().enumerate() {
        let ns = switchyard::netns::Netns::new(host).unwrap();
        let out = std::process::Command::new(common::exe())
            .args([
                "attach",
                "--netns",
                &ns.name,
                "--profile",
                "web",
                "--ip",
                &format!("10.99.9.{}/24", index + 1),
            ])
            .arg("--data-dir")
            .arg(bed.agent_dir(host))
            .output()
            .unwrap();
        assert!(out.status.success(), "attach on {host}: {}", stderr(&out));
        containers.push(ns);
    }
    let has_vlan = |bed: &Testbed, host: &str, vlan: u16| {
        bed.agent_policies(host).get("web").is_some_and(|p| p.access_vlan == vlan)
    };
    bed.wait_until("every agent holds web on vlan 100", Duration::from_secs(10), |bed| {
        hosts.iter().all(|h| has_vlan(bed, h, 100))
    });

    let out = bed.shell(&["-c", "configure terminal; port-profile web; switchport access vlan 101; end"], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let changed = Instant::now();
    bed.wait_until("every agent holds web on vlan 101", Duration::from_secs(5), |bed| {
        hosts.iter().all(|h| has_vlan(bed, h, 101))
    });
    eprintln!("profile change reached {} agents in {:?}", hosts.len(), changed.elapsed());

    // The host view agrees.
    let card = agent::vemcmd::run(&bed.agent_dir("sam"), &["show".into(), "card".into()]).unwrap();
    assert!(card.contains("connected"), "{card}");
}

#[test]
fn garbage_on_the_supervisor_port_does_not_stop_it() {
    use std::io::Write;
    let bed = Testbed::start();
    for garbage in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
    ] {
        let mut s = std::net::TcpStream::connect(bed.url.trim_start_matches("https://")).unwrap();
        let _ = s.write_all(garbage);
        drop(s);
    }
    // A client that connects and goes silent.
    let _silent = std::net::TcpStream::connect(bed.url.trim_start_matches("https://")).unwrap();
    assert!(bed.show("show module").contains("Virtual Supervisor Module"));
}
