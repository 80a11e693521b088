//! `switchyard shell`: the NX-OS-style shell. A thin client: the command language (modes,
//! completion, `?`) comes from the `cli` crate; every command runs in the supervisor over REST
//! (`POST /api/v1/exec` for show commands, `POST /api/v1/config` for configuration lines: typed
//! ones one at a time as NX-OS applies them, a script's all at once).
//!
//! Three ways in: interactive (a terminal on stdin, line by line), `-c 'cmd; cmd'`, or a script on
//! stdin. The last two are scripts: read whole first, their configuration applied as one
//! transaction (all or nothing; the `script` module says how); they stop at the first error and
//! exit non-zero.

pub mod client;
mod config_session;
mod interactive;
pub mod login;
mod script;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use cli::{Action, CliError, ExecCommand, Session, SessionMode, SessionOp};
use client::{ClientError, SupervisorClient};

/// The switch name shown in prompts (`switch#`).
pub const HOSTNAME: &str = "switch";

/// How the shell was started.
#[derive(Debug, Clone)]
pub struct ShellOptions {
    /// The supervisors, tried in order (`--supervisor A,B`).
    pub supervisors: agent_api::SupervisorEndpoints,
    /// `-c`: these commands, then exit.
    pub commands: Option<String>,
    /// Who to log in as.
    pub login: login::LoginArgs,
    /// `--ca-cert`: the CA to trust for `https://`.
    pub ca_cert: Option<PathBuf>,
}

/// Runs the shell against the supervisors of `options` (the first that answers).
pub fn main(options: &ShellOptions) -> anyhow::Result<ExitCode> {
    let mut client = SupervisorClient::with_endpoints(&options.supervisors);
    if options.supervisors.scheme() == agent_api::Scheme::Https {
        let Some(ca) = login::ca_cert(options.ca_cert.as_deref(), &options.login.data_dir) else {
            anyhow::bail!(
                "no CA certificate to check {} with: give --ca-cert FILE (the supervisor's <data-dir>/tls/ca.pem)",
                options.supervisors
            );
        };
        client = client.with_ca_cert(&ca)?;
    }
    if let Some(login) = login::resolve(&options.login)? {
        client = client.with_login(login);
    }
    let mut shell = Shell::with_client(client);
    let code = if let Some(commands) = &options.commands {
        Ok(shell.run_script(commands.split([';', '\n']).map(|c| c.trim().to_owned())))
    } else if std::io::stdin().is_terminal() {
        interactive::run(&mut shell)
    } else {
        let lines = std::io::stdin().lock().lines().map_while(Result::ok);
        Ok(shell.run_script(lines))
    };
    shell.client.logout();
    code
}

/// What one line led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Print this (possibly empty) output and go on.
    Output(String),
    /// The line was refused; print this (caret, `% message`) and, in a script, stop.
    Refused(String),
    /// `exit` in exec mode: leave the shell.
    Quit,
}

/// A session with a supervisor: the mode state plus the REST client.
#[derive(Debug)]
pub struct Shell {
    session: Session,
    client: SupervisorClient,
}

impl Shell {
    pub fn new(url: &str) -> Self {
        Self::with_client(SupervisorClient::new(url))
    }

    /// A session over a client set up already (login, CA).
    pub fn with_client(client: SupervisorClient) -> Self {
        Self { session: Session::new(HOSTNAME), client }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn prompt(&self) -> String {
        self.session.prompt()
    }

    /// Runs one typed line.
    pub fn run_line(&mut self, line: &str) -> Outcome {
        let prompt_len = self.prompt().chars().count();
        let refused = |err: &CliError| Outcome::Refused(err.render(prompt_len));
        let was_exec = matches!(self.session.mode(), SessionMode::Exec);
        match self.session.interpret(line) {
            Err(err) => refused(&err),
            Ok(Action::ModeChanged) if was_exec && !self.may_configure() => {
                // As NX-OS does: a read-only role does not get into configuration mode.
                self.session = Session::new(HOSTNAME);
                Outcome::Refused(read_only_error().to_string())
            }
            Ok(Action::ConfigSession { op: SessionOp::Open, .. }) if !self.may_configure() => {
                self.session.session_failed();
                Outcome::Refused(read_only_error().to_string())
            }
            Ok(Action::Nothing | Action::ModeChanged) => Outcome::Output(String::new()),
            Ok(Action::Exec(ExecCommand::Exit)) => Outcome::Quit,
            Ok(Action::Exec(command)) => match self.client.exec(&command.to_string()) {
                Ok(out) => Outcome::Output(out),
                Err(err) => Outcome::Refused(format!("% {err}")),
            },
            Ok(Action::Config { text }) => {
                let result = self.client.configure(&text);
                self.config_outcome(result, prompt_len)
            }
            Ok(Action::SessionConfig { session, text }) => {
                let result = self.client.session_lines(&session, &text);
                self.config_outcome(result, prompt_len)
            }
            Ok(Action::ConfigSession { name, op }) => match self.session_op(&name, op) {
                Ok(out) => Outcome::Output(out),
                Err(err) => {
                    self.session.session_failed();
                    Outcome::Refused(err)
                }
            },
        }
    }

    /// What became of configuration text sent for the last line: nothing to print, or the
    /// refusal mapped onto the line (and the session back in the mode before it).
    fn config_outcome(&mut self, result: Result<(), ClientError>, prompt_len: usize) -> Outcome {
        match result {
            Ok(()) => Outcome::Output(String::new()),
            Err(ClientError::Rejected { message, line, column, expected, .. }) => {
                self.session.config_failed();
                let err = config::ConfigError { line, column, message, expected };
                Outcome::Refused(self.session.map_config_error(&err).render(prompt_len))
            }
            Err(err) => {
                self.session.config_failed();
                Outcome::Refused(format!("% {err}"))
            }
        }
    }

    /// Whether the account may enter configuration mode: not a network-operator (an unknown role
    /// may; the supervisor refuses each change it may not make anyway).
    fn may_configure(&self) -> bool {
        self.client.role().is_none_or(|role| role != "network-operator")
    }
}

/// A read-only account asked for configuration mode.
fn read_only_error() -> CliError {
    CliError {
        column: 0,
        message: "Permission denied for the role (network-operator is read-only)".to_owned(),
        detail: None,
    }
}
