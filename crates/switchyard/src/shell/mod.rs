//! `switchyard shell`: the NX-OS-style shell. A thin client: the command language (modes,
//! completion, `?`) comes from the `cli` crate; every command runs in the supervisor over REST
//! (`POST /api/v1/exec` for show commands, `POST /api/v1/config` for configuration lines, one
//! line at a time as NX-OS applies them).
//!
//! Three ways in: interactive (a terminal on stdin), `-c 'cmd; cmd'`, or a script on stdin. The
//! last two stop at the first error and exit non-zero.

pub mod client;
mod interactive;

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use cli::{Action, CliError, ExecCommand, Session};
use client::{ClientError, SupervisorClient};

use crate::stdout::emit;

/// The switch name shown in prompts (`switch#`).
pub const HOSTNAME: &str = "switch";

/// Runs the shell against the supervisor at `url`.
pub fn main(url: &str, commands: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut shell = Shell::new(url);
    if let Some(commands) = commands {
        return Ok(shell.run_script(commands.split([';', '\n']).map(|c| c.trim().to_owned())));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return interactive::run(shell);
    }
    let lines = stdin.lock().lines().map_while(Result::ok);
    Ok(shell.run_script(lines))
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
        Self { session: Session::new(HOSTNAME), client: SupervisorClient::new(url) }
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
        match self.session.interpret(line) {
            Err(err) => refused(&err),
            Ok(Action::Nothing | Action::ModeChanged) => Outcome::Output(String::new()),
            Ok(Action::Exec(ExecCommand::Exit)) => Outcome::Quit,
            Ok(Action::Exec(command)) => match self.client.exec(&command.to_string()) {
                Ok(out) => Outcome::Output(out),
                Err(err) => Outcome::Refused(format!("% {err}")),
            },
            Ok(Action::Config { text }) => match self.client.configure(&text) {
                Ok(()) => Outcome::Output(String::new()),
                Err(ClientError::Rejected { message, line, column, expected }) => {
                    self.session.config_failed();
                    let err = config::ConfigError { line, column, message, expected };
                    refused(&self.session.map_config_error(&err))
                }
                Err(err) => {
                    self.session.config_failed();
                    Outcome::Refused(format!("% {err}"))
                }
            },
        }
    }

    /// Runs lines without a terminal: outputs to stdout; at the first refused line, the line
    /// (after its prompt), the caret and the message to stderr, and a failure exit code. When
    /// stdout's reader has gone (`| head`), stops quietly: nobody reads what follows.
    pub fn run_script(&mut self, lines: impl IntoIterator<Item = String>) -> ExitCode {
        for line in lines {
            let prompt = self.prompt();
            match self.run_line(&line) {
                Outcome::Output(out) => {
                    if emit(&out).is_err() {
                        break;
                    }
                }
                Outcome::Quit => break,
                Outcome::Refused(err) => {
                    eprintln!("{prompt}{}\n{err}", line.trim_end());
                    return ExitCode::FAILURE;
                }
            }
        }
        ExitCode::SUCCESS
    }
}
