//! Events waiting for the agent to take them. A slow agent must never stall the connection
//! (ovsdb-server drops a client that stops answering `echo`), so the queue is bounded and
//! coalesces: a [`OvsdbEvent::Changed`] is a full snapshot, so a newer one replaces an older one
//! still waiting, and past the bound the oldest events go; each connection starts with a
//! fresh snapshot anyway.

use std::collections::VecDeque;

use super::OvsdbEvent;

/// How many events wait at most.
const CAPACITY: usize = 32;

/// A bounded, coalescing queue of [`OvsdbEvent`]s. Pure.
#[derive(Debug)]
pub(crate) struct Outbox<V> {
    queue: VecDeque<OvsdbEvent<V>>,
}

impl<V> Default for Outbox<V> {
    fn default() -> Self {
        Self { queue: VecDeque::new() }
    }
}

impl<V> Outbox<V> {
    pub(crate) fn push(&mut self, event: OvsdbEvent<V>) {
        if matches!(event, OvsdbEvent::Changed(_))
            && let Some(last @ OvsdbEvent::Changed(_)) = self.queue.back_mut()
        {
            *last = event;
            return;
        }
        if self.queue.len() == CAPACITY {
            self.queue.pop_front();
        }
        self.queue.push_back(event);
    }

    pub(crate) fn pop(&mut self) -> Option<OvsdbEvent<V>> {
        self.queue.pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view that is only its `next_cfg`.
    fn changed(next_cfg: i64) -> OvsdbEvent<i64> {
        OvsdbEvent::Changed(next_cfg)
    }

    fn drain(outbox: &mut Outbox<i64>) -> Vec<OvsdbEvent<i64>> {
        std::iter::from_fn(|| outbox.pop()).collect()
    }

    #[test]
    fn a_newer_snapshot_replaces_a_waiting_one() {
        let mut outbox = Outbox::default();
        outbox.push(OvsdbEvent::Connected);
        outbox.push(changed(1));
        outbox.push(changed(2));
        assert_eq!(drain(&mut outbox), [OvsdbEvent::Connected, changed(2)]);
    }

    #[test]
    fn snapshots_on_both_sides_of_a_reconnect_are_kept() {
        let mut outbox = Outbox::default();
        outbox.push(changed(1));
        outbox.push(OvsdbEvent::Disconnected { reason: "gone".into() });
        outbox.push(OvsdbEvent::Connected);
        outbox.push(changed(1));
        assert_eq!(drain(&mut outbox).len(), 4);
    }

    #[test]
    fn the_oldest_events_go_past_the_bound() {
        let mut outbox = Outbox::<i64>::default();
        for n in 0..CAPACITY + 5 {
            outbox.push(OvsdbEvent::Disconnected { reason: n.to_string() });
        }
        let events = drain(&mut outbox);
        assert_eq!(events.len(), CAPACITY);
        assert_eq!(events[0], OvsdbEvent::Disconnected { reason: "5".into() });
        assert!(outbox.is_empty());
    }
}
