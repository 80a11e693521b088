//! One shell session: the mode it is in, its prompt, and what each typed line means.
//!
//! The session never talks to the supervisor. [`Session::interpret`] turns a line into an
//! [`Action`]: run an exec command, or post configuration text. A configuration line is sent as
//! text that means, on its own, what the line means in the current mode: in a sub-mode, the
//! sub-mode's header followed by the line indented under it. So the supervisor applies every
//! line statelessly with [`config::apply()`], and the session only keeps the header.

use config::grammar::{self, Candidate, MatchError, MatchErrorKind, Word};
use config::language::{self, Mode, Op, Scope, Statement};
use config::{ConfigError, ProfileType};

use crate::error::CliError;
use crate::exec::{self, EXEC_MODE, ExecCommand, IN_CONFIG_MODE, IN_INTERFACE_MODE};

/// Where the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionMode {
    /// `switch#`
    Exec,
    /// `switch(config)#`
    Config,
    /// `switch(config-vlan)#`, under `header` (`vlan 100-109`).
    Vlan { header: String },
    /// `switch(config-bd)#`, under `header` (`bridge-domain red`).
    BridgeDomain { header: String },
    /// `switch(config-port-prof)#`, under `header` (`port-profile type vethernet web`).
    PortProfile { header: String },
    /// A policy object's sub-mode (`config-acl`, `config-ipv6-acl`, `config-flow-exporter`,
    /// `config-flow-monitor`), under `header` (`ip access-list WEB-IN`).
    Policy { mode: Mode, header: String },
    /// `switch(config-if)#`, under `interface vethernet N`: its `shutdown` / `no shutdown` are
    /// exec commands the supervisor runs at once (they change a port's state, not the config).
    Interface { number: u32 },
}

impl SessionMode {
    /// The configuration mode whose commands apply; `None` in exec mode and in the interface
    /// sub-mode (whose commands are exec commands).
    fn config_mode(&self) -> Option<Mode> {
        match self {
            Self::Exec | Self::Interface { .. } => None,
            Self::Config => Some(Mode::Config),
            Self::Vlan { .. } => Some(Mode::Vlan),
            Self::BridgeDomain { .. } => Some(Mode::BridgeDomain),
            Self::PortProfile { .. } => Some(Mode::PortProfile),
            Self::Policy { mode, .. } => Some(*mode),
        }
    }

    fn header(&self) -> Option<&str> {
        match self {
            Self::Vlan { header }
            | Self::BridgeDomain { header }
            | Self::PortProfile { header }
            | Self::Policy { header, .. } => Some(header),
            Self::Exec | Self::Config | Self::Interface { .. } => None,
        }
    }
}

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do: a blank line or a `!` comment.
    Nothing,
    /// The mode changed (`configure terminal`, `end`, `exit`); show the new prompt.
    ModeChanged,
    /// Run an exec command (a `show`, in any mode, with or without `do`). In exec mode,
    /// [`ExecCommand::Exit`] means: leave the shell.
    Exec(ExecCommand),
    /// Post this NX-OS configuration text to the supervisor (`POST /api/v1/config`). If it is
    /// rejected, call [`Session::config_failed`] and show [`Session::map_config_error`].
    Config { text: String },
    /// In configuration session `session`: record this text in it, unapplied
    /// (`POST /api/v1/config/sessions/{session}/lines`); refusals as for [`Action::Config`].
    SessionConfig { session: String, text: String },
    /// Open, verify, commit or abort configuration session `name`. The mode has changed
    /// already (into the session for `Open`, to exec mode for `Commit` and `Abort`); if the
    /// supervisor refuses, call [`Session::session_failed`].
    ConfigSession { name: String, op: SessionOp },
}

/// What to do with a configuration session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOp {
    /// `configure session NAME`: make it or enter it.
    Open,
    /// `verify`: check it against the running config.
    Verify,
    /// `commit`: apply it as one transaction; it ends.
    Commit,
    /// `abort`: discard it.
    Abort,
}

/// How the last configuration text was built from the user's line, to map errors back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    /// Line of the text that holds the user's line (1, or 2 under a header).
    line: usize,
    /// The user's line's first word is at this column in the text…
    text_column: usize,
    /// …and at this column in what the user typed.
    user_column: usize,
    /// The mode before the line, restored if the supervisor rejects it.
    previous: SessionMode,
}

/// A shell session: host name, mode, and the last configuration text sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    hostname: String,
    mode: SessionMode,
    sent: Option<Sent>,
    /// The configuration session lines go to (`configure session NAME`), while in one.
    config_session: Option<String>,
    /// Mode and configuration session before the last [`Action::ConfigSession`].
    before_session_op: Option<(SessionMode, Option<String>)>,
}

/// Indentation of a sub-mode line under its header in the text sent.
const INDENT: &str = "  ";
/// The interface sub-mode's prompt name (NX-OS's).
const INTERFACE_PROMPT: &str = "config-if";
/// The word that runs an exec command from a configuration mode.
const DO: &str = "do";
const DO_HELP: &str = "Run an exec command (do show …)";

impl Session {
    /// A session in exec mode.
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            mode: SessionMode::Exec,
            sent: None,
            config_session: None,
            before_session_op: None,
        }
    }

    /// The configuration session configuration lines go to, while in one.
    pub fn config_session(&self) -> Option<&str> {
        self.config_session.as_deref()
    }

    /// The supervisor refused the last [`Action::ConfigSession`]: back to where the session
    /// was before it.
    pub fn session_failed(&mut self) {
        if let Some((mode, config_session)) = self.before_session_op.take() {
            self.mode = mode;
            self.config_session = config_session;
        }
    }

    /// The current mode.
    pub fn mode(&self) -> &SessionMode {
        &self.mode
    }

    /// The prompt, with its trailing space: `switch# `, `switch(config)# `,
    /// `switch(config-vlan)# `, `switch(config-bd)# `, `switch(config-port-prof)# `,
    /// `switch(config-if)# `; in a
    /// configuration session `switch(config-s)# `, `switch(config-s-port-prof)# `, as NX-OS. Its
    /// length in characters is the `prompt_len` of [`crate::caret`].
    pub fn prompt(&self) -> String {
        if let SessionMode::Interface { .. } = self.mode {
            return format!("{}({INTERFACE_PROMPT})# ", self.hostname);
        }
        match (self.mode.config_mode(), &self.config_session) {
            (None, _) => format!("{}# ", self.hostname),
            (Some(mode), None) => format!("{}({})# ", self.hostname, mode.prompt_name()),
            (Some(mode), Some(_)) => {
                let name = mode.prompt_name();
                let rest = name.strip_prefix("config").unwrap_or(name);
                format!("{}(config-s{rest})# ", self.hostname)
            }
        }
    }

    /// Interprets one typed line in the current mode (see [`Action`]).
    pub fn interpret(&mut self, line: &str) -> Result<Action, CliError> {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('!') {
            return Ok(Action::Nothing);
        }
        if let SessionMode::Interface { number } = self.mode {
            return self.interpret_in_interface(number, line);
        }
        let Some(mode) = self.mode.config_mode() else {
            let command = exec::parse_in(EXEC_MODE, line).map_err(|e| CliError::from_match(&e, e.column))?;
            return Ok(self.exec_action(command));
        };
        let words = grammar::split_words(line);
        if let Some(rest) = do_rest(line, &words) {
            return self.do_command(&rest);
        }
        let exec_error = match exec::parse_in(IN_CONFIG_MODE, line) {
            Ok(command @ (ExecCommand::Verify | ExecCommand::Commit | ExecCommand::Abort)) => {
                return self.session_op(&command, &words);
            }
            Ok(ExecCommand::InterfaceVethernet { number }) => return self.enter_interface(number, &words),
            Ok(command) => return Ok(self.exec_action(command)),
            Err(e) => e,
        };
        match language::parse_line(Scope::Typed(mode), line) {
            Ok(statement) => {
                // `sh` alone: a complete `shutdown`, or the start of a `show` command?
                if exec_error.kind == MatchErrorKind::Incomplete
                    && let Some(error) = self.ambiguous_first_word(&words)
                {
                    return Err(error);
                }
                Ok(self.config_action(&statement, line, &words))
            }
            Err(config_error) => {
                // Report whichever reading got further into the line.
                let e = furthest(exec_error, config_error);
                Err(CliError::from_match(&e, e.column))
            }
        }
    }

    /// A line in `interface vethernet N`'s sub-mode: `shutdown` / `no shutdown` (sent as
    /// `interface vethernet N [no] shutdown`), `do …`, `show …`, `exit`, `end`, another
    /// `interface vethernet M`; anything else is read as a global configuration line, which
    /// leaves the sub-mode as in NX-OS.
    fn interpret_in_interface(&mut self, number: u32, line: &str) -> Result<Action, CliError> {
        let words = grammar::split_words(line);
        if let Some(rest) = do_rest(line, &words) {
            return self.do_command(&rest);
        }
        let interface_error = match exec::parse_in(IN_INTERFACE_MODE, line) {
            Ok(ExecCommand::InterfaceVethernetShutdown { shutdown, .. }) => {
                return Ok(Action::Exec(ExecCommand::InterfaceVethernetShutdown { number, shutdown }));
            }
            Ok(ExecCommand::InterfaceVethernet { number }) => return self.enter_interface(number, &words),
            Ok(command) => return Ok(self.exec_action(command)),
            Err(e) => e,
        };
        // A line whose first word the sub-mode does not know may be a global configuration
        // line: read it in configuration mode (leaving the sub-mode), and stay here if it fails.
        let first_column = words.first().map_or(1, |w| w.column);
        if interface_error.kind != MatchErrorKind::Invalid || interface_error.column != first_column {
            return Err(CliError::from_match(&interface_error, interface_error.column));
        }
        let before = self.mode.clone();
        self.mode = SessionMode::Config;
        self.interpret(line).inspect_err(|_| self.mode = before)
    }

    /// `do LINE` in a configuration mode: LINE as an exec command the supervisor runs; mode
    /// commands (`do configure terminal`) do nothing.
    fn do_command(&self, rest: &DoRest<'_>) -> Result<Action, CliError> {
        match exec::parse_in(EXEC_MODE, rest.text) {
            Ok(command) if command.is_show() => Ok(Action::Exec(command)),
            Ok(_) => Ok(Action::Nothing),
            Err(e) => Err(CliError::from_match(&e, e.column + rest.shift)),
        }
    }

    /// In configuration modes a line is read as an exec command and as a configuration
    /// command; each grammar only sees its own keywords, so an abbreviation that is unique in
    /// each but not across both (`sh`: `show` or `shutdown`) is caught here. Only called when
    /// the line is both a complete configuration command and the start of an exec command;
    /// `sh run` is unambiguous as a whole line.
    fn ambiguous_first_word(&self, words: &[Word<'_>]) -> Option<CliError> {
        let first = words.first()?;
        let lower = first.text.to_ascii_lowercase();
        let keywords: Vec<String> =
            self.help(first.text).into_iter().map(|c| c.word).filter(|w| is_keyword(w)).collect();
        if keywords.len() < 2 || keywords.contains(&lower) {
            return None;
        }
        let error = MatchError {
            kind: MatchErrorKind::Ambiguous,
            column: first.column,
            message: format!("ambiguous word '{}'", first.text),
            expected: keywords,
        };
        Some(CliError::from_match(&error, first.column))
    }

    /// `verify`, `commit`, `abort`: only in a configuration session.
    fn session_op(&mut self, command: &ExecCommand, words: &[Word<'_>]) -> Result<Action, CliError> {
        let Some(name) = self.config_session.clone() else {
            let column = words.first().map_or(1, |w| w.column);
            return Err(CliError {
                column,
                message: "Invalid command at '^' marker.".to_owned(),
                detail: Some(format!("'{command}' is for configuration sessions (configure session NAME)")),
            });
        };
        let op = match command {
            ExecCommand::Verify => SessionOp::Verify,
            ExecCommand::Commit => SessionOp::Commit,
            _ => SessionOp::Abort,
        };
        self.before_session_op = Some((self.mode.clone(), self.config_session.clone()));
        if op != SessionOp::Verify {
            self.mode = SessionMode::Exec;
            self.config_session = None;
        }
        Ok(Action::ConfigSession { name, op })
    }

    fn exec_action(&mut self, command: ExecCommand) -> Action {
        if let (ExecCommand::ConfigureSession { name }, SessionMode::Exec) = (&command, &self.mode) {
            self.before_session_op = Some((self.mode.clone(), self.config_session.clone()));
            self.mode = SessionMode::Config;
            self.config_session = Some(name.clone());
            return Action::ConfigSession { name: name.clone(), op: SessionOp::Open };
        }
        let next = match (&command, &self.mode) {
            (ExecCommand::ConfigureTerminal, SessionMode::Exec) => SessionMode::Config,
            (ExecCommand::End, _) => SessionMode::Exec,
            (ExecCommand::Exit, SessionMode::Exec) => return Action::Exec(command),
            (ExecCommand::Exit, SessionMode::Config) => SessionMode::Exec,
            (ExecCommand::Exit, _) => SessionMode::Config,
            (ExecCommand::ConfigureTerminal, _) => return Action::Nothing,
            _ => return Action::Exec(command),
        };
        let changed = next != self.mode;
        if next == SessionMode::Exec {
            // The configuration session stays on the supervisor, to be entered again.
            self.config_session = None;
        }
        self.mode = next;
        if changed { Action::ModeChanged } else { Action::Nothing }
    }

    /// `interface vethernet N`: into its sub-mode. Outside configuration sessions only: its
    /// commands act at once, which a session (applied at `commit`) would belie.
    fn enter_interface(&mut self, number: u32, words: &[Word<'_>]) -> Result<Action, CliError> {
        if self.config_session.is_some() {
            return Err(CliError {
                column: words.first().map_or(1, |w| w.column),
                message: "Invalid command at '^' marker.".to_owned(),
                detail: Some(
                    "'interface vethernet N' acts at once: use it in configure terminal, not in a configuration session"
                        .to_owned(),
                ),
            });
        }
        let next = SessionMode::Interface { number };
        let changed = next != self.mode;
        self.mode = next;
        Ok(if changed { Action::ModeChanged } else { Action::Nothing })
    }

    fn config_action(&mut self, st: &Statement, line: &str, words: &[Word<'_>]) -> Action {
        let previous = self.mode.clone();
        let user_column = words.first().map_or(1, |w| w.column);
        let trimmed = line.trim();
        match st.op {
            // `end`/`exit` are caught as exec commands first; kept for completeness.
            Op::End => return self.exec_action(ExecCommand::End),
            Op::Exit => return self.exec_action(ExecCommand::Exit),
            Op::ConfigureTerminal => return Action::Nothing,
            _ => {}
        }
        let sub_mode_line = st.mode != Mode::Config;
        let text = match (sub_mode_line, self.mode.header()) {
            (true, Some(header)) => {
                self.sent = Some(Sent { line: 2, text_column: INDENT.len() + 1, user_column, previous });
                format!("{header}\n{INDENT}{trimmed}\n")
            }
            _ => {
                self.mode = match st.enters() {
                    Some(Mode::Vlan) => SessionMode::Vlan { header: vlan_header(st) },
                    Some(Mode::BridgeDomain) => SessionMode::BridgeDomain {
                        header: format!("bridge-domain {}", st.text(0).unwrap_or_default()),
                    },
                    Some(Mode::PortProfile) => SessionMode::PortProfile { header: profile_header(st) },
                    Some(
                        mode @ (Mode::IpAccessList
                        | Mode::Ipv6AccessList
                        | Mode::FlowExporter
                        | Mode::FlowMonitor
                        | Mode::IpPool),
                    ) => SessionMode::Policy { mode, header: policy_header(st) },
                    Some(Mode::Config) | None => SessionMode::Config,
                };
                self.sent = Some(Sent { line: 1, text_column: 1, user_column, previous });
                format!("{trimmed}\n")
            }
        };
        match &self.config_session {
            Some(session) => Action::SessionConfig { session: session.clone(), text },
            None => Action::Config { text },
        }
    }

    /// The supervisor rejected the last [`Action::Config`]: go back to the mode the session was
    /// in before that line (a failed `port-profile …` does not enter the sub-mode).
    pub fn config_failed(&mut self) {
        if let Some(sent) = self.sent.take() {
            self.mode = sent.previous;
        }
    }

    /// Maps the supervisor's error about the last [`Action::Config`] text back onto the user's
    /// line: the column moves from the text (where the line may sit indented under a header)
    /// to what the user typed. Errors about another line of the text (the header) have no
    /// column.
    pub fn map_config_error(&self, err: &ConfigError) -> CliError {
        let mut message = err.message.clone();
        if !err.expected.is_empty() {
            message.push_str(": expected ");
            message.push_str(&config::error::alternatives(&err.expected));
        }
        let column = match &self.sent {
            Some(sent) if err.line == sent.line && err.column >= sent.text_column => {
                err.column - sent.text_column + sent.user_column
            }
            _ => 0,
        };
        CliError { column, message, detail: None }
    }

    /// `?` help for `line` (everything typed before the `?`): each word or parameter that may
    /// come next (or that completes the partial last word) with its help; `<cr>` when the line
    /// is already a complete command. Parameters first, then keywords alphabetically, `<cr>`
    /// last, as NX-OS lists them. Empty when the line is already invalid.
    pub fn help(&self, line: &str) -> Vec<Candidate> {
        let words = grammar::split_words(line);
        let interface = matches!(self.mode, SessionMode::Interface { .. });
        let mut out = match self.mode.config_mode() {
            None if !interface => grammar::help(EXEC_MODE, line),
            _ if do_rest(line, &words).is_some() => {
                let rest = do_rest(line, &words).map_or("", |r| r.text);
                grammar::help(EXEC_MODE, rest)
            }
            mode => {
                let mut out = match mode {
                    Some(mode) => {
                        let mut out = language::help(mode, line);
                        merge(&mut out, grammar::help(IN_CONFIG_MODE, line));
                        out
                    }
                    None => grammar::help(IN_INTERFACE_MODE, line),
                };
                let at_start = words.len() <= 1 && !line.ends_with(char::is_whitespace);
                if (at_start || line.trim().is_empty()) && DO.starts_with(&line.trim().to_ascii_lowercase()) {
                    merge(&mut out, vec![candidate(DO, DO_HELP)]);
                }
                out
            }
        };
        sort_nx_os(&mut out);
        out
    }

    /// Tab completion of the word under the cursor (`pos` is a byte offset in `line`): the byte
    /// offset where that word starts and the keywords that complete it, alphabetically.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<Candidate>) {
        let mut pos = pos.min(line.len());
        while !line.is_char_boundary(pos) {
            pos -= 1;
        }
        let before = &line[..pos];
        let start =
            before.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(i, c)| i + c.len_utf8());
        let candidates = self.help(before).into_iter().filter(|c| is_keyword(&c.word)).collect();
        (start, candidates)
    }
}

/// The text after a leading `do`, and how far its columns are shifted in the line.
struct DoRest<'a> {
    text: &'a str,
    shift: usize,
}

fn do_rest<'a>(line: &'a str, words: &[Word<'_>]) -> Option<DoRest<'a>> {
    let first = words.first()?;
    if !first.text.eq_ignore_ascii_case(DO) {
        return None;
    }
    let start = first.start + first.text.len();
    if words.len() == 1 && !line[start..].starts_with(char::is_whitespace) {
        return None; // just "do" being typed: not yet a prefix
    }
    let shift = line[..start].chars().count();
    Some(DoRest { text: &line[start..], shift })
}

fn furthest(a: MatchError, b: MatchError) -> MatchError {
    if a.column > b.column { a } else { b }
}

fn vlan_header(st: &Statement) -> String {
    match st.vlans(0) {
        Some(ids) => format!("vlan {ids}"),
        None => "vlan".to_string(),
    }
}

/// `ip access-list NAME`, `ipv6 access-list NAME`, `flow exporter NAME`, `flow monitor NAME`.
fn policy_header(st: &Statement) -> String {
    let name = st.text(0).unwrap_or_default();
    match st.op {
        Op::AccessList(family) => format!("{} access-list {name}", family.keyword()),
        Op::FlowExporter => format!("flow exporter {name}"),
        Op::IpPool => format!("ip pool {name}"),
        _ => format!("flow monitor {name}"),
    }
}

fn profile_header(st: &Statement) -> String {
    let name = st.text(0).unwrap_or_default();
    match st.op {
        Op::PortProfile(Some(ProfileType::Ethernet)) => {
            format!("port-profile type ethernet {name}")
        }
        Op::PortProfile(Some(ProfileType::Vethernet)) => {
            format!("port-profile type vethernet {name}")
        }
        _ => format!("port-profile {name}"),
    }
}

fn candidate(word: &str, help: &str) -> Candidate {
    Candidate { word: word.to_string(), help: help.to_string() }
}

fn merge(into: &mut Vec<Candidate>, more: Vec<Candidate>) {
    for c in more {
        if !into.iter().any(|have| have.word == c.word) {
            into.push(c);
        }
    }
}

/// A completable keyword, as opposed to `<1-4094>`, `WORD`, `LINE`, `<cr>`.
fn is_keyword(word: &str) -> bool {
    !word.starts_with('<') && word != "WORD" && word != "LINE"
}

fn sort_nx_os(list: &mut [Candidate]) {
    list.sort_by(|a, b| {
        let rank = |c: &Candidate| match c.word.as_str() {
            "<cr>" => 2,
            w if is_keyword(w) => 1,
            _ => 0,
        };
        rank(a).cmp(&rank(b)).then_with(|| a.word.cmp(&b.word))
    });
}
