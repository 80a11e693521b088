//! The shell's side of configuration sessions (`configure session NAME` … `verify` / `commit` /
//! `abort`): each is one REST call to the supervisor, which keeps the session.

use cli::SessionOp;

use super::Shell;
use super::client::ClientError;

impl Shell {
    /// Runs a configuration session operation: its output, or what to print when refused.
    pub(super) fn session_op(&self, name: &str, op: SessionOp) -> Result<String, String> {
        let client = &self.client;
        match op {
            SessionOp::Open => client.open_session(name).map(|()| String::new()).map_err(|e| refusal("", &e)),
            SessionOp::Verify => client
                .verify_session(name)
                .map(|()| "Verification Successful\n".to_owned())
                .map_err(|e| refusal("Verification Failed: ", &e)),
            SessionOp::Commit => client
                .commit_session(name)
                .map(|()| "Commit Successful\n".to_owned())
                .map_err(|e| refusal("Commit Failed: ", &e)),
            SessionOp::Abort => {
                client.abort_session(name).map(|()| String::new()).map_err(|e| refusal("", &e))
            }
        }
    }
}

/// `% Verification Failed: reason`, then the session line it is about (`% line 3:   …`), as the
/// supervisor quoted it.
fn refusal(what: &str, error: &ClientError) -> String {
    match error {
        ClientError::Rejected { message, detail: Some(detail), .. } => {
            format!("% {what}{message}\n% {detail}")
        }
        other => format!("% {what}{other}"),
    }
}
