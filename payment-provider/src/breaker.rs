//! A circuit breaker per provider: after a run of failures it stops calls
//! for a while, then lets single probes through until one succeeds.
//!
//! The charge worker asks it before every charge. While it is open the
//! worker holds off taking messages (see the kit's `EventHandler::hold_off`),
//! so charges wait in the stream during a provider outage instead of each
//! burning its retries towards the dead letters.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When to open and for how long.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before a probe may pass; each opening picks a
    /// time within a fifth of this at random, so several processes that
    /// opened together do not all probe together.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out; everything else waits for its result.
    HalfOpen,
}

/// What the breaker allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Call the provider; report the result with `record_success` or
    /// `record_failure`.
    Call,
    /// Do not call; ask again after this long.
    Wait(Duration),
}

#[derive(Debug)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::Closed {
                consecutive_failures: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half
        // written (every update is one assignment), so a poisoned lock is
        // still a good one.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may go out now. An open breaker whose time is up lets
    /// exactly one caller through as the probe.
    pub fn admit(&self) -> Admission {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Admission::Call,
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen;
                    Admission::Call
                } else {
                    Admission::Wait(until - now)
                }
            }
            State::HalfOpen => Admission::Wait(self.settings.open_for / 10),
        }
    }

    /// How long callers should wait before asking again, or `None` when a
    /// call may go out (without claiming the probe).
    pub fn hold_off(&self) -> Option<Duration> {
        match *self.lock() {
            State::Closed { .. } => None,
            State::Open { until } => until.checked_duration_since(Instant::now()),
            State::HalfOpen => Some(self.settings.open_for / 10),
        }
    }

    pub fn record_success(&self) {
        *self.lock() = State::Closed {
            consecutive_failures: 0,
        };
    }

    pub fn record_failure(&self) {
        let mut state = self.lock();
        let failures = match *state {
            State::Closed {
                consecutive_failures,
            } => consecutive_failures + 1,
            // A failed probe opens it again at once.
            State::HalfOpen | State::Open { .. } => self.settings.failure_threshold,
        };
        *state = if failures >= self.settings.failure_threshold {
            let jitter = rand::random::<f64>().mul_add(0.4, 0.8);
            tracing::warn!(
                failures,
                "payment provider circuit breaker open; charges wait"
            );
            State::Open {
                until: Instant::now() + self.settings.open_for.mul_f64(jitter),
            }
        } else {
            State::Closed {
                consecutive_failures: failures,
            }
        };
    }

    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_probes_once() {
        let breaker = CircuitBreaker::new(BreakerSettings {
            failure_threshold: 3,
            open_for: Duration::from_millis(50),
        });
        for _ in 0..2 {
            assert_eq!(breaker.admit(), Admission::Call);
            breaker.record_failure();
        }
        // A success in between resets the run.
        breaker.record_success();
        for _ in 0..3 {
            assert_eq!(breaker.admit(), Admission::Call);
            breaker.record_failure();
        }
        assert!(matches!(breaker.admit(), Admission::Wait(_)));
        assert!(breaker.hold_off().is_some());
        std::thread::sleep(Duration::from_millis(70));
        // One probe passes; the next caller waits for its result.
        assert_eq!(breaker.admit(), Admission::Call);
        assert!(matches!(breaker.admit(), Admission::Wait(_)));
        breaker.record_failure();
        assert!(matches!(breaker.admit(), Admission::Wait(_)));
        std::thread::sleep(Duration::from_millis(70));
        assert_eq!(breaker.admit(), Admission::Call);
        breaker.record_success();
        assert_eq!(breaker.admit(), Admission::Call);
        assert!(!breaker.is_open());
    }
}
