//! How failed sign-ins slow down the next try: a few mistakes are free, then
//! each further try waits twice as long as the last, up to a cap, counted
//! per account and per address. A burst of wrong passwords is answered with
//! "try again in …", and once that time has passed the right password works
//! again, so a guesser cannot lock the real person out for long.

use chrono::{DateTime, Duration, Utc};

/// A throttle over the failures of one key (an account, an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInThrottle {
    /// Failures within the window that cost nothing.
    pub free: usize,
    /// How long a failure is remembered.
    pub window: Duration,
    /// The longest wait.
    pub max_wait: Duration,
}

impl SignInThrottle {
    /// One person mistyping: five free tries in a quarter of an hour.
    pub const PER_ACCOUNT: Self = Self {
        free: 5,
        window: Duration::minutes(15),
        max_wait: Duration::minutes(15),
    };
    /// One address, which may be an office behind one router: twenty.
    pub const PER_ADDRESS: Self = Self {
        free: 20,
        window: Duration::minutes(15),
        max_wait: Duration::minutes(15),
    };

    /// Whether a failure at `at` is still remembered at `now` (one that lies
    /// ahead of `now`, from a clock that ran ahead, is not).
    fn remembers(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let age = now - at;
        age >= Duration::zero() && age < self.window
    }

    /// The failures still remembered at `now`.
    pub fn recent(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> usize {
        failures.iter().filter(|f| self.remembers(**f, now)).count()
    }

    /// How long the next try must wait at `now`, given the key's failures
    /// (in any order); `None` when it may go ahead.
    pub fn wait(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<Duration> {
        let recent = self.recent(failures, now);
        if recent < self.free {
            return None;
        }
        let last = failures.iter().filter(|f| self.remembers(**f, now)).max()?;
        let doublings = u32::try_from(recent - self.free)
            .unwrap_or(u32::MAX)
            .min(20);
        let backoff = Duration::seconds(1_i64 << doublings).min(self.max_wait);
        let ready = *last + backoff;
        (ready > now).then(|| ready - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1_000_000 + seconds)
    }

    #[test]
    fn a_few_mistakes_are_free_then_each_try_waits_longer() {
        let rule = SignInThrottle::PER_ACCOUNT;
        let four: Vec<_> = (0..4).map(at).collect();
        assert_eq!(rule.wait(&four, at(4)), None);
        let five: Vec<_> = (0..5).map(at).collect();
        assert_eq!(rule.wait(&five, at(4)), Some(Duration::seconds(1)));
        let ten: Vec<_> = (0..10).map(at).collect();
        assert_eq!(rule.wait(&ten, at(9)), Some(Duration::seconds(32)));
        // Once the wait is over, the next try may go ahead.
        assert_eq!(rule.wait(&ten, at(9 + 32)), None);
    }

    #[test]
    fn the_wait_has_a_cap_and_old_failures_are_forgotten() {
        let rule = SignInThrottle::PER_ACCOUNT;
        let many: Vec<_> = (0..200).map(at).collect();
        assert_eq!(rule.wait(&many, at(199)), Some(rule.max_wait));
        assert_eq!(rule.wait(&many, at(199) + rule.window), None);
    }

    proptest! {
        #[test]
        fn the_wait_never_passes_the_cap_nor_outlasts_the_window(
            offsets in prop::collection::vec(0i64..2_000, 0..60),
            now in 0i64..3_000,
        ) {
            let rule = SignInThrottle::PER_ACCOUNT;
            let failures: Vec<_> = offsets.iter().map(|o| at(*o)).collect();
            if let Some(wait) = rule.wait(&failures, at(now)) {
                prop_assert!(wait <= rule.max_wait);
                prop_assert!(wait > Duration::zero());
                prop_assert!(rule.recent(&failures, at(now)) >= rule.free);
            }
        }
    }
}
