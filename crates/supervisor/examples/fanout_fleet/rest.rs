//! Config changes through REST, on an `--insecure` supervisor (plain HTTP/1.1, no login): the
//! call an operator's automation makes, answered once the change is committed to the store.

use std::time::{Duration, Instant};

use axum::body::Body;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one REST call may take.
const REST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a config change failed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("{url} is not http://HOST:PORT (the fleet talks to --insecure supervisors only)")]
    Url { url: String },
    #[error("POST {url}/api/v1/config: {why}")]
    Transport { url: String, why: String },
    #[error("POST {url}/api/v1/config timed out after {REST_TIMEOUT:?}")]
    Timeout { url: String },
    #[error("POST {url}/api/v1/config refused the change ({status}): {body}")]
    Refused { url: String, status: u16, body: String },
    #[error("POST {url}/api/v1/config answered without a revision: {body}")]
    NoRevision { url: String, body: String },
}

/// A committed change: its revision, and when the reply arrived.
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    pub revision: i64,
    pub acknowledged: Instant,
}

/// Applies config `text` through supervisor `url`'s `POST /api/v1/config`.
pub async fn post_config(url: &str, text: &str) -> Result<Committed, RestError> {
    tokio::time::timeout(REST_TIMEOUT, post(url, text))
        .await
        .map_err(|_| RestError::Timeout { url: url.to_owned() })?
}

async fn post(url: &str, text: &str) -> Result<Committed, RestError> {
    let host = url.strip_prefix("http://").ok_or_else(|| RestError::Url { url: url.to_owned() })?;
    let transport = |why: String| RestError::Transport { url: url.to_owned(), why };
    let stream = TcpStream::connect(host).await.map_err(|e| transport(e.to_string()))?;
    stream.set_nodelay(true).map_err(|e| transport(e.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| transport(e.to_string()))?;
    tokio::spawn(connection);
    let request = hyper::Request::post("/api/v1/config")
        .header("host", host)
        .header("content-type", "text/plain")
        .body(Body::from(text.to_owned()))
        .map_err(|e| transport(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| transport(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .map_err(|e| transport(e.to_string()))?;
    let acknowledged = Instant::now();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    if status != 200 {
        return Err(RestError::Refused { url: url.to_owned(), status, body });
    }
    let revision = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|json| json["revision"].as_i64())
        .ok_or_else(|| RestError::NoRevision { url: url.to_owned(), body })?;
    Ok(Committed { revision, acknowledged })
}
