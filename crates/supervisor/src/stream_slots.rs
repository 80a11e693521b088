//! How many long-lived streams each module holds open. An agent needs one Watch and one
//! WatchOverlay stream; a few more cover reconnects made before the server has noticed the old
//! connection dead. Past that a module is refused (`RESOURCE_EXHAUSTED`), so no agent — even an
//! enrolled one — can make the supervisor hold streams without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The kinds of stream, counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Watch,
    Overlay,
}

/// Streams open per (module, kind).
type Counts = Arc<Mutex<HashMap<(u32, StreamKind), usize>>>;

/// The counter of open streams, capped per module and kind.
#[derive(Debug)]
pub struct StreamSlots {
    max: usize,
    open: Counts,
}

/// One open stream's place; dropping it (with the stream) frees the place.
#[derive(Debug)]
pub struct Slot {
    open: Counts,
    key: (u32, StreamKind),
}

impl StreamSlots {
    /// At most `max` streams of each kind per module.
    pub fn new(max: usize) -> Self {
        Self { max, open: Counts::default() }
    }

    /// A place for one more stream of `kind` for `module`, if it has fewer than the cap.
    pub fn take(&self, module: u32, kind: StreamKind) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry((module, kind)).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot { open: Arc::clone(&self.open), key: (module, kind) })
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_per_module_and_kind_and_freed_on_drop() {
        let slots = StreamSlots::new(2);
        let a = slots.take(3, StreamKind::Watch);
        let b = slots.take(3, StreamKind::Watch);
        assert!(a.is_some() && b.is_some());
        assert!(slots.take(3, StreamKind::Watch).is_none(), "the cap");
        assert!(slots.take(3, StreamKind::Overlay).is_some(), "counted apart");
        assert!(slots.take(4, StreamKind::Watch).is_some(), "per module");
        drop(a);
        assert!(slots.take(3, StreamKind::Watch).is_some(), "freed");
    }
}
