//! The shell's view of the supervisor: two REST calls, `POST /api/v1/exec` for show commands and
//! `POST /api/v1/config` for configuration lines. All rendering happens in the supervisor.

use std::time::Duration;

use serde::Deserialize;

/// Why a call to the supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The supervisor refused the input; `column` (1-based) points into what was sent.
    #[error("{message}")]
    Rejected { message: String, line: usize, column: usize, expected: Vec<String> },
    /// The supervisor could not be reached or answered something unexpected.
    #[error("supervisor {url}: {reason}")]
    Transport { url: String, reason: String },
}

/// The JSON error body every REST error carries.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default, deserialize_with = "null_as_default")]
    line: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    column: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    expected: Vec<String>,
}

#[derive(Debug)]
pub struct SupervisorClient {
    base: String,
    http: ureq::Agent,
    /// The network namespace calls are made from (a lab's supervisor namespace), if not this
    /// process's own.
    netns: Option<String>,
}

impl SupervisorClient {
    pub fn new(base: &str) -> Self {
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Self { base: base.trim_end_matches('/').to_owned(), http, netns: None }
    }

    /// The same client, calling from inside the named network namespace (`ip netns` name): each
    /// call runs on a thread that entered it, so a supervisor reachable only there answers.
    pub fn in_netns(mut self, netns: &str) -> Self {
        self.netns = Some(netns.to_owned());
        self
    }

    /// Runs one exec command (`show module`) and returns its rendered output.
    pub fn exec(&self, command: &str) -> Result<String, ClientError> {
        self.post_text("/api/v1/exec", command)
    }

    /// Applies NX-OS configuration text atomically.
    pub fn configure(&self, text: &str) -> Result<(), ClientError> {
        self.post_text("/api/v1/config", text).map(drop)
    }

    fn post_text(&self, path: &str, body: &str) -> Result<String, ClientError> {
        match &self.netns {
            None => self.post_here(path, body),
            Some(netns) => testbed::netns::run_in(netns, || self.post_here(path, body)).unwrap_or_else(|e| {
                Err(ClientError::Transport { url: format!("{}{path}", self.base), reason: format!("{e:#}") })
            }),
        }
    }

    fn post_here(&self, path: &str, body: &str) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let transport = |reason: String| ClientError::Transport { url: url.clone(), reason };
        let mut response = self
            .http
            .post(&url)
            .content_type("text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| transport(e.to_string()))?;
        let status = response.status();
        let text = response.body_mut().read_to_string().map_err(|e| transport(e.to_string()))?;
        if status.is_success() {
            return Ok(text);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(err) if status.is_client_error() => Err(ClientError::Rejected {
                message: err.error,
                line: err.line,
                column: err.column,
                expected: err.expected,
            }),
            Ok(err) => Err(transport(format!("{status}: {}", err.error))),
            Err(_) => Err(transport(format!("{status}: {}", text.trim()))),
        }
    }
}

/// The supervisor sends `null` for fields that do not apply to an error.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
