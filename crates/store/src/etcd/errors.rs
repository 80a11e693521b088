//! How etcd's answers read as [`StoreError`]s.
//!
//! Anything that says "etcd cannot answer now" (no connection, no leader, no quorum, a timeout)
//! is [`StoreError::Unavailable`], so callers can tell a cluster that is down from a request
//! that is wrong. A few specific refusals become their own variants; their fields are filled
//! in by the caller, which knows the lease or revision it asked about.

use etcd_client::Error;
use tonic::Code;

use crate::StoreError;

/// Maps an etcd client error.
pub(super) fn from_etcd(error: Error) -> StoreError {
    match error {
        Error::GRpcStatus(status) => from_status(&status),
        Error::TransportError(error) => {
            StoreError::Unavailable(format!("cannot reach etcd: {}", chain(&error)))
        }
        Error::IoError(error) => StoreError::Unavailable(format!("cannot reach etcd: {error}")),
        Error::LeaseKeepAliveError(message) if message.contains("lease not found") => {
            StoreError::LeaseNotFound { lease: 0 }
        }
        Error::LeaseKeepAliveError(message) | Error::WatchError(message) => {
            StoreError::Unavailable(format!("etcd stream failed: {message}"))
        }
        other => StoreError::Io(format!("etcd client: {}", chain(&other))),
    }
}

fn from_status(status: &tonic::Status) -> StoreError {
    let message = status.message();
    if message.contains("requested lease not found") {
        return StoreError::LeaseNotFound { lease: 0 };
    }
    if message.contains("required revision has been compacted") {
        return StoreError::Compacted { requested: 0, oldest: 0 };
    }
    if message.contains("required revision is a future revision") {
        return StoreError::FutureRevision { requested: 0, current: 0 };
    }
    let unreachable = matches!(
        status.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Aborted
    ) || ["no leader", "leader changed", "request timed out", "not capable"]
        .iter()
        .any(|sign| message.contains(sign));
    let text = if message.is_empty() { format!("{:?}", status.code()) } else { message.to_string() };
    if unreachable {
        StoreError::Unavailable(format!("etcd: {text}"))
    } else {
        StoreError::Io(format!("etcd refused the request: {text}"))
    }
}

/// Whether a request that failed this way may go to another member: it never reached its
/// member (no connection), or the member refused it before doing anything (no leader). A
/// request that is safe to repeat (a read) may also go elsewhere after any failure that means
/// "unavailable".
pub(super) fn worth_another_member(error: &Error, repeatable: bool) -> bool {
    match error {
        Error::TransportError(_) | Error::IoError(_) => true,
        Error::GRpcStatus(status) => {
            let message = status.message();
            let unsent = status.code() == Code::Unavailable
                && (message.contains("connect") || message.contains("Connection refused"));
            unsent
                || message.contains("no leader")
                || (repeatable && matches!(from_status(status), StoreError::Unavailable(_)))
        }
        // A stream that broke (see `from_etcd`), unless the lease is simply gone.
        Error::WatchError(_) => repeatable,
        Error::LeaseKeepAliveError(message) => repeatable && !message.contains("lease not found"),
        _ => false,
    }
}

/// An error with its sources: tonic's transport errors say only "transport error" on top.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
