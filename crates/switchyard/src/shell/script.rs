//! A script (`-c 'cmd; cmd'`, or lines on a stdin that is not a terminal), run all-or-nothing.
//!
//! 1. Every line is read first, with the same grammar and modes as typed lines. A line that does
//!    not parse (or configuration mode for a read-only role) stops the script before anything
//!    runs.
//! 2. The script's configuration lines — all of them, from every `configure terminal` block, each
//!    under its sub-mode's header — become one config text, applied by one
//!    `POST /api/v1/config`: the supervisor's parser and checks, one transaction. One bad line
//!    and nothing of it is applied; the error names the script's line (number and text).
//! 3. Exec commands run in script order around that commit, which happens where the script's
//!    last configuration line is: a `show` before it sees the configuration as it was, one after
//!    it sees the script's. The first command that fails stops the script (a commit not reached
//!    yet never happens). Exec commands are not part of the transaction: one that ran has run.
//! 4. Configuration sessions are the exception: lines typed in `configure session NAME` go to
//!    that session as they come, and its `verify`, `commit` and `abort` run in order, like exec
//!    commands (the session is its own transaction).

use std::process::ExitCode;

use cli::{Action, CliError, ExecCommand, Session, SessionMode, SessionOp};

use super::client::ClientError;
use super::{HOSTNAME, Shell};
use crate::stdout::emit;

/// One line of the script as read: its 1-based number, the prompt it would have had, its text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    number: usize,
    prompt: String,
    text: String,
}

/// What the script does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Run an exec command (the line it came from).
    Exec(Line, ExecCommand),
    /// Apply the script's configuration.
    Commit,
    /// Record config text in configuration session `name` (the session after the line maps
    /// refusals onto it).
    SessionLines { line: Line, session: Box<Session>, name: String, text: String },
    /// Open, verify, commit or abort configuration session `name`.
    SessionOp(Line, String, SessionOp),
}

/// A configuration line's share of the script's config text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    line: Line,
    /// The 1-based line of the config text where the piece starts.
    first: usize,
    /// How many lines of the text it has (1, or 2 under a sub-mode's header).
    count: usize,
    /// Lines of the text the session made for it that were left out (1: a sub-mode header the
    /// text has just before, from the line before).
    skipped: usize,
    /// The session right after the line was read: maps errors about the piece onto the line.
    session: Session,
}

/// A script, read and checked, not yet run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Plan {
    steps: Vec<Step>,
    /// The script's configuration, as one text.
    text: String,
    pieces: Vec<Piece>,
}

/// Why a script stopped: the line (if one is to blame) and what to print under it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stop {
    line: Option<Line>,
    error: CliError,
    /// Said after the error: what did not happen.
    note: &'static str,
}

const NOTHING_RAN: &str = "% Nothing was run: the script is read whole before any of it runs.";
const NOTHING_APPLIED: &str = "% Nothing of the script's configuration was applied (it applies as a whole).";

impl Plan {
    /// Reads the whole script. `may_configure` says whether the account may enter configuration
    /// mode (asked only when a line does).
    fn read(
        lines: impl IntoIterator<Item = String>,
        may_configure: &mut dyn FnMut() -> bool,
    ) -> Result<Self, Box<Stop>> {
        let mut plan = Self::default();
        let mut session = Session::new(HOSTNAME);
        let mut commit_at = None;
        for (index, text) in lines.into_iter().enumerate() {
            let was_exec = matches!(session.mode(), SessionMode::Exec);
            let line = Line { number: index + 1, prompt: session.prompt(), text };
            let stop =
                |error: CliError| Box::new(Stop { line: Some(line.clone()), error, note: NOTHING_RAN });
            match session.interpret(&line.text) {
                Err(error) => return Err(stop(error)),
                Ok(Action::ModeChanged | Action::ConfigSession { op: SessionOp::Open, .. })
                    if was_exec && !may_configure() =>
                {
                    return Err(stop(super::read_only_error()));
                }
                Ok(Action::SessionConfig { session: name, text }) => {
                    plan.steps.push(Step::SessionLines {
                        line,
                        session: Box::new(session.clone()),
                        name,
                        text,
                    });
                }
                Ok(Action::ConfigSession { name, op }) => plan.steps.push(Step::SessionOp(line, name, op)),
                Ok(Action::Nothing | Action::ModeChanged) => {}
                Ok(Action::Exec(ExecCommand::Exit)) => break,
                Ok(Action::Exec(command)) => plan.steps.push(Step::Exec(line, command)),
                Ok(Action::Config { text }) => {
                    let first = plan.text.lines().count() + 1;
                    let (text, skipped) = plan.without_repeated_header(&text);
                    let count = text.lines().count();
                    plan.text.push_str(text);
                    plan.pieces.push(Piece { line, first, count, skipped, session: session.clone() });
                    commit_at = Some(plan.steps.len());
                }
            }
        }
        if let Some(at) = commit_at {
            plan.steps.insert(at, Step::Commit);
        }
        Ok(plan)
    }

    /// `text` (one line's config text: the line, or a sub-mode header and the line under it)
    /// without its header when that is the last header in the plan's text already, and how many
    /// lines that left out: a block reads as typed, and the accounting log shows it so.
    fn without_repeated_header<'t>(&self, text: &'t str) -> (&'t str, usize) {
        let last_header = self.text.lines().rev().find(|line| !line.starts_with(char::is_whitespace));
        match text.split_once('\n') {
            Some((header, rest)) if Some(header) == last_header && rest.starts_with(char::is_whitespace) => {
                (rest, 1)
            }
            _ => (text, 0),
        }
    }

    /// The supervisor's refusal of the config text, mapped onto the script line it is about.
    fn refusal(&self, error: ClientError) -> Stop {
        let stop = |line: Option<Line>, error: CliError| Stop { line, error, note: NOTHING_APPLIED };
        let ClientError::Rejected { message, line, column, expected, .. } = error else {
            return stop(None, CliError { column: 0, message: error.to_string(), detail: None });
        };
        let piece = self.pieces.iter().find(|piece| (piece.first..piece.first + piece.count).contains(&line));
        let error = config::ConfigError { line, column, message, expected };
        match piece {
            Some(piece) => {
                let local = config::ConfigError { line: line - piece.first + 1 + piece.skipped, ..error };
                stop(Some(piece.line.clone()), piece.session.map_config_error(&local))
            }
            // About no line in particular (the result as a whole).
            None => {
                stop(None, Session::new(HOSTNAME).map_config_error(&config::ConfigError { line: 0, ..error }))
            }
        }
    }
}

impl Shell {
    /// Runs a script (see the module's documentation): outputs to stdout; on a failure, the
    /// line (`line N: ` and its prompt), the caret and the message to stderr, and a failure exit
    /// code. When stdout's reader has gone (`| head`), stops quietly: nobody reads what follows.
    pub fn run_script(&mut self, lines: impl IntoIterator<Item = String>) -> ExitCode {
        let mut may_configure = || self.may_configure();
        let plan = match Plan::read(lines, &mut may_configure) {
            Ok(plan) => plan,
            Err(stop) => return report(&stop),
        };
        // Whether a commit is still to come: then a failure now applies nothing.
        let mut pending = !plan.pieces.is_empty();
        for step in &plan.steps {
            let output = match step {
                Step::Exec(line, command) => match self.client.exec(&command.to_string()) {
                    Ok(output) => output,
                    Err(error) => {
                        let error = CliError { column: 0, message: error.to_string(), detail: None };
                        let note = if pending { NOTHING_APPLIED } else { "" };
                        return report(&Stop { line: Some(line.clone()), error, note });
                    }
                },
                Step::Commit => match self.client.configure(&plan.text) {
                    Ok(()) => {
                        pending = false;
                        String::new()
                    }
                    Err(error) => return report(&plan.refusal(error)),
                },
                Step::SessionLines { line, session, name, text } => {
                    match self.client.session_lines(name, text) {
                        Ok(()) => String::new(),
                        Err(error) => {
                            let error = match error {
                                ClientError::Rejected { message, line, column, expected, .. } => session
                                    .map_config_error(&config::ConfigError {
                                        line,
                                        column,
                                        message,
                                        expected,
                                    }),
                                other => CliError { column: 0, message: other.to_string(), detail: None },
                            };
                            let note = if pending { NOTHING_APPLIED } else { "" };
                            return report(&Stop { line: Some(line.clone()), error, note });
                        }
                    }
                }
                Step::SessionOp(line, name, op) => match self.session_op(name, *op) {
                    Ok(output) => output,
                    Err(said) => {
                        let note = if pending { NOTHING_APPLIED } else { "" };
                        return report_said(line, &said, note);
                    }
                },
            };
            if emit(&output).is_err() {
                break;
            }
        }
        ExitCode::SUCCESS
    }
}

/// Prints a refusal already worded (`% …` lines) under its line, to stderr, and fails.
fn report_said(line: &Line, said: &str, note: &str) -> ExitCode {
    let text = config::redact_line(line.text.trim_end());
    let mut out = format!("line {}: {}{text}\n{said}", line.number, line.prompt);
    if !note.is_empty() {
        out.push('\n');
        out.push_str(note);
    }
    eprintln!("{out}");
    ExitCode::FAILURE
}

/// Prints why the script stopped, to stderr, and fails.
fn report(stop: &Stop) -> ExitCode {
    let mut out = String::new();
    let prefix_len = match &stop.line {
        Some(line) => {
            let prefix = format!("line {}: {}", line.number, line.prompt);
            // The line is echoed above the caret: never with a password in it.
            out.push_str(&format!("{prefix}{}\n", config::redact_line(line.text.trim_end())));
            prefix.chars().count()
        }
        None => 0,
    };
    out.push_str(&stop.error.render(prefix_len));
    if !stop.note.is_empty() {
        out.push('\n');
        out.push_str(stop.note);
    }
    eprintln!("{out}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(script: &str) -> Result<Plan, Box<Stop>> {
        Plan::read(script.lines().map(str::to_owned), &mut || true)
    }

    fn exec_lines(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|step| match step {
                Step::Exec(line, _) => format!("{}:{}", line.number, line.text),
                Step::Commit => "commit".to_owned(),
                Step::SessionLines { line, name, .. } => format!("{}:{name}+", line.number),
                Step::SessionOp(line, name, op) => format!("{}:{name}:{op:?}", line.number),
            })
            .collect()
    }

    #[test]
    fn configuration_is_one_text_committed_after_its_last_line() {
        let plan = read(
            "show module\nconfigure terminal\nvlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n  do show module\n  state enabled\nend\nshow port-profile brief",
        )
        .unwrap();
        assert_eq!(
            exec_lines(&plan),
            ["1:show module", "6:  do show module", "commit", "9:show port-profile brief"]
        );
        assert_eq!(
            plan.text,
            "vlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n  state enabled\n"
        );
        let numbers: Vec<(usize, usize, usize, usize)> =
            plan.pieces.iter().map(|p| (p.line.number, p.first, p.count, p.skipped)).collect();
        assert_eq!(numbers, [(3, 1, 1, 0), (4, 2, 1, 0), (5, 3, 1, 1), (7, 4, 1, 1)]);
        // An abbreviated header is not the session's own: it is repeated once, then kept.
        let plan = read("configure terminal\nport-prof type veth web\nstate enabled\nno shutdown").unwrap();
        assert_eq!(
            plan.text,
            "port-prof type veth web\nport-profile type vethernet web\n  state enabled\n  no shutdown\n"
        );
    }

    #[test]
    fn a_line_that_does_not_parse_stops_the_script_before_anything_runs() {
        let stop =
            read("show module\nconfigure terminal\nvlan 100\nswitchport acces vlan 7\nend").unwrap_err();
        let line = stop.line.unwrap();
        assert_eq!((line.number, line.prompt.as_str()), (4, "switch(config-vlan)# "));
        assert_eq!(stop.note, NOTHING_RAN);
        assert!(stop.error.column > 0);
    }

    #[test]
    fn a_read_only_account_stops_at_configure_terminal() {
        let stop =
            Plan::read(["show module", "configure terminal"].map(str::to_owned), &mut || false).unwrap_err();
        assert_eq!(stop.line.unwrap().number, 2);
        assert!(stop.error.message.contains("network-operator"), "{:?}", stop.error);
    }

    #[test]
    fn session_lines_and_operations_run_in_order_outside_the_scripts_transaction() {
        let plan = read("configure session s1\nvlan 100\nverify\ncommit\nconfigure terminal\nvlan 200\nend")
            .unwrap();
        assert_eq!(exec_lines(&plan), ["1:s1:Open", "2:s1+", "3:s1:Verify", "4:s1:Commit", "commit"]);
        assert_eq!(plan.text, "vlan 200\n");
        let stop = Plan::read(["configure session s1".to_owned()], &mut || false).unwrap_err();
        assert_eq!(stop.line.unwrap().number, 1);
    }

    #[test]
    fn exit_ends_the_script() {
        let plan = read("show module\nexit\nconfigure terminal\nvlan 100").unwrap();
        assert_eq!(exec_lines(&plan), ["1:show module"]);
        assert!(plan.text.is_empty());
    }

    #[test]
    fn the_supervisors_refusal_names_the_script_line_and_column() {
        let plan = read("configure terminal\nvlan 100\nport-profile type vethernet web\n  switchport access vlan 100\n   inherit port-profile nowhere\nend").unwrap();
        // The text's line 4 is `  inherit port-profile nowhere`, under its header (line 2).
        let error = ClientError::Rejected {
            message: "no port-profile nowhere".to_owned(),
            line: 4,
            column: 24,
            expected: Vec::new(),
            detail: None,
        };
        let stop = plan.refusal(error);
        let line = stop.line.unwrap();
        assert_eq!(line.number, 5);
        assert_eq!(line.text, "   inherit port-profile nowhere");
        // Column 24 of `  inherit …` (the name) is column 25 of what was typed (three spaces).
        assert_eq!(stop.error.column, 25);
        // An error about the header is about the line that entered the sub-mode.
        let header = ClientError::Rejected {
            message: "header".to_owned(),
            line: 2,
            column: 14,
            expected: Vec::new(),
            detail: None,
        };
        let stop = plan.refusal(header);
        assert_eq!((stop.line.unwrap().number, stop.error.column), (3, 14));
        assert_eq!(stop.note, NOTHING_APPLIED);
    }
}
