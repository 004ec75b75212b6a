//! Where the current time comes from.
//!
//! Every use case, the engine's loops and the gateway read the time from a
//! [`Clock`], never from the system directly, so tests fix "now" and move it
//! on as they need, and a rule that depends on the time can be tested
//! without waiting. [`SystemClock`] is the one place that reads the wall
//! clock.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told: for tests, and for benchmarks that
/// replay a day.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        if let Ok(mut current) = self.0.lock() {
            *current = now;
        }
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut current) = self.0.lock() {
            *current += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|now| *now)
            .unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}
