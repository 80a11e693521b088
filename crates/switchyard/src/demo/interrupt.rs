//! Ctrl-C during the demo: the default action would kill the demo before it removes its
//! namespaces and links. Instead SIGINT/SIGTERM only raise a flag that every wait checks; the
//! demo then unwinds and its guards clean up. (The daemons it started share the terminal's
//! process group, get the same SIGINT and stop by themselves.)

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Catches SIGINT and SIGTERM from now on (idempotent).
pub fn install() -> anyhow::Result<()> {
    let flag = INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(flag))?;
    }
    Ok(())
}

/// True once Ctrl-C (or SIGTERM) arrived.
pub fn requested() -> bool {
    INTERRUPTED.get().is_some_and(|flag| flag.load(Ordering::Relaxed))
}

/// Fails once Ctrl-C arrived, so the demo unwinds and cleans up.
pub fn check() -> anyhow::Result<()> {
    if requested() {
        bail!("interrupted: cleaning up");
    }
    Ok(())
}
