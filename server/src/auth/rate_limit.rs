//! Login attempt limits, per client address and per user name (in memory: a restart resets
//! them, which is acceptable for a brute-force brake).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sliding-window failure counters.
pub struct LoginLimiter {
    window: Duration,
    per_user: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// 5 failures per user and 20 per address in 15 minutes.
    pub fn standard() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 20)
    }

    pub fn new(window: Duration, per_user: usize, per_address: usize) -> Self {
        Self {
            window,
            per_user,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(wait)` when this user or address must wait before trying again.
    pub fn check(&self, user: &str, address: &str, now: Instant) -> Option<Duration> {
        let mut failures = self.lock();
        let user_wait = self.wait(&mut failures, &user_key(user), self.per_user, now);
        let address_wait = self.wait(&mut failures, &address_key(address), self.per_address, now);
        user_wait.max(address_wait)
    }

    pub fn record_failure(&self, user: &str, address: &str, now: Instant) {
        let mut failures = self.lock();
        for key in [user_key(user), address_key(address)] {
            failures.entry(key).or_default().push_back(now);
        }
        // Bound memory: forget keys whose failures are all outside the window.
        if failures.len() > 10_000 {
            let window = self.window;
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|last| now.duration_since(*last) < window)
            });
        }
    }

    /// A successful login clears the user's failures (not the address's).
    pub fn record_success(&self, user: &str) {
        self.lock().remove(&user_key(user));
    }

    fn wait(
        &self,
        failures: &mut HashMap<String, VecDeque<Instant>>,
        key: &str,
        limit: usize,
        now: Instant,
    ) -> Option<Duration> {
        let times = failures.get_mut(key)?;
        while times
            .front()
            .is_some_and(|first| now.duration_since(*first) >= self.window)
        {
            times.pop_front();
        }
        if times.len() < limit {
            return None;
        }
        let oldest = *times.front()?;
        Some(
            self.window
                .saturating_sub(now.duration_since(oldest))
                .max(Duration::from_secs(1)),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn user_key(user: &str) -> String {
    format!("user:{}", user.to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_engages_per_user_and_per_address_and_expires() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 5);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("sam", "1.2.3.4", start), None);
            limiter.record_failure("sam", "1.2.3.4", start);
        }
        assert!(limiter.check("sam", "9.9.9.9", start).is_some(), "per user");
        assert_eq!(limiter.check("kim", "1.2.3.4", start), None);
        limiter.record_failure("kim", "1.2.3.4", start);
        limiter.record_failure("lee", "1.2.3.4", start);
        assert!(
            limiter.check("ana", "1.2.3.4", start).is_some(),
            "per address"
        );
        let later = start + Duration::from_secs(61);
        assert_eq!(
            limiter.check("sam", "1.2.3.4", later),
            None,
            "window passed"
        );
        limiter.record_success("sam");
    }
}
