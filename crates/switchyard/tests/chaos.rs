//! A minute of chaos under real processes: three supervisors on a three-member etcd, the agents
//! of two hosts, and while a driver kills (-9) and restarts supervisors (at least one left
//! running), etcd members (at least two left) and agents at random, one thread keeps changing
//! the config through the shell and another attaches and detaches containers. Afterwards,
//! with everything running again: nothing acknowledged is lost, every supervisor says the same,
//! numbers are unique, and each agent enforces what the store holds.
//!
//! The schedule comes from a seed printed at the start (`CHAOS_SEED=N` repeats it; the threads
//! still interleave as the machine lets them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::ha::{HaBed, PROFILE, SUPERVISORS, Shell, agent_policies, output_within};
use common::{exe, skip_unless_root, stderr, stdout};
use switchyard::netns::Netns;

const HOSTS: [&str; 2] = ["bilbo", "frodo"];
/// How long the chaos lasts.
const CHAOS_FOR: Duration = Duration::from_secs(60);
/// How long everything gets to agree once it all runs again.
const SETTLE_WITHIN: Duration = Duration::from_secs(60);
/// The profile every config change bumps (an anchor container per host uses it).
const CHURN: &str = "churn";
/// Change N makes VLAN `FIRST_VLAN + N`.
const FIRST_VLAN: u16 = 1000;
const SETUP: &str = "\
vlan 100
port-profile type vethernet web
  switchport access vlan 100
  state enabled
port-profile type vethernet churn
  switchport access vlan 100
  description chaos change 0
  state enabled
";

/// SplitMix64: a small, seeded, reproducible source of choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A duration in `[low, high)`, to the millisecond.
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = (high - low).as_millis() as u64;
        low + Duration::from_millis(self.next() % span.max(1))
    }
}

/// A part the driver kills and restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Supervisor(usize),
    Etcd(usize),
    Agent(usize),
}

/// Sets the flag when dropped, so a panicking driver stops the other threads too.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Kills and restarts parts at random for [`CHAOS_FOR`]; returns what it did, in order.
fn drive(bed: &mut HaBed, rng: &mut Rng) -> Vec<String> {
    let started = Instant::now();
    let mut done = Vec::new();
    let mut down: Vec<(Part, Instant)> = Vec::new();
    while started.elapsed() < CHAOS_FOR {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = down.into_iter().partition(|(_, until)| *until <= now);
        down = later;
        for (part, _) in due {
            restart(bed, part);
            done.push(format!("{:>5.1}s restart {part:?}", started.elapsed().as_secs_f64()));
        }
        let is_down = |part: Part| down.iter().any(|(p, _)| *p == part);
        let choice = match rng.below(3) {
            0 => {
                let running: Vec<usize> =
                    (0..SUPERVISORS).filter(|&i| !is_down(Part::Supervisor(i))).collect();
                (running.len() > 1).then(|| Part::Supervisor(running[rng.below(running.len())]))
            }
            1 => {
                // Half the time the leader: writes in flight then fail, and an election follows.
                let all_up = (0..SUPERVISORS).all(|i| !is_down(Part::Etcd(i)));
                let any = rng.below(SUPERVISORS);
                let member = if rng.below(2) == 0 { bed.etcd.leader().unwrap_or(any) } else { any };
                all_up.then_some(Part::Etcd(member))
            }
            _ => {
                let running: Vec<usize> = (0..HOSTS.len()).filter(|&i| !is_down(Part::Agent(i))).collect();
                (!running.is_empty()).then(|| Part::Agent(running[rng.below(running.len())]))
            }
        };
        if let Some(part) = choice {
            match part {
                Part::Supervisor(i) => bed.kill_supervisor(i),
                Part::Etcd(i) => bed.etcd.kill(i),
                Part::Agent(i) => bed.kill_agent(HOSTS[i]),
            }
            let back = Instant::now() + rng.between(Duration::from_secs(2), Duration::from_secs(6));
            down.push((part, back));
            done.push(format!("{:>5.1}s kill -9 {part:?}", started.elapsed().as_secs_f64()));
        }
        std::thread::sleep(rng.between(Duration::from_millis(800), Duration::from_millis(2500)));
    }
    for (part, _) in down {
        restart(bed, part);
        done.push(format!("{:>5.1}s restart {part:?} (the end)", started.elapsed().as_secs_f64()));
    }
    done
}

fn restart(bed: &mut HaBed, part: Part) {
    match part {
        Part::Supervisor(i) => bed.spawn_supervisor(i),
        // Waits until the member is healthy (there is a quorum: at most one is ever down).
        Part::Etcd(i) => bed.etcd.restart(i),
        Part::Agent(i) => bed.spawn_agent(HOSTS[i]),
    }
}

/// Change `n`: a new named VLAN, and the churn profile moved onto it with a new description,
/// in one script (one transaction).
fn change(n: u16) -> String {
    let vlan = FIRST_VLAN + n;
    format!(
        "configure terminal; vlan {vlan}; name chaos-{n}; port-profile {CHURN}; \
         switchport access vlan {vlan}; description chaos change {n}; end"
    )
}

/// What the config thread saw: the numbers of the acknowledged changes, and how many it tried.
#[derive(Debug, Default)]
struct Changes {
    acknowledged: Vec<u16>,
    tried: u16,
    /// Why some failed (the first line of the shell's output), with how often.
    failures: BTreeMap<String, usize>,
    slowest: Duration,
}

/// Changes the config through the shell (every supervisor's URL) until told to stop.
fn keep_changing(shell: &Shell, stop: &AtomicBool) -> Changes {
    let mut changes = Changes::default();
    while !stop.load(Ordering::SeqCst) {
        changes.tried += 1;
        let n = changes.tried;
        let run = shell.run(&change(n), Duration::from_secs(60));
        changes.slowest = changes.slowest.max(run.took);
        if run.ok() {
            changes.acknowledged.push(n);
        } else {
            tally(&mut changes.failures, &run.text());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    changes
}

/// Counts a failure by the first line of what it said (cut short: addresses and ids vary).
fn tally(failures: &mut BTreeMap<String, usize>, text: &str) {
    let reason = text.lines().next().unwrap_or("").chars().take(100).collect::<String>();
    *failures.entry(reason).or_default() += 1;
}

/// A container the attach thread made, and what became of it.
struct Container {
    host: usize,
    name: String,
    ip: String,
    ns: Netns,
    /// Its VethN when `switchyard attach` said so.
    veth: Option<u32>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Attach acknowledged, no detach tried.
    Attached,
    /// Attach not acknowledged: it may or may not have happened.
    Unsure,
    /// Attach refused before it reached the agent (its socket refused the connection).
    Refused,
    /// Detach acknowledged.
    Detached,
    /// Detach tried and not acknowledged (a detach the agent's socket refused leaves the
    /// container [`State::Attached`]).
    DetachUnsure,
}

/// `switchyard ARGS --data-dir DIR`, bounded.
fn on_agent(dir: &PathBuf, args: &[&str]) -> Option<std::process::Output> {
    let mut command = Command::new(exe());
    command.args(args).arg("--data-dir").arg(dir);
    output_within(command, Duration::from_secs(45))
}

/// What the attach thread did, and why attaches and detaches failed.
#[derive(Default)]
struct Attaching {
    containers: Vec<Container>,
    failures: BTreeMap<String, usize>,
}

/// The output's text, or that it was killed.
fn said(out: Option<&std::process::Output>) -> String {
    out.map_or_else(|| "(killed after 45 s)".to_owned(), |out| format!("{}{}", stderr(out), stdout(out)))
}

/// Whether the agent's socket refused the connection: the request never reached an agent.
fn refused(out: Option<&std::process::Output>) -> bool {
    out.is_some_and(|out| stderr(out).contains("refuses connections"))
}

/// Attaches and detaches containers on the agents until told to stop.
fn keep_attaching(agent_dirs: &[PathBuf], mut rng: Rng, stop: &AtomicBool) -> Attaching {
    let mut attaching = Attaching::default();
    let Attaching { containers, failures } = &mut attaching;
    while !stop.load(Ordering::SeqCst) {
        let live: Vec<usize> =
            (0..containers.len()).filter(|&i| containers[i].state == State::Attached).collect();
        if live.len() < 3 || rng.below(10) < 6 {
            let k = containers.len();
            let host = rng.below(HOSTS.len());
            let name = format!("chaos{k}");
            let ip = format!("10.79.{}.{}", k / 200, k % 200 + 1);
            let ns = Netns::new(&name).unwrap();
            let prefix = format!("{ip}/16");
            let args =
                ["attach", "--netns", &ns.name, "--profile", PROFILE, "--name", &name, "--ip", &prefix];
            let out = on_agent(&agent_dirs[host], &args);
            let veth = out
                .as_ref()
                .filter(|out| out.status.success())
                .and_then(|out| stdout(out).trim().strip_prefix("Vethernet")?.parse().ok());
            let state = match veth {
                Some(_) => State::Attached,
                None if refused(out.as_ref()) => State::Refused,
                None => State::Unsure,
            };
            if veth.is_none() {
                tally(failures, &format!("attach: {}", said(out.as_ref())));
            }
            containers.push(Container { host, name, ip, ns, veth, state });
        } else {
            let container = &mut containers[live[rng.below(live.len())]];
            let out = on_agent(&agent_dirs[container.host], &["detach", "--netns", &container.ns.name]);
            let ok = out.as_ref().is_some_and(|out| out.status.success());
            if !ok {
                tally(failures, &format!("detach: {}", said(out.as_ref())));
            }
            if ok {
                container.state = State::Detached;
            } else if !refused(out.as_ref()) {
                container.state = State::DetachUnsure;
            }
        }
        std::thread::sleep(rng.between(Duration::from_millis(200), Duration::from_millis(800)));
    }
    attaching
}

/// The lines of `port-profile type vethernet NAME`'s block in a running-config.
fn profile_block<'a>(config: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("port-profile type vethernet {name}");
    config
        .lines()
        .skip_while(|line| *line != header)
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .collect()
}

/// The churn profile's VLAN and the change number in its description.
fn churn_state(config: &str) -> Option<(u16, u16)> {
    let block = profile_block(config, CHURN);
    let vlan =
        block.iter().find_map(|line| line.trim().strip_prefix("switchport access vlan ")?.parse().ok())?;
    let n =
        block.iter().find_map(|line| line.trim().strip_prefix("description chaos change ")?.parse().ok())?;
    Some((vlan, n))
}

/// `show interface virtual` rows: (VethN, the words of the row, host).
fn virtual_interfaces(text: &str) -> Vec<(u32, Vec<String>, String)> {
    text.lines()
        .filter_map(|line| {
            let number = line.strip_prefix("Veth")?.split_whitespace().next()?.parse().ok()?;
            let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            let host = words.last()?.clone();
            Some((number, words, host))
        })
        .collect()
}

/// The module numbers of `show module`'s first table, and the Server-Name rows' (module, host).
fn modules(text: &str) -> (Vec<u32>, Vec<(u32, String)>) {
    let numbers = text
        .lines()
        .skip(2)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect();
    let servers = text
        .lines()
        .skip_while(|line| !line.ends_with("Server-Name"))
        .skip(2)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            Some((line.split_whitespace().next()?.parse().ok()?, line.split_whitespace().last()?.to_owned()))
        })
        .collect();
    (numbers, servers)
}

/// The VLAN `vemcmd show port vlans` on `dir`'s agent gives VethN.
fn port_vlan(dir: &PathBuf, veth: u32) -> Option<u16> {
    let out = on_agent(dir, &["vemcmd", "show", "port", "vlans"])?;
    let name = format!("Veth{veth}");
    stdout(&out).lines().find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        (columns.get(1) == Some(&name.as_str())).then(|| columns.get(3)?.parse().ok()).flatten()
    })
}

/// Everything that should hold once the chaos is over; what does not, in words.
fn problems(bed: &HaBed, changes: &Changes, containers: &[Container], anchors: &[u32]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut configs = Vec::new();
    for index in 0..SUPERVISORS {
        let Some(client) = bed.client_of(index) else {
            problems.push(format!("supervisor{index}: no client"));
            continue;
        };
        let shows = ["show running-config", "show module", "show interface virtual"].map(|c| client.exec(c));
        let [Ok(config), Ok(module), Ok(interfaces)] = shows else {
            problems.push(format!("supervisor{index} does not answer: {shows:?}"));
            continue;
        };
        // Every acknowledged change is there.
        let missing: Vec<u16> = changes
            .acknowledged
            .iter()
            .copied()
            .filter(|n| !config.contains(&format!("vlan {}\n  name chaos-{n}\n", FIRST_VLAN + n)))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("supervisor{index}: acknowledged changes missing: {missing:?}"));
        }
        // The churn profile is one change's, whole, and no older than the last acknowledged.
        match churn_state(&config) {
            Some((vlan, n)) if vlan != if n == 0 { 100 } else { FIRST_VLAN + n } => {
                problems.push(format!(
                    "supervisor{index}: {CHURN} has vlan {vlan} but the description of change {n}"
                ));
            }
            Some((_, n)) if changes.acknowledged.last().is_some_and(|last| n < *last) => {
                problems.push(format!(
                    "supervisor{index}: {CHURN} is at change {n}, older than the last acknowledged {:?}",
                    changes.acknowledged.last()
                ))
            }
            Some(_) => {}
            None => problems.push(format!("supervisor{index}: no {CHURN} profile in\n{config}")),
        }
        // Both hosts listed once and online (unique numbers: checked last, see the test).
        let (_, servers) = modules(&module);
        for host in HOSTS {
            if servers.iter().filter(|(_, name)| name == host).count() != 1 {
                problems.push(format!("supervisor{index}: {host} not listed once:\n{module}"));
            }
            if common::module_status(&module, host).as_deref() != Some("ok") {
                problems.push(format!("supervisor{index}: {host} not online:\n{module}"));
            }
        }
        // vEthernet numbers unique; acknowledged attaches listed with their number, detached
        // ones not.
        let rows = virtual_interfaces(&interfaces);
        let mut numbers: Vec<u32> = rows.iter().map(|(number, _, _)| *number).collect();
        numbers.sort_unstable();
        if numbers.windows(2).any(|pair| pair[0] == pair[1]) {
            problems.push(format!("supervisor{index}: a vEthernet listed twice:\n{interfaces}"));
        }
        for container in containers {
            let listed = rows.iter().find(|(_, words, _)| words.contains(&container.name));
            let host = HOSTS[container.host];
            match (container.state, listed) {
                (State::Attached, None) => problems.push(format!(
                    "supervisor{index}: {} (Vethernet{:?} on {host}) attached but not listed",
                    container.name, container.veth
                )),
                (State::Attached, Some((number, _, on)))
                    if Some(*number) != container.veth || on.as_str() != host =>
                {
                    problems.push(format!(
                        "supervisor{index}: {} attached as Vethernet{:?} on {host}, listed as Veth{number} on {on}",
                        container.name, container.veth
                    ));
                }
                (State::Detached | State::Refused, Some((number, _, _))) => problems.push(format!(
                    "supervisor{index}: {} {:?} but listed as Veth{number}",
                    container.name, container.state
                )),
                _ => {}
            }
        }
        configs.push(config);
    }
    if configs.windows(2).any(|pair| pair[0] != pair[1]) {
        problems.push("the supervisors' running-configs differ".to_owned());
    }
    // Each agent holds, and its datapath enforces, what the store holds.
    if let Some((vlan, _)) = configs.first().and_then(|config| churn_state(config)) {
        for (host, anchor) in HOSTS.iter().zip(anchors) {
            let policies = agent_policies(&bed.agent_dir(host));
            let held =
                (policies.get(CHURN).map(|p| p.access_vlan), policies.get(PROFILE).map(|p| p.access_vlan));
            if held != (Some(vlan), Some(100)) {
                problems.push(format!(
                    "{host} holds ({CHURN}, {PROFILE}) on vlans {held:?}, the store ({vlan}, 100)"
                ));
            }
            let enforced = port_vlan(&bed.agent_dir(host), *anchor);
            if enforced != Some(vlan) {
                problems.push(format!(
                    "{host} forwards its {CHURN} port Veth{anchor} on vlan {enforced:?}, not {vlan}"
                ));
            }
        }
    }
    problems
}

#[test]
fn chaos_for_60_seconds() {
    if skip_unless_root() {
        return;
    }
    let seed = std::env::var("CHAOS_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("chaos seed: {seed} (CHAOS_SEED={seed} repeats the schedule)");
    let mut rng = Rng(seed);
    let started = Instant::now();

    let mut bed = HaBed::start();
    bed.client().configure(SETUP).unwrap();
    let mut anchors = Vec::new();
    let mut anchor_namespaces = Vec::new();
    for host in HOSTS {
        bed.start_agent(host);
        let ns = Netns::new(&format!("{host}-anchor")).unwrap();
        let args = ["attach", "--netns", &ns.name, "--profile", CHURN, "--name", &format!("{host}-anchor")];
        let out = on_agent(&bed.agent_dir(host), &args).unwrap();
        assert!(out.status.success(), "anchor on {host}: {}{}", stdout(&out), stderr(&out));
        anchors.push(common::attached_veth(&out));
        anchor_namespaces.push(ns);
    }
    eprintln!("set up in {:?}", started.elapsed());

    let stop = AtomicBool::new(false);
    let shell = bed.shell();
    let agent_dirs: Vec<PathBuf> = HOSTS.iter().map(|host| bed.agent_dir(host)).collect();
    let attach_rng = Rng(rng.next());
    let (operations, changes, attaching) = std::thread::scope(|scope| {
        let changer = scope.spawn(|| keep_changing(&shell, &stop));
        let attacher = scope.spawn(|| keep_attaching(&agent_dirs, attach_rng, &stop));
        let operations = {
            let _stop = StopOnDrop(&stop);
            drive(&mut bed, &mut rng)
        };
        (operations, changer.join().unwrap(), attacher.join().unwrap())
    });
    let chaos_over = Instant::now();
    let containers = &attaching.containers;
    eprintln!("chaos: {} operations\n{}", operations.len(), operations.join("\n"));

    // Everything runs again: wait for the supervisors, then for everything to agree.
    for index in 0..SUPERVISORS {
        bed.wait_supervisor(index, Duration::from_secs(30));
    }
    let mut last = Vec::new();
    let settle = Instant::now();
    while settle.elapsed() < SETTLE_WITHIN {
        last = problems(&bed, &changes, containers, &anchors);
        if last.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let count = |state: State| containers.iter().filter(|c| c.state == state).count();
    eprintln!(
        "changes: {} tried, {} acknowledged, slowest {:?}; failures: {:#?}",
        changes.tried,
        changes.acknowledged.len(),
        changes.slowest,
        changes.failures
    );
    eprintln!(
        "containers: {} attaches tried, {} acknowledged ({} then detached, {} detaches unacknowledged), \
         {} refused (agent down), {} not acknowledged otherwise",
        containers.len(),
        containers.iter().filter(|c| c.veth.is_some()).count(),
        count(State::Detached),
        count(State::DetachUnsure),
        count(State::Refused),
        count(State::Unsure)
    );
    eprintln!("attach and detach failures: {:#?}", attaching.failures);
    eprintln!(
        "settled {:?} after the chaos ended ({:?} after everything answered); the whole test took {:?}",
        chaos_over.elapsed(),
        settle.elapsed(),
        started.elapsed()
    );
    assert!(last.is_empty(), "after the chaos (seed {seed}):\n{}\n{}", last.join("\n"), bed.logs());

    // The ports that came through forward: two live containers on one host reach each other.
    for (host, name) in HOSTS.iter().enumerate() {
        let live: Vec<&Container> =
            containers.iter().filter(|c| c.host == host && c.state == State::Attached).take(2).collect();
        if let [a, b] = live[..] {
            assert!(a.ns.ping(&b.ip, 3), "{} cannot reach {} on {name}\n{}", a.name, b.name, bed.logs());
            eprintln!("{} reaches {} on {name}", a.name, b.name);
        }
    }
    // Module numbers are unique in `show module` (supervisors and agents share the column).
    for index in 0..SUPERVISORS {
        let module = bed.show(index, "show module");
        let (mut numbers, _) = modules(&module);
        let all = numbers.len();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), all, "supervisor{index}: a module number twice:\n{module}");
    }
    assert!(
        changes.acknowledged.len() >= 10,
        "only {} changes acknowledged in a minute",
        changes.acknowledged.len()
    );
    assert!(count(State::Attached) + count(State::Detached) >= 5, "too few attaches acknowledged");
}
