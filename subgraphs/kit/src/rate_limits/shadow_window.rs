//! The local shadow window: the same sliding window as the shared one,
//! kept in this process's memory. It counts every admitted operation
//! (whichever window decided), so when Redis goes away it takes over with
//! this replica's recent history instead of an empty window; it decides
//! only while Redis is away or slow. Each replica limits alone then, so
//! the replicas together admit up to their number times the limit: the
//! platform keeps limiting, neither failing open nor refusing everybody.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most keys kept; beyond it the windows idle for longer than the
/// deciding class's window are dropped, and if that frees none, all are
/// (memory stays bounded under a flood of keys).
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct ShadowWindow {
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl ShadowWindow {
    /// Admits and counts an operation under `key` when fewer than `limit`
    /// were admitted within `window`; otherwise how long until the oldest
    /// leaves the window.
    pub fn admit(&self, key: &str, limit: u32, window: Duration) -> Result<(), Duration> {
        self.with_window(key, window, |admitted, now| {
            if admitted.len() < limit as usize {
                admitted.push_back(now);
                return Ok(());
            }
            let oldest = *admitted.front().expect("a full window holds entries");
            Err(window.saturating_sub(now.duration_since(oldest)))
        })
    }

    /// Counts an operation the shared window admitted.
    pub fn record(&self, key: &str, window: Duration) {
        self.with_window(key, window, |admitted, now| admitted.push_back(now));
    }

    /// Runs `decide` on `key`'s window, slid to now, with the map kept
    /// within [`MAX_KEYS`].
    fn with_window<T>(
        &self,
        key: &str,
        window: Duration,
        decide: impl FnOnce(&mut VecDeque<Instant>, Instant) -> T,
    ) -> T {
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.retain(|_, admitted| {
                admitted
                    .back()
                    .is_some_and(|newest| now.duration_since(*newest) < window)
            });
            if windows.len() >= MAX_KEYS {
                windows.clear();
            }
        }
        let admitted = windows.entry(key.to_owned()).or_default();
        while admitted
            .front()
            .is_some_and(|oldest| now.duration_since(*oldest) >= window)
        {
            admitted.pop_front();
        }
        decide(admitted, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_then_says_how_long_to_wait() {
        let shadow = ShadowWindow::default();
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(shadow.admit("k", 3, window).is_ok());
        }
        let wait = shadow
            .admit("k", 3, window)
            .expect_err("the fourth is refused");
        assert!(wait > Duration::from_secs(59) && wait <= window, "{wait:?}");
        assert!(shadow.admit("other", 3, window).is_ok(), "keys are apart");
    }

    #[test]
    fn what_the_shared_window_admitted_counts_here_too() {
        let shadow = ShadowWindow::default();
        let window = Duration::from_secs(60);
        shadow.record("k", window);
        shadow.record("k", window);
        assert!(shadow.admit("k", 3, window).is_ok());
        assert!(shadow.admit("k", 3, window).is_err());
    }

    #[test]
    fn the_window_slides() {
        let shadow = ShadowWindow::default();
        let window = Duration::from_millis(50);
        assert!(shadow.admit("k", 1, window).is_ok());
        assert!(shadow.admit("k", 1, window).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(shadow.admit("k", 1, window).is_ok());
    }
}
