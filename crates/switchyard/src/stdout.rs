//! Writing to stdout when it may be a pipe that closed: `switchyard shell -c '…' | head -1`.
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `EPIPE`, and `print!` panics on
//! it. The commands write through [`emit`] instead and stop quietly when the reader is gone, as
//! any Unix filter does.

use std::io::{self, Write};

/// The reader of stdout went away (or stdout failed otherwise): stop writing, quietly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Writes `text` to stdout and flushes it, so output reaches a pipe in order with whatever
/// follows.
pub fn emit(text: &str) -> Result<(), Closed> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|_| Closed)
}
