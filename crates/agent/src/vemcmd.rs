//! `vemcmd`: the host-side view of the agent, as on the Nexus 1000V's VEM.
//!
//! Synchronous on purpose: it is a one-shot command talking to `D/agent.sock`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::local_api::{CardInfo, Request, Response, encode_line};
use crate::paths::DataDir;
use crate::status::ConnectionState;

/// How long to wait for the agent before giving up.
const AGENT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest answer accepted from the agent.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// The commands vemcmd knows, with their help, for the usage text.
const COMMANDS: &[(&str, &str)] =
    &[("show card", "this host's module: supervisor, connection, port-profiles")];

/// Why vemcmd could not answer.
#[derive(Debug, thiserror::Error)]
pub enum VemcmdError {
    #[error("{0}")]
    Usage(String),
    #[error("agent not running: no socket at {}", .socket.display())]
    NoSocket { socket: PathBuf },
    #[error("agent not running: {} refuses connections (stale socket)", .socket.display())]
    Refused { socket: PathBuf },
    #[error("cannot talk to the agent on {}: {source}", .socket.display())]
    Io { socket: PathBuf, source: io::Error },
    #[error("the agent sent an unreadable answer: {0}")]
    BadResponse(String),
    #[error("the agent refused: {0}")]
    Agent(String),
}

/// Runs one vemcmd command (`args` such as `["show", "card"]`) against the agent whose data
/// dir is `data_dir`, and returns the text to print.
pub fn run(data_dir: &Path, args: &[String]) -> Result<String, VemcmdError> {
    let request = parse(args)?;
    let socket = DataDir::new(data_dir).socket();
    match (&request, ask(&socket, &request)?) {
        (Request::ShowCard, Response::Card(card)) => Ok(render_card(&card)),
        (_, Response::Error { message }) => Err(VemcmdError::Agent(message)),
    }
}

fn parse(args: &[String]) -> Result<Request, VemcmdError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words[..] {
        ["show", "card"] => Ok(Request::ShowCard),
        [] => Err(VemcmdError::Usage(usage())),
        _ => Err(VemcmdError::Usage(format!("unknown command {:?}\n{}", words.join(" "), usage()))),
    }
}

fn usage() -> String {
    let mut text = String::from("usage: vemcmd COMMAND\ncommands:\n");
    for (syntax, help) in COMMANDS {
        text.push_str(&format!("  {syntax:<12} {help}\n"));
    }
    text
}

/// Sends one request line and reads one response line.
fn ask(socket: &Path, request: &Request) -> Result<Response, VemcmdError> {
    let io_error = |source| VemcmdError::Io { socket: socket.to_owned(), source };
    let mut stream = UnixStream::connect(socket).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => VemcmdError::NoSocket { socket: socket.to_owned() },
        io::ErrorKind::ConnectionRefused => VemcmdError::Refused { socket: socket.to_owned() },
        _ => io_error(err),
    })?;
    stream.set_read_timeout(Some(AGENT_TIMEOUT)).map_err(io_error)?;
    stream.set_write_timeout(Some(AGENT_TIMEOUT)).map_err(io_error)?;
    stream.write_all(&encode_line(request)).map_err(io_error)?;
    let mut reply = Vec::new();
    BufReader::new(stream.take(MAX_RESPONSE_BYTES)).read_until(b'\n', &mut reply).map_err(io_error)?;
    if reply.last() != Some(&b'\n') {
        return Err(VemcmdError::BadResponse(
            "the agent closed the connection without a complete answer".into(),
        ));
    }
    serde_json::from_slice(&reply).map_err(|err| VemcmdError::BadResponse(err.to_string()))
}

/// `vemcmd show card`, laid out as on the Nexus 1000V.
pub fn render_card(card: &CardInfo) -> String {
    let yes_no = |yes: bool| if yes { "Yes" } else { "No" };
    let connected = card.state == ConnectionState::Connected;
    let module = card.module.map_or_else(|| "none (never registered)".to_owned(), |m| m.to_string());
    let heartbeat = card
        .last_heartbeat_ack_ms
        .map_or_else(|| "never".to_owned(), |ms| format!("{:.1} s ago", ms as f64 / 1000.0));
    let state = match card.state {
        ConnectionState::Connected => "connected",
        ConnectionState::Headless => "headless",
    };
    let addresses = if card.addresses.is_empty() { "none".to_owned() } else { card.addresses.join(", ") };
    let mut lines = vec![
        format!("Card name: {}", card.card_name),
        format!("Card UUID: {}", card.host_id),
        format!("Switch name: {}", card.switch_name),
        format!("Card slot (module): {module}"),
        format!("Supervisor address: {}", card.supervisor),
        format!("Supervisor state: {state}"),
        format!("Card Headless Mode : {}", yes_no(!connected)),
        format!("Heartbeat Set: {}", if connected { "True" } else { "False" }),
        format!("Last heartbeat ack: {heartbeat}"),
        format!("Max virtual ports: {}", card.max_virtual_ports),
        format!("Port-profiles: {} (revision {})", card.policy_count, card.policy_revision),
    ];
    if let Some(revision) = card.supervisor_revision {
        lines.push(format!("Supervisor config revision: {revision}"));
    }
    lines.push(format!("Management addresses: {addresses}"));
    lines.push(format!("Software: {}", card.version));
    lines.push(format!("Hardware: {}", card.hardware));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    fn card(state: ConnectionState) -> CardInfo {
        CardInfo {
            card_name: "bilbo".into(),
            host_id: "80c34566-7e89-4601-b4f9-001a64dc9054".into(),
            switch_name: "switch".into(),
            module: Some(3),
            supervisor: "http://127.0.0.1:7400".into(),
            state,
            last_heartbeat_ack_ms: Some(420),
            policy_count: 2,
            policy_revision: 7,
            supervisor_revision: Some(7),
            max_virtual_ports: 248,
            addresses: vec!["10.77.0.11".into()],
            hardware: "Linux 6.1 x86_64".into(),
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn show_card_layout() {
        let text = render_card(&card(ConnectionState::Connected));
        assert_eq!(
            text,
            "Card name: bilbo\n\
             Card UUID: 80c34566-7e89-4601-b4f9-001a64dc9054\n\
             Switch name: switch\n\
             Card slot (module): 3\n\
             Supervisor address: http://127.0.0.1:7400\n\
             Supervisor state: connected\n\
             Card Headless Mode : No\n\
             Heartbeat Set: True\n\
             Last heartbeat ack: 0.4 s ago\n\
             Max virtual ports: 248\n\
             Port-profiles: 2 (revision 7)\n\
             Supervisor config revision: 7\n\
             Management addresses: 10.77.0.11\n\
             Software: 0.1.0\n\
             Hardware: Linux 6.1 x86_64\n"
        );
        let headless = render_card(&CardInfo {
            module: None,
            last_heartbeat_ack_ms: None,
            ..card(ConnectionState::Headless)
        });
        for line in [
            "Card slot (module): none (never registered)",
            "Supervisor state: headless",
            "Card Headless Mode : Yes",
            "Heartbeat Set: False",
            "Last heartbeat ack: never",
        ] {
            assert!(headless.contains(line), "{line:?} missing from\n{headless}");
        }
    }

    #[test]
    fn unknown_commands_get_usage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run(dir.path(), &args("show everything")).expect_err("accepted");
        let text = err.to_string();
        assert!(text.starts_with("unknown command \"show everything\"\nusage: vemcmd COMMAND"), "{text}");
        assert!(text.contains("show card"), "{text}");
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
        assert!(matches!(err, VemcmdError::Refused { .. }), "{err}");
        assert!(err.to_string().starts_with("agent not running: "), "{err}");
    }
}
