//! Heartbeat bookkeeping of the modules one supervisor serves, pure (the caller passes `now`).
//!
//! A served module is alive from its first heartbeat (or registration) until `timeout` passes
//! without one; then its supervisor takes it offline. Whether a module is online for the whole
//! switch is [`crate::cluster::presence`]: this only tells its supervisor when to say it is not.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Heartbeat times of the modules that are online.
#[derive(Debug)]
pub struct Liveness {
    timeout: Duration,
    last_seen: HashMap<u32, Instant>,
}

impl Liveness {
    /// Modules go offline after `timeout` without a heartbeat.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout, last_seen: HashMap::new() }
    }

    /// Records a sign of life; `true` when it brings the module online.
    pub fn heartbeat(&mut self, module: u32, now: Instant) -> bool {
        self.last_seen.insert(module, now).is_none()
    }

    /// Takes offline every module silent for longer than the timeout; returns them, sorted.
    pub fn expire(&mut self, now: Instant) -> Vec<u32> {
        let timeout = self.timeout;
        let mut expired: Vec<u32> = self
            .last_seen
            .iter()
            .filter(|&(_, &seen)| now.saturating_duration_since(seen) > timeout)
            .map(|(&module, _)| module)
            .collect();
        expired.sort_unstable();
        for module in &expired {
            self.last_seen.remove(module);
        }
        expired
    }

    /// Takes a module offline now (revoked or removed); `true` when it was online.
    pub fn forget(&mut self, module: u32) -> bool {
        self.last_seen.remove(&module).is_some()
    }

    /// Whether the module is online.
    pub fn is_online(&self, module: u32) -> bool {
        self.last_seen.contains_key(&module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_until_silent_past_timeout() {
        let start = Instant::now();
        let mut liveness = Liveness::new(Duration::from_secs(6));
        assert!(!liveness.is_online(3));
        assert!(liveness.heartbeat(3, start));
        assert!(!liveness.heartbeat(3, start + Duration::from_secs(1)));
        assert!(liveness.heartbeat(4, start + Duration::from_secs(2)));
        assert_eq!(liveness.expire(start + Duration::from_secs(7)), Vec::<u32>::new());
        assert_eq!(liveness.expire(start + Duration::from_millis(7_001)), vec![3]);
        assert!(!liveness.is_online(3));
        assert!(liveness.is_online(4));
        assert_eq!(liveness.expire(start + Duration::from_secs(9)), vec![4]);
        assert!(liveness.heartbeat(3, start + Duration::from_secs(10)), "a heartbeat brings it back");
    }
}
