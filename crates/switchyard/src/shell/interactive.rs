//! The interactive shell: rustyline with history, tab completion and NX-OS's `?` help, all
//! answered by the session's grammar (the `cli` crate) without a round trip to the supervisor.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use cli::{Candidate, Session};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Context, Editor, Event, EventContext, EventHandler,
    KeyEvent, RepeatCount,
};
use rustyline::{Helper, Highlighter, Hinter, Validator};

use super::{Outcome, Shell};
use crate::stdout::emit;

/// The session as the editor's helpers see it: a copy refreshed after every line.
type SharedSession = Arc<Mutex<Session>>;

pub fn run(shell: &mut Shell) -> anyhow::Result<ExitCode> {
    let session: SharedSession = Arc::new(Mutex::new(shell.session().clone()));
    // Tab completes a unique word; a second Tab lists the choices, as NX-OS and bash do.
    let settings =
        rustyline::Config::builder().completion_type(CompletionType::List).auto_add_history(false).build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(settings)?;
    editor.set_helper(Some(ShellHelper { session: session.clone() }));
    editor.bind_sequence(
        KeyEvent::from('?'),
        EventHandler::Conditional(Box::new(HelpKey { session: session.clone() })),
    );
    let history = history_file();
    if let Some(file) = &history {
        let _ = editor.load_history(file);
    }

    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    // The history file keeps no password.
                    let _ = editor.add_history_entry(config::redact_line(&line));
                }
                let written = match shell.run_line(&line) {
                    Outcome::Output(out) => emit(&out),
                    Outcome::Refused(err) => emit(&format!("{err}\n")),
                    Outcome::Quit => break,
                };
                // Stdout went away (`switchyard shell | head`): nobody reads on.
                if written.is_err() {
                    break;
                }
                *session.lock().unwrap_or_else(PoisonError::into_inner) = shell.session().clone();
            }
            Err(ReadlineError::Interrupted) => {}
            Err(ReadlineError::Eof) => break,
            Err(err) => return Err(err.into()),
        }
    }
    if let Some(file) = &history {
        let _ = editor.save_history(file);
    }
    Ok(ExitCode::SUCCESS)
}

/// `~/.switchyard_history`, when there is a home.
fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".switchyard_history"))
}

#[derive(Helper, Hinter, Highlighter, Validator)]
struct ShellHelper {
    session: SharedSession,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, candidates) = session.complete(line, pos);
        let pairs = candidates
            .into_iter()
            .map(|c| Pair { display: c.word.clone(), replacement: format!("{} ", c.word) })
            .collect();
        Ok((start, pairs))
    }
}

/// `?` anywhere on the line lists what may come next, as NX-OS does, and leaves the line as it
/// was.
struct HelpKey {
    session: SharedSession,
}

impl ConditionalEventHandler for HelpKey {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let before = &ctx.line()[..ctx.pos()];
        let text = render_help(&session.help(before));
        // The terminal is in raw mode: end lines with \r\n.
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "?\r\n{}", text.replace('\n', "\r\n"));
        let _ = out.flush();
        Some(Cmd::Repaint)
    }
}

/// NX-OS's `?` listing: the word, padded, then its help; `% Invalid command` when nothing fits.
pub fn render_help(candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        return "% Invalid command\n".to_owned();
    }
    let width = candidates.iter().map(|c| c.word.chars().count()).max().unwrap_or(0).max(18);
    candidates.iter().map(|c| format!("  {:<width$}  {}\n", c.word, c.help)).collect()
}
