//! A synchronous client of the local API, for one-shot commands (`vemcmd`, `switchyard attach`
//! and `detach`): one request, one answer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ports::{AttachSpec, AttachedView, DetachSpec, DetachedView};
use crate::protocol::{Request, Response, encode_line};
use crate::socket::socket_path;

/// How long a question (`show …`) may take.
pub const SHOW_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an attach or detach may take: namespace work, netlink and supervisor calls, each
/// bounded on the agent's side.
pub const PORT_CHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest answer accepted from the agent.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// Why the agent gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("agent not running: no socket at {}", .socket.display())]
    NoSocket { socket: PathBuf },
    #[error("agent not running: {} refuses connections (stale socket)", .socket.display())]
    Refused { socket: PathBuf },
    /// The socket and the data dir are root's (0600 / 0700).
    #[error("permission denied on {}: run as root", .socket.display())]
    PermissionDenied { socket: PathBuf },
    #[error("cannot talk to the agent on {}: {source}", .socket.display())]
    Io { socket: PathBuf, source: io::Error },
    #[error("the agent sent an unreadable answer: {0}")]
    BadResponse(String),
    #[error("{0}")]
    Agent(String),
}

/// Sends `request` to the agent of `data_dir` and waits up to `timeout` for its answer; an
/// error answer becomes [`ClientError::Agent`].
pub fn ask(data_dir: &Path, request: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let socket = socket_path(data_dir);
    let io_error = |source| ClientError::Io { socket: socket.clone(), source };
    let mut stream = UnixStream::connect(&socket).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => ClientError::NoSocket { socket: socket.clone() },
        io::ErrorKind::ConnectionRefused => ClientError::Refused { socket: socket.clone() },
        io::ErrorKind::PermissionDenied => ClientError::PermissionDenied { socket: socket.clone() },
        _ => io_error(err),
    })?;
    stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_error)?;
    stream.write_all(&encode_line(request)).map_err(io_error)?;
    let mut reply = Vec::new();
    BufReader::new(stream.take(MAX_RESPONSE_BYTES)).read_until(b'\n', &mut reply).map_err(io_error)?;
    if reply.last() != Some(&b'\n') {
        return Err(ClientError::BadResponse(
            "the agent closed the connection without a complete answer".into(),
        ));
    }
    match serde_json::from_slice(&reply).map_err(|err| ClientError::BadResponse(err.to_string()))? {
        Response::Error { message } => Err(ClientError::Agent(message)),
        response => Ok(response),
    }
}

/// `switchyard attach`: returns once the port's policy is in force.
pub fn attach(data_dir: &Path, spec: &AttachSpec) -> Result<AttachedView, ClientError> {
    match ask(data_dir, &Request::Attach { spec: spec.clone() }, PORT_CHANGE_TIMEOUT)? {
        Response::Attached(view) => Ok(view),
        other => Err(unexpected(&other)),
    }
}

/// `switchyard detach`.
pub fn detach(data_dir: &Path, port: &DetachSpec) -> Result<DetachedView, ClientError> {
    match ask(data_dir, &Request::Detach { port: port.clone() }, PORT_CHANGE_TIMEOUT)? {
        Response::Detached(view) => Ok(view),
        other => Err(unexpected(&other)),
    }
}

/// An answer of the wrong kind.
pub fn unexpected(response: &Response) -> ClientError {
    ClientError::BadResponse(format!("unexpected answer {response:?}"))
}
