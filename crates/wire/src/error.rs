//! The one error type of this crate.

/// Why bytes could not be read as (or written into) a protocol header.
///
/// The `&'static str` fields name the header and the problem, so the `Display` form reads as a
/// sentence: `IPv4 header truncated: needs 20 bytes, has 13`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before the header (or the length the header claims) does.
    #[error("{what} truncated: needs {needed} bytes, has {available}")]
    Truncated {
        /// The header or packet being read, e.g. `"IPv4 packet"`.
        what: &'static str,
        /// Bytes required.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A field holds a value the protocol forbids, e.g. `"IPv4 header: version is not 4"`.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// Valid on the wire but outside what this crate models, e.g. `"IPv4 fragment"`.
    #[error("unsupported {0}")]
    Unsupported(&'static str),
    /// The checksum in the named header does not match its contents.
    #[error("{0} checksum mismatch")]
    BadChecksum(&'static str),
    /// A builder was given a buffer too small for what it was asked to write.
    #[error("buffer too small: needs {needed} bytes, has {available}")]
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
}

/// Result with [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// `Err(Truncated)` unless `available >= needed`: the length check every view starts with.
pub(crate) fn need(what: &'static str, needed: usize, available: usize) -> Result<()> {
    if available < needed { Err(Error::Truncated { what, needed, available }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let truncated = Error::Truncated { what: "IPv4 header", needed: 20, available: 13 };
        assert_eq!(truncated.to_string(), "IPv4 header truncated: needs 20 bytes, has 13");
        assert_eq!(
            Error::Malformed("IPv4 header: version is not 4").to_string(),
            "malformed IPv4 header: version is not 4"
        );
        assert_eq!(Error::Unsupported("IPv4 fragment").to_string(), "unsupported IPv4 fragment");
        assert_eq!(Error::BadChecksum("ICMPv4").to_string(), "ICMPv4 checksum mismatch");
    }
}
