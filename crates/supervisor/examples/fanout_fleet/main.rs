//! A fleet of simulated agents against running supervisors, and how fast a profile change
//! reaches every one of their Watch streams. Each agent speaks the agent's gRPC as a real one
//! does (Register, BindPort of one port on the profile, Watch with what it holds, Heartbeat at
//! the interval asked; on a broken session, the next supervisor at once) but has no datapath,
//! so a thousand fit in one process. Agent `i` starts with supervisor `i mod n`, spreading the
//! fleet evenly.
//!
//! After the fleet is in sync, CHANGES profile changes go through REST (`POST /api/v1/config`,
//! change `k` to supervisor `k mod n`, so most streams hear of it from another supervisor through
//! the store): `max-ports` flips between 1023 and 1024, which changes the policy every stream
//! carries and nothing a port does. For each change and stream, the time from the start of the
//! POST (so the store's commit is included) to the stream delivering the new policy: p50/p99/max
//! per change and over all of them. Streams usually have the change before the POST's reply
//! arrives; how many had it only later, and how much later, is printed too.
//!
//! `--hold SECONDS` keeps the fleet heartbeating (and failing over) after that, for a failover
//! measurement driven from outside; `--events FILE` writes every session opened or lost, with
//! its wall-clock time (Unix ns), one per line:
//! `session AGENT SUPERVISOR MODULE UNIX_NS` / `lost AGENT SUPERVISOR UNIX_NS WHY`.
//!
//! INSECURE, for benchmarks only: the supervisors must run `--insecure` (plain HTTP/2, no
//! enrolment), so that a thousand agents need no certificates.
//!
//! ```text
//! cargo build --release -p switchyard-supervisor --example fanout_fleet
//! target/release/examples/fanout_fleet --supervisors http://127.0.0.1:7401,http://127.0.0.1:7402 \
//!     [--agents 1000] [--changes 5] [--profile web] [--prefix fleet] [--events FILE] [--hold SECONDS]
//! ```
//! Used by `scripts/bench-ha`.

mod agent;
mod rest;

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agent::{FleetSpec, Report, SimAgent};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// How many agents connect at once while the fleet forms.
const CONNECT_BATCH: usize = 100;
/// How long one batch may take to be in sync.
const BATCH_DEADLINE: Duration = Duration::from_secs(60);
/// How long every stream may take to deliver one change.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);
/// Quiet time between two changes, so that each is measured on its own.
const BETWEEN_CHANGES: Duration = Duration::from_millis(300);

/// Why the fleet failed.
#[derive(Debug, thiserror::Error)]
enum FleetError {
    #[error(
        "{0}\nusage: fanout_fleet --supervisors URL[,URL…] [--agents N] [--changes N] [--profile NAME] [--prefix WORD] [--events FILE] [--hold SECONDS]"
    )]
    Usage(String),
    #[error(transparent)]
    Rest(#[from] rest::RestError),
    #[error("{what}: {done} of {target} within {limit:?}")]
    Timeout { what: String, done: usize, target: usize, limit: Duration },
    #[error("writing the events file: {0}")]
    Events(#[from] std::io::Error),
    #[error("every agent task ended")]
    AgentsGone,
}

#[derive(Debug)]
struct Args {
    supervisors: Vec<String>,
    agents: usize,
    changes: usize,
    profile: String,
    prefix: String,
    events: Option<std::path::PathBuf>,
    hold: Option<Duration>,
}

fn parse_args() -> Result<Args, FleetError> {
    let mut args = Args {
        supervisors: Vec::new(),
        agents: 1000,
        changes: 5,
        profile: "web".into(),
        prefix: "fleet".into(),
        events: None,
        hold: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or_else(|| FleetError::Usage(format!("{flag} needs a value")));
        let number = |text: String| {
            text.parse::<usize>().map_err(|_| FleetError::Usage(format!("{flag}: {text:?} is not a number")))
        };
        match flag.as_str() {
            "--supervisors" => args.supervisors = value()?.split(',').map(str::to_owned).collect(),
            "--agents" => args.agents = number(value()?)?,
            "--changes" => args.changes = number(value()?)?,
            "--profile" => args.profile = value()?,
            "--prefix" => args.prefix = value()?,
            "--events" => args.events = Some(value()?.into()),
            "--hold" => args.hold = Some(Duration::from_secs(number(value()?)? as u64)),
            other => return Err(FleetError::Usage(format!("unknown argument {other:?}"))),
        }
    }
    if args.supervisors.is_empty() || args.supervisors.iter().any(|url| !url.starts_with("http://")) {
        return Err(FleetError::Usage(
            "--supervisors takes http://HOST:PORT,… (--insecure supervisors)".into(),
        ));
    }
    if args.agents == 0 {
        return Err(FleetError::Usage("--agents must be at least 1".into()));
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("fanout_fleet: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), FleetError> {
    let args = parse_args()?;
    println!("INSECURE (benchmark only): simulated agents on plain HTTP/2 to --insecure supervisors");
    let events = args.events.as_ref().map(File::create).transpose()?.map(BufWriter::new);
    let spec = Arc::new(FleetSpec {
        supervisors: args.supervisors.clone(),
        profile: args.profile.clone(),
        prefix: args.prefix.clone(),
    });
    let (reports_tx, reports) = unbounded_channel();
    let mut fleet = Fleet::new(args.agents, reports, events);

    // Form the fleet, a batch at a time.
    let started = Instant::now();
    let count = spec.supervisors.len();
    for batch in (0..args.agents).step_by(CONNECT_BATCH) {
        let end = (batch + CONNECT_BATCH).min(args.agents);
        for index in batch..end {
            tokio::spawn(SimAgent::new(index, Arc::clone(&spec), reports_tx.clone()).run(index % count));
        }
        fleet.wait("agents in sync", BATCH_DEADLINE, end, Fleet::in_session).await?;
    }
    drop(reports_tx);
    let spread: Vec<String> = (0..count).map(|s| fleet.served_by(s).to_string()).collect();
    println!(
        "ready: {} agents registered, bound and in sync in {:.2?} (per supervisor: {})",
        args.agents,
        started.elapsed(),
        spread.join(" / ")
    );

    // Profile changes.
    let mut from_start = Vec::new();
    let mut after_reply = Vec::new();
    let mut posts = Vec::new();
    for change in 0..args.changes {
        tokio::time::sleep(BETWEEN_CHANGES).await;
        let via = change % count;
        let max_ports = if change % 2 == 0 { 1023 } else { 1024 };
        let text = format!("port-profile type vethernet {}\n  max-ports {max_ports}\n", args.profile);
        let sent = Instant::now();
        let committed = rest::post_config(&spec.supervisors[via], &text).await?;
        fleet.expect(committed.revision);
        fleet
            .wait("streams with the change", CHANGE_DEADLINE, args.agents, |fleet| fleet.arrivals().count())
            .await?;
        let mut these: Vec<Duration> = fleet.arrivals().map(|at| at - sent).collect();
        let late: Vec<Duration> = fleet
            .arrivals()
            .filter(|at| *at > committed.acknowledged)
            .map(|at| at - committed.acknowledged)
            .collect();
        these.sort();
        let post = committed.acknowledged - sent;
        posts.push(post);
        println!(
            "change {} via supervisor {}: revision {}, POST {}; {} streams: p50 {}  p99 {}  max {} \
             from the POST's start; {} after its reply",
            change + 1,
            via + 1,
            committed.revision,
            ms(post),
            these.len(),
            ms(percentile(&these, 50.0)),
            ms(percentile(&these, 99.0)),
            ms(percentile(&these, 100.0)),
            late.len(),
        );
        from_start.extend(these);
        after_reply.extend(late);
    }
    if args.changes > 0 {
        from_start.sort();
        after_reply.sort();
        posts.sort();
        println!(
            "fanout: {} streams x {} changes: p50 {}  p99 {}  max {} from the POST's start; \
             POST median {}; {} of {} deliveries came after the POST's reply (at most {} after it)",
            args.agents,
            args.changes,
            ms(percentile(&from_start, 50.0)),
            ms(percentile(&from_start, 99.0)),
            ms(percentile(&from_start, 100.0)),
            ms(percentile(&posts, 50.0)),
            after_reply.len(),
            from_start.len(),
            ms(percentile(&after_reply, 100.0)),
        );
    }

    if let Some(hold) = args.hold {
        println!("holding for at most {hold:?}");
        let until = Instant::now() + hold;
        while let Ok(report) = tokio::time::timeout_at(until.into(), fleet.reports.recv()).await {
            fleet.take(report.ok_or(FleetError::AgentsGone)?)?;
        }
    }
    Ok(())
}

/// What the fleet knows of its agents, from their reports.
#[derive(Debug)]
struct Fleet {
    reports: UnboundedReceiver<Report>,
    events: Option<BufWriter<File>>,
    /// The supervisor each agent is in sync with, if any.
    serving: Vec<Option<usize>>,
    /// The revision of the change being measured, and when each agent's stream delivered it.
    expected: i64,
    arrived: Vec<Option<Instant>>,
}

impl Fleet {
    fn new(agents: usize, reports: UnboundedReceiver<Report>, events: Option<BufWriter<File>>) -> Self {
        Self { reports, events, serving: vec![None; agents], expected: i64::MAX, arrived: vec![None; agents] }
    }

    fn in_session(&self) -> usize {
        self.serving.iter().flatten().count()
    }

    fn served_by(&self, supervisor: usize) -> usize {
        self.serving.iter().filter(|serving| **serving == Some(supervisor)).count()
    }

    fn expect(&mut self, revision: i64) {
        self.expected = revision;
        self.arrived.iter_mut().for_each(|arrived| *arrived = None);
    }

    fn arrivals(&self) -> impl Iterator<Item = Instant> + '_ {
        self.arrived.iter().flatten().copied()
    }

    /// Takes reports until `count` reaches `target`; fails after `limit`.
    async fn wait(
        &mut self,
        what: &str,
        limit: Duration,
        target: usize,
        count: impl Fn(&Self) -> usize,
    ) -> Result<(), FleetError> {
        let deadline = tokio::time::Instant::now() + limit;
        while count(self) < target {
            match tokio::time::timeout_at(deadline, self.reports.recv()).await {
                Ok(Some(report)) => self.take(report)?,
                Ok(None) => return Err(FleetError::AgentsGone),
                Err(_) => {
                    let (what, done) = (what.to_owned(), count(self));
                    return Err(FleetError::Timeout { what, done, target, limit });
                }
            }
        }
        Ok(())
    }

    fn take(&mut self, report: Report) -> Result<(), FleetError> {
        match report {
            Report::Session { agent, supervisor, module, wall, .. } => {
                self.serving[agent] = Some(supervisor);
                self.event(format_args!("session {agent} {supervisor} {module} {}", unix_ns(wall)))?;
            }
            Report::Lost { agent, supervisor, why, wall } => {
                if self.serving[agent] == Some(supervisor) {
                    self.serving[agent] = None;
                }
                self.event(format_args!("lost {agent} {supervisor} {} {why}", unix_ns(wall)))?;
            }
            Report::Policy { agent, revision, at } => {
                if revision >= self.expected && self.arrived[agent].is_none() {
                    self.arrived[agent] = Some(at);
                }
            }
        }
        Ok(())
    }

    fn event(&mut self, line: std::fmt::Arguments<'_>) -> Result<(), FleetError> {
        if let Some(events) = self.events.as_mut() {
            // One line at a time and flushed: the script reads the file while the fleet runs.
            events.write_fmt(format_args!("{line}\n"))?;
            events.flush()?;
        }
        Ok(())
    }
}

fn unix_ns(wall: SystemTime) -> u128 {
    wall.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos())
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], percent: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
