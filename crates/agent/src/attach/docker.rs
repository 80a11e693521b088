//! Asks the Docker engine, over its Unix socket, which process a container runs as: the one
//! thing `--container` needs. One `GET /containers/NAME/json` per attach.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::AttachError;
use super::http::{Response, get_request, parse_response};

/// The largest answer read: an inspect is a few KiB; anything this big is not one.
const MAX_RESPONSE: u64 = 4 << 20;

/// A Docker engine reached over its Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerEngine {
    socket: PathBuf,
    timeout: Duration,
}

impl DockerEngine {
    /// Where the engine listens unless `DOCKER_HOST` says otherwise.
    pub const DEFAULT_SOCKET: &'static str = "/var/run/docker.sock";

    /// How long one question may take, connecting included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// The engine at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self { socket: socket.into(), timeout: Self::DEFAULT_TIMEOUT }
    }

    /// The engine `DOCKER_HOST` names when it is a `unix://` address, else the default socket:
    /// what the `docker` command would talk to.
    pub fn from_env() -> Self {
        let from_env = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|host| host.strip_prefix("unix://").filter(|path| !path.is_empty()).map(PathBuf::from));
        Self::new(from_env.unwrap_or_else(|| PathBuf::from(Self::DEFAULT_SOCKET)))
    }

    /// The engine's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether the engine answers `GET /_ping` with 200.
    pub async fn ping(&self) -> bool {
        matches!(self.get("/_ping").await, Ok(Response { status: 200, .. }))
    }

    /// The PID of `name`'s main process (its `State.Pid`), whose network namespace is the
    /// container's.
    pub async fn container_pid(&self, name: &str) -> Result<u32, AttachError> {
        validate_container_name(name)?;
        let response = self
            .get(&format!("/containers/{name}/json"))
            .await
            .map_err(|source| AttachError::DockerUnreachable { socket: self.socket.clone(), source })?;
        pid_from_inspect(name, &response)
    }

    /// The name of the container whose endpoint on network `network_id` is `endpoint_id`
    /// (what the Docker plugin shows as a port's owner); `None` when the engine lists none.
    pub async fn container_of_endpoint(
        &self,
        network_id: &str,
        endpoint_id: &str,
    ) -> io::Result<Option<String>> {
        let hex =
            |text: &str| !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(network_id) || !hex(endpoint_id) {
            return Ok(None);
        }
        // filters={"network":["<id>"]}, percent-encoded.
        let path = format!("/containers/json?filters=%7B%22network%22%3A%5B%22{network_id}%22%5D%7D");
        let response = self.get(&path).await?;
        if response.status != 200 {
            return Ok(None);
        }
        let containers: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        Ok(container_with_endpoint(&containers, endpoint_id))
    }

    async fn get(&self, path: &str) -> io::Result<Response> {
        let exchange = async {
            let mut stream = UnixStream::connect(&self.socket).await?;
            stream.write_all(get_request(path).as_bytes()).await?;
            let mut answer = Vec::new();
            (&mut stream).take(MAX_RESPONSE).read_to_end(&mut answer).await?;
            parse_response(&answer).map_err(|problem| io::Error::new(io::ErrorKind::InvalidData, problem))
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| {
            io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {} s", self.timeout.as_secs()))
        })?
    }
}

/// In a `GET /containers/json` answer, the name (without its `/`) of the container one of whose
/// networks has the endpoint `endpoint_id`.
fn container_with_endpoint(containers: &serde_json::Value, endpoint_id: &str) -> Option<String> {
    containers.as_array()?.iter().find_map(|container| {
        let networks = container.pointer("/NetworkSettings/Networks")?.as_object()?;
        let holds = networks
            .values()
            .any(|network| network.get("EndpointID").and_then(|id| id.as_str()) == Some(endpoint_id));
        let name = container.get("Names")?.as_array()?.first()?.as_str()?;
        holds.then(|| name.trim_start_matches('/').to_owned())
    })
}

/// Reads `State.Pid` out of an inspect answer, turning the engine's refusals into errors that
/// name the container.
fn pid_from_inspect(name: &str, response: &Response) -> Result<u32, AttachError> {
    let failed = |message: String| AttachError::DockerFailed {
        name: name.to_owned(),
        status: response.status,
        message,
    };
    let json: serde_json::Value = serde_json::from_slice(&response.body)
        .map_err(|error| failed(format!("the answer is not JSON: {error}")))?;
    match response.status {
        200 => {}
        404 => return Err(AttachError::ContainerNotFound { name: name.to_owned() }),
        _ => {
            let message = json.get("message").and_then(|m| m.as_str()).unwrap_or("no message");
            return Err(failed(message.to_owned()));
        }
    }
    let state = json.get("State").ok_or_else(|| failed("the answer has no State".into()))?;
    let running = state.get("Running").and_then(serde_json::Value::as_bool).unwrap_or(false);
    let pid = state.get("Pid").and_then(serde_json::Value::as_u64).unwrap_or(0);
    match u32::try_from(pid) {
        Ok(pid) if running && pid != 0 => Ok(pid),
        _ => Err(AttachError::ContainerNotRunning { name: name.to_owned() }),
    }
}

/// Docker's own rule for names (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, which ids also match), checked
/// here so the name can go into the request path as it is.
fn validate_container_name(name: &str) -> Result<(), AttachError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid && bare.len() <= 253 {
        Ok(())
    } else {
        Err(AttachError::InvalidName {
            kind: "container name",
            name: name.to_owned(),
            problem: "is invalid (letters, digits, '_', '.', '-'; starting with a letter or digit)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_holding_an_endpoint_is_found_by_it() {
        let listing = serde_json::json!([
            {"Names": ["/other"], "NetworkSettings": {"Networks": {"web": {"EndpointID": "aa"}}}},
            {"Names": ["/alpha"], "NetworkSettings": {"Networks": {"web": {"EndpointID": "bb"}, "x": {}}}},
            {"Names": ["/broken"]},
        ]);
        assert_eq!(container_with_endpoint(&listing, "bb").as_deref(), Some("alpha"));
        assert_eq!(container_with_endpoint(&listing, "cc"), None);
        assert_eq!(container_with_endpoint(&serde_json::json!({"message": "no"}), "bb"), None);
    }

    fn answer(status: u16, body: &str) -> Response {
        Response { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn a_running_container_gives_its_pid() {
        let body = r#"{"Id":"abc","State":{"Status":"running","Running":true,"Pid":4242}}"#;
        assert_eq!(pid_from_inspect("web1", &answer(200, body)).expect("pid"), 4242);
    }

    #[test]
    fn refusals_name_the_container() {
        let cases = [
            (answer(404, r#"{"message":"No such container: web1"}"#), "container 'web1' not found (docker)"),
            (
                answer(200, r#"{"State":{"Running":false,"Pid":0}}"#),
                "container 'web1' is not running (docker)",
            ),
            (
                answer(500, r#"{"message":"oops"}"#),
                "the Docker engine answered 500 for container 'web1': oops",
            ),
        ];
        for (response, message) in cases {
            let error = pid_from_inspect("web1", &response).expect_err(message);
            assert_eq!(error.to_string(), message);
        }
        let garbage = pid_from_inspect("web1", &answer(200, "<html>")).expect_err("not JSON");
        assert!(matches!(garbage, AttachError::DockerFailed { status: 200, .. }), "{garbage}");
    }

    #[test]
    fn container_names_follow_dockers_rule() {
        for good in ["web1", "/web1", "my_app.v2-x", "4f3c2b1a0e9d"] {
            assert!(validate_container_name(good).is_ok(), "{good}");
        }
        for bad in ["", "/", "-web", "a/b", "a b", "web1?x=1", "../x"] {
            assert!(validate_container_name(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn an_absent_engine_is_unreachable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = DockerEngine::new(dir.path().join("docker.sock"));
        assert!(!engine.ping().await);
        let error = engine.container_pid("web1").await.expect_err("no engine");
        assert!(matches!(error, AttachError::DockerUnreachable { .. }), "{error}");
        assert!(error.to_string().starts_with("cannot reach the Docker engine at "), "{error}");
    }
}
