//! What can go wrong talking OVSDB.

/// Why an OVSDB exchange failed. Errors about what the server sent ([`OvsdbError::Malformed`],
/// [`OvsdbError::MessageTooLarge`], [`OvsdbError::UnexpectedResponse`]) end the connection: the
/// driver counts them, logs them and reconnects, because a client that lost track of the stream
/// cannot trust its replica any more.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OvsdbError {
    /// The server sent something that is not a valid JSON-RPC or OVSDB message.
    #[error("malformed message from ovsdb-server: {0}")]
    Malformed(String),
    /// One message grew past the decoder's limit before it was complete.
    #[error("message from ovsdb-server exceeds {limit} bytes")]
    MessageTooLarge {
        /// The decoder's limit, in bytes.
        limit: usize,
    },
    /// A response whose id matches no request of ours.
    #[error("response from ovsdb-server to a request never sent (id {0})")]
    UnexpectedResponse(String),
    /// The server refused the monitor request.
    #[error("ovsdb-server refused to monitor the Open_vSwitch database: {0}")]
    MonitorRefused(String),
    /// A transaction was rejected or one of its operations failed.
    #[error("ovsdb transaction failed: {0}")]
    TransactionFailed(String),
    /// The request needs a connection and there is none right now.
    #[error("not connected to ovsdb-server")]
    NotConnected,
    /// The connection went away before the server answered.
    #[error("connection to ovsdb-server lost before it answered")]
    ConnectionLost,
    /// The OVSDB client task has stopped.
    #[error("the OVSDB client has stopped")]
    Stopped,
    /// `--ovsdb` names no endpoint this client speaks.
    #[error("ovsdb endpoint '{0}': expected unix:PATH")]
    BadEndpoint(String),
}

impl OvsdbError {
    /// A [`OvsdbError::Malformed`] with a message.
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Self::Malformed(what.into())
    }
}
