//! `vemcmd`: the host-side view of the agent, as on the Nexus 1000V's VEM.
//!
//! Synchronous on purpose: a one-shot command asking `D/agent.sock` one question.
//! [`frame`] builds `trace`'s frames from words; [`render`] lays out the answers.

pub mod frame;
pub mod render;
pub mod render_flows;

use std::path::{Path, PathBuf};

use crate::client::{self, SHOW_TIMEOUT};
use crate::{ClientError, Request, Response, to_hex};

pub use render::render_card;

/// The commands vemcmd knows, with their help, for the usage text.
const COMMANDS: &[(&str, &str)] = &[
    ("show card", "this host's module: supervisor, connection, port-profiles"),
    ("show port", "the ports: LTL, vEthernet, admin and link state, forwarding, host interface"),
    ("show port vlans", "each port's mode, native VLAN and allowed VLANs"),
    ("show l2 VLAN|all", "the MAC address table of a VLAN, or of every VLAN and bridge-domain"),
    ("show l2 bd-name NAME", "the MAC address table of a bridge-domain, with each remote MAC's VTEP"),
    ("show vxlan", "the VTEP, each bridge-domain's remote VTEPs and MACs, the tunnel's counters"),
    ("show stats", "each port's counters"),
    ("show drops", "drops by reason, per port and for the whole switch"),
    ("show pinning", "the uplink each vEthernet is pinned to (mac-pinning)"),
    ("show conntrack", "the connections stateful permits track, and the table's fill"),
    ("clear conntrack", "forget every tracked connection (their next packets meet the lists again)"),
    ("show flows", "the flow table: each flow's ports, addresses, counters and export"),
    ("trace --in PORT FRAME", "run a frame through the switch and print every decision"),
];

/// Why vemcmd could not answer.
#[derive(Debug, thiserror::Error)]
pub enum VemcmdError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Agent(#[from] ClientError),
}

/// What was asked, and how the answer is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    Card,
    Ports(PortsTable),
    L2(Option<u16>),
    L2BridgeDomain(String),
    Vxlan,
    Conntrack,
    ClearConntrack,
    Flows,
    Trace { port: String, frame: Vec<u8> },
}

/// The tables `show port…`, `show stats` and `show drops` print from one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortsTable {
    Port,
    Vlans,
    Stats,
    Drops,
    Pinning,
}

/// Runs one vemcmd command (`args` such as `["show", "card"]`) against the agent whose data
/// dir is `data_dir`, and returns the text to print. A `--data-dir D` among `args` (typed
/// after the command, where the binary's parser leaves it to the command) overrides `data_dir`.
pub fn run(data_dir: &Path, args: &[String]) -> Result<String, VemcmdError> {
    let (data_dir, args) = split_data_dir(data_dir, args)?;
    let data_dir = data_dir.as_path();
    let command = parse(&args)?;
    let request = match &command {
        Command::Card => Request::ShowCard,
        Command::Ports(_) => Request::ShowPorts,
        Command::L2(vlan) => Request::ShowL2 { vlan: *vlan },
        Command::L2BridgeDomain(name) => Request::ShowL2BridgeDomain { name: name.clone() },
        Command::Vxlan => Request::ShowVxlan,
        Command::Conntrack => Request::ShowConntrack,
        Command::ClearConntrack => Request::ClearConntrack,
        Command::Flows => Request::ShowFlows,
        Command::Trace { port, frame } => Request::Trace { port: port.clone(), frame_hex: to_hex(frame) },
    };
    let text = match (command, client::ask(data_dir, &request, SHOW_TIMEOUT)?) {
        (Command::Card, Response::Card(card)) => render::render_card(&card),
        (Command::Ports(table), Response::Ports(view)) => match table {
            PortsTable::Port => render::render_ports(&view),
            PortsTable::Vlans => render::render_port_vlans(&view),
            PortsTable::Stats => render::render_stats(&view),
            PortsTable::Drops => render::render_drops(&view),
            PortsTable::Pinning => render::render_pinning(&view),
        },
        (Command::L2(vlan), Response::L2 { entries }) => render::render_l2(&entries, vlan),
        (Command::L2BridgeDomain(_), Response::BridgeDomainL2 { name, segment_id, entries }) => {
            render::render_bridge_domain_l2(&name, segment_id, &entries)
        }
        (Command::Vxlan, Response::Vxlan(view)) => render::render_vxlan(&view),
        (Command::Trace { .. }, Response::Trace(view)) => render::render_trace(&view),
        (Command::Conntrack, Response::Conntrack(view)) => render_flows::render_conntrack(&view),
        (Command::ClearConntrack, Response::Done) => String::new(),
        (Command::Flows, Response::Flows { flows }) => render_flows::render_flows(&flows),
        (_, other) => return Err(client::unexpected(&other).into()),
    };
    Ok(text)
}

/// Takes `--data-dir D` (or `--data-dir=D`) out of `args`.
fn split_data_dir(data_dir: &Path, args: &[String]) -> Result<(PathBuf, Vec<String>), VemcmdError> {
    let mut chosen = data_dir.to_owned();
    let mut rest = Vec::with_capacity(args.len());
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--data-dir" {
            let dir =
                words.next().ok_or_else(|| VemcmdError::Usage("--data-dir needs a directory".into()))?;
            chosen = PathBuf::from(dir);
        } else if let Some(dir) = word.strip_prefix("--data-dir=") {
            chosen = PathBuf::from(dir);
        } else {
            rest.push(word.clone());
        }
    }
    Ok((chosen, rest))
}

fn parse(args: &[String]) -> Result<Command, VemcmdError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let unknown = || VemcmdError::Usage(format!("unknown command {:?}\n{}", words.join(" "), usage()));
    match words[..] {
        [] => Err(VemcmdError::Usage(usage())),
        ["show", "card"] => Ok(Command::Card),
        ["show", "port"] => Ok(Command::Ports(PortsTable::Port)),
        ["show", "port", "vlans"] => Ok(Command::Ports(PortsTable::Vlans)),
        ["show", "stats"] => Ok(Command::Ports(PortsTable::Stats)),
        ["show", "drops"] => Ok(Command::Ports(PortsTable::Drops)),
        ["show", "pinning"] => Ok(Command::Ports(PortsTable::Pinning)),
        ["show", "l2", "all"] => Ok(Command::L2(None)),
        ["show", "l2", "bd-name", name] => Ok(Command::L2BridgeDomain(name.to_owned())),
        ["show", "l2", "bd-name"] => {
            Err(VemcmdError::Usage("show l2 bd-name: give the bridge-domain's name".into()))
        }
        ["show", "vxlan"] => Ok(Command::Vxlan),
        ["show", "conntrack"] => Ok(Command::Conntrack),
        ["clear", "conntrack"] => Ok(Command::ClearConntrack),
        ["show", "flows"] => Ok(Command::Flows),
        ["show", "l2", vlan] => match vlan.parse::<u16>() {
            Ok(vlan) if (1..=4094).contains(&vlan) => Ok(Command::L2(Some(vlan))),
            _ => Err(VemcmdError::Usage(format!("show l2: {vlan:?} is not a VLAN (1-4094) or all"))),
        },
        ["trace", "--in", port, ref frame @ ..] => {
            let frame =
                frame::build_frame(frame).map_err(|error| VemcmdError::Usage(format!("trace: {error}")))?;
            Ok(Command::Trace { port: port.to_owned(), frame })
        }
        ["trace", ..] => Err(VemcmdError::Usage(format!("usage: vemcmd trace --in PORT {}", frame::GRAMMAR))),
        _ => Err(unknown()),
    }
}

fn usage() -> String {
    let mut text = String::from("usage: vemcmd COMMAND\ncommands:\n");
    for (syntax, help) in COMMANDS {
        text.push_str(&format!("  {syntax:<22} {help}\n"));
    }
    text.push_str(&format!(
        "PORT is VethN or an LTL number; FRAME is described in words:\n  {}\n\
         e.g. vemcmd trace --in Veth1 src 02:00:00:00:00:01 dst ff:ff:ff:ff:ff:ff vlan 100 arp\n",
        frame::GRAMMAR
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse(&args("show port")).expect("ok"), Command::Ports(PortsTable::Port));
        assert_eq!(parse(&args("show port vlans")).expect("ok"), Command::Ports(PortsTable::Vlans));
        assert_eq!(parse(&args("show l2 100")).expect("ok"), Command::L2(Some(100)));
        assert_eq!(parse(&args("show l2 all")).expect("ok"), Command::L2(None));
        assert!(parse(&args("show l2 5000")).is_err());
        assert_eq!(
            parse(&args("show l2 bd-name tenant-red")).expect("ok"),
            Command::L2BridgeDomain("tenant-red".into())
        );
        let error = parse(&args("show l2 bd-name")).expect_err("no name").to_string();
        assert_eq!(error, "show l2 bd-name: give the bridge-domain's name");
        assert!(parse(&args("show l2 bd-name a b")).is_err());
        assert_eq!(parse(&args("show vxlan")).expect("ok"), Command::Vxlan);
        assert!(parse(&args("show vxlan x")).is_err());
        let trace = parse(&args("trace --in Veth1 src 02:00:00:00:00:01 dst bcast arp")).expect("ok");
        assert!(
            matches!(trace, Command::Trace { ref port, ref frame } if port == "Veth1" && frame.len() == 60)
        );
        let error = parse(&args("trace --in Veth1 src x")).expect_err("bad frame").to_string();
        assert!(error.starts_with("trace: "), "{error}");
        assert!(parse(&args("trace")).expect_err("no port").to_string().contains("trace --in PORT"));
    }

    #[test]
    fn a_data_dir_after_the_command_is_taken_out() {
        let (dir, rest) =
            split_data_dir(Path::new("/default"), &args("show stats --data-dir /d")).expect("ok");
        assert_eq!((dir, rest), (PathBuf::from("/d"), args("show stats")));
        let (dir, rest) =
            split_data_dir(Path::new("/default"), &args("--data-dir=/e show port")).expect("ok");
        assert_eq!((dir, rest), (PathBuf::from("/e"), args("show port")));
        let (dir, _) = split_data_dir(Path::new("/default"), &args("show port")).expect("ok");
        assert_eq!(dir, PathBuf::from("/default"));
        assert!(split_data_dir(Path::new("/default"), &args("show port --data-dir")).is_err());
    }

    #[test]
    fn unknown_commands_get_usage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run(dir.path(), &args("show everything")).expect_err("accepted");
        let text = err.to_string();
        assert!(text.starts_with("unknown command \"show everything\"\nusage: vemcmd COMMAND"), "{text}");
        assert!(text.contains("show card"), "{text}");
        assert!(text.contains("  show l2 bd-name NAME   the MAC address table of a bridge-domain"), "{text}");
        assert!(text.contains("  show vxlan             the VTEP"), "{text}");
        let err = run(dir.path(), &[]).expect_err("accepted");
        assert!(err.to_string().starts_with("usage: vemcmd"), "{err}");
    }

    #[test]
    fn no_agent_is_said_plainly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run(dir.path(), &args("show card")).expect_err("no agent");
        assert_eq!(
            err.to_string(),
            format!("agent not running: no socket at {}", dir.path().join("agent.sock").display())
        );

        drop(std::os::unix::net::UnixListener::bind(dir.path().join("agent.sock")).expect("bind"));
        let err = run(dir.path(), &args("show card")).expect_err("stale socket");
        assert!(matches!(err, VemcmdError::Agent(ClientError::Refused { .. })), "{err}");
        assert!(err.to_string().starts_with("agent not running: "), "{err}");
    }
}
