//! Several supervisor addresses (`--supervisor A,B`), as agents and the shell use them: real
//! supervisor, agent and shell processes on loopback, the real `ping` between containers.
//!
//! One embedded store serves one supervisor process, so these tests pair a real supervisor with
//! addresses where none answers (a closed port, a listener that never speaks). With a shared
//! store, the same helpers start several supervisors: the agent and the shell do not care which
//! one answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::containers::{HOST, attach_with, on_host, vemcmd};
use common::{SUPERVISOR, Testbed, skip_unless_root, stderr, stdout};
use nix::sys::signal::Signal;
use switchyard::processes::free_loopback_addr;

const PROFILES: &str = "\
configure terminal
vlan 100
port-profile type vethernet vlan100
  switchport mode access
  switchport access vlan 100
  no shutdown
  state enabled
end
";

/// A supervisor URL where nothing listens: connections are refused.
fn closed_port() -> String {
    format!("https://{}", free_loopback_addr().unwrap())
}

/// A supervisor URL that accepts connections (the kernel completes them) and never says a word,
/// as a hung supervisor would: only a timeout gets a client past it.
fn silent_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// `vemcmd show card` of [`HOST`] once it says `state` (`connected`, `headless`); the agent
/// may not serve its socket yet when this starts.
fn card_once(bed: &mut Testbed, state: &str, within: Duration) -> String {
    let mut card = String::new();
    let wanted = format!("Supervisor state: {state}\n");
    bed.wait_until(&format!("the agent {state}"), within, |bed| {
        let out = on_host(bed, &["vemcmd", "show", "card"]);
        card = stdout(&out);
        out.status.success() && card.contains(&wanted)
    });
    card
}

#[test]
fn the_shell_moves_past_dead_and_silent_supervisors_and_says_when_none_answers() {
    let bed = Testbed::start();
    let dir = bed.supervisor_dir().display().to_string();
    let (_silent, silent) = silent_listener();

    // Show commands and a configuration change, through the third supervisor of the list.
    let list = format!("{},{silent},{}", closed_port(), bed.url);
    let started = Instant::now();
    let out = bed.shell_of(&list, &["--data-dir", &dir, "-c", "configure terminal; vlan 42; end"], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = bed.shell_of(&list, &["--data-dir", &dir, "-c", "show running-config; show module"], "");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("vlan 42"), "{}", stdout(&out));
    // Two shells, each past a refused port (at once) and a silent one (the connect timeout).
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());

    // A refusal is an answer (here 401: no login): the shell does not go looking for a
    // supervisor that says yes.
    let out = bed.shell_of(&format!("{},{}", bed.url, closed_port()), &["-c", "show module"], "");
    assert!(!out.status.success());
    let all = stdout(&out) + &stderr(&out);
    assert!(all.contains("Authentication failed") && !all.contains("no supervisor answers"), "{all}");

    // None answers: each one's reason, and a non-zero exit.
    let (first, second) = (closed_port(), closed_port());
    let out = bed.shell_of(&format!("{first},{second}"), &["--data-dir", &dir, "-c", "show module"], "");
    assert!(!out.status.success());
    let all = stdout(&out) + &stderr(&out);
    assert!(all.contains("no supervisor answers"), "{all}");
    assert!(
        all.contains(&format!("supervisor {first}")) && all.contains(&format!("supervisor {second}")),
        "{all}"
    );

    // A list that cannot be right is refused before anything is tried.
    let out = bed.shell_of(&format!("{},,{}", bed.url, bed.url), &["-c", "show module"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is empty"), "{}", stderr(&out));
    let out = bed.shell_of(&format!("{},{}/", bed.url, bed.url), &["-c", "show module"], "");
    assert!(stderr(&out).contains("is given twice"), "{}", stderr(&out));
}

#[test]
fn an_agent_enrols_and_registers_with_the_first_supervisor_that_answers() {
    let mut bed = Testbed::start();
    let (_silent, silent) = silent_listener();
    let dead = closed_port();
    let list = format!("{dead},{silent},{}", bed.url);

    // A first start: the join token is used on the supervisor that answers.
    bed.spawn_agent_of(HOST, &list);
    let card = card_once(&mut bed, "connected", Duration::from_secs(20));
    assert!(card.contains(&format!("Supervisor address: {}\n", bed.url)), "{card}");
    assert!(card.contains(&format!("Supervisors configured: {dead}, {silent}, {}\n", bed.url)), "{card}");
    bed.wait_until("the agent online", Duration::from_secs(10), |bed| {
        bed.module_status(HOST).as_deref() == Some("ok")
    });
    let module = bed.module_of(HOST).unwrap();

    // A restart (enrolled now) goes the same way and keeps the module.
    bed.children.stop(HOST).unwrap();
    bed.spawn_agent_of(HOST, &list);
    card_once(&mut bed, "connected", Duration::from_secs(20));
    assert_eq!(bed.module_of(HOST), Some(module));

    // A supervisor that stops answering (its connections stay open) is left within seconds:
    // a heartbeat gets no answer in 2 s, one comes every second.
    bed.children.signal(SUPERVISOR, Signal::SIGSTOP).unwrap();
    let stopped = Instant::now();
    card_once(&mut bed, "headless", Duration::from_secs(10));
    eprintln!("the agent left the stopped supervisor after {:?}", stopped.elapsed());
    assert!(stopped.elapsed() < Duration::from_secs(5), "noticed after {:?}", stopped.elapsed());
    bed.children.signal(SUPERVISOR, Signal::SIGCONT).unwrap();
    card_once(&mut bed, "connected", Duration::from_secs(15));
    assert_eq!(bed.module_of(HOST), Some(module));
}

#[test]
fn a_killed_supervisor_comes_back_and_forwarding_never_stops() {
    if skip_unless_root() {
        return;
    }
    let mut bed = Testbed::start();
    let out = bed.shell(&[], PROFILES);
    assert!(out.status.success(), "{}", stderr(&out));
    let dead = closed_port();
    bed.spawn_agent_of(HOST, &format!("{},{dead}", bed.url));
    card_once(&mut bed, "connected", Duration::from_secs(20));
    let module = bed.module_of(HOST).unwrap();
    let a = attach_with(&bed, "a", "vlan100", "10.98.0.1");
    let b = attach_with(&bed, "b", "vlan100", "10.98.0.2");
    assert!(a.ns.ping(&b.ip, 2), "no ping before the kill\n{}", bed.logs());
    let ports = port_rows(&vemcmd(&bed, "show port"));

    // Ten pings a second all through the kill, the agent's rounds over both addresses, the
    // restart and the agent's return.
    let pinger = a.ns.spawn_output(&["ping", "-n", "-q", "-i", "0.1", "-w", "20", &b.ip]).unwrap();
    let pinging = Instant::now();
    bed.kill9(SUPERVISOR);
    let card = card_once(&mut bed, "headless", Duration::from_secs(10));
    assert!(card.contains(&format!("Supervisor address: {}, {dead}\n", bed.url)), "{card}");
    bed.start_supervisor();
    let restarted = Instant::now();
    let card = card_once(&mut bed, "connected", Duration::from_secs(15));
    eprintln!("the agent was back {:?} after the supervisor", restarted.elapsed());
    assert!(card.contains(&format!("Supervisor address: {}\n", bed.url)), "{card}");
    assert!(
        pinging.elapsed() < Duration::from_secs(18),
        "too slow to judge the pings: {:?}",
        pinging.elapsed()
    );
    bed.wait_until("the agent online again", Duration::from_secs(10), |bed| {
        bed.module_status(HOST).as_deref() == Some("ok")
    });
    assert_eq!(bed.module_of(HOST), Some(module));

    let out = pinger.wait_with_output().unwrap();
    let summary = stdout(&out);
    let (sent, received) = ping_counts(&summary);
    assert!(sent >= 150, "{summary}");
    assert_eq!(received, sent, "pings were lost while the supervisor was away:\n{summary}\n{}", bed.logs());
    // The same ports, on the same LTLs, forwarding: the datapath was not touched.
    assert_eq!(port_rows(&vemcmd(&bed, "show port")), ports);
    let virt = bed.show("show interface virtual");
    for veth in [a.veth, b.veth] {
        assert!(virt.contains(&format!("Veth{veth} ")), "Veth{veth} missing after the return:\n{virt}");
    }
}

/// `vemcmd show port`'s rows without their counters: LTL, port, states, interface.
fn port_rows(show_port: &str) -> Vec<String> {
    show_port
        .lines()
        .filter(|line| line.split_whitespace().next().is_some_and(|ltl| ltl.parse::<u32>().is_ok()))
        .map(|line| line.split_whitespace().take(5).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Sent and received of ping's `N packets transmitted, M received` line.
fn ping_counts(summary: &str) -> (u32, u32) {
    let line = summary.lines().find(|line| line.contains("packets transmitted")).unwrap_or_default();
    let numbers: Vec<u32> = line.split([' ', ',']).filter_map(|word| word.parse().ok()).collect();
    match numbers.as_slice() {
        [sent, received, ..] => (*sent, *received),
        _ => panic!("no ping summary in {summary:?}"),
    }
}
