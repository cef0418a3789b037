//! Login attempt limits, per user name *and* client address, and per client address alone (in
//! memory: a restart resets them, which is acceptable for a brute-force brake).
//!
//! An attempt is *reserved* (counted as a failure) before its password is verified and
//! released only when it succeeds, so N parallel posts cannot all pass the check before the
//! first failure is recorded. The per-user key includes the address, so someone elsewhere
//! guessing cannot lock the real user out. The key map is bounded: expired keys go first,
//! then the least recently used.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept at most (each a few dozen bytes plus its timestamps).
pub const MAX_KEYS: usize = 10_000;
/// User names are cut to this many characters in keys (and audit rows).
pub const MAX_NAME_CHARS: usize = 200;

/// Sliding-window failure counters.
///
/// Our own type rather than `governor` or the simulators' shared budget
/// (`crate::simulators::skeleton::RateBudget`), on purpose (issue #21): a login attempt is
/// *reserved* before the password check and *released* on success, and a success also clears
/// the user's failures. `governor`'s GCRA can only take cells, never give one back, so it
/// cannot express release; and the simulators' fixed windows would let a guesser spend a full
/// budget at the end of one window and another at the start of the next. The same per-key
/// bookkeeping also bounds the key map (expired, then least recently used keys go first) and
/// reports each refusal once per window, which neither alternative offers. `governor` is also
/// not in Cargo.lock, so it would be a new crate for less behaviour.
pub struct LoginLimiter {
    window: Duration,
    per_user: usize,
    per_address: usize,
    max_keys: usize,
    keys: Mutex<HashMap<String, KeyState>>,
}

#[derive(Default)]
struct KeyState {
    failures: VecDeque<Instant>,
    last_used: Option<Instant>,
    /// When a refusal of this key was last reported (audited); once per window.
    reported_at: Option<Instant>,
}

/// A reserved attempt: counted as a failure until [`LoginLimiter::release`] is called.
#[derive(Debug)]
pub struct Reservation {
    user_key: String,
    address_key: String,
    at: Instant,
}

/// Why an attempt was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Limited {
    pub wait: Duration,
    /// The first refusal of this key in its window: worth one audit row, the rest are not.
    pub report: bool,
}

impl LoginLimiter {
    /// 5 failures per user and address, 20 per address, in 15 minutes.
    pub fn standard() -> Self {
        Self::new(Duration::from_secs(15 * 60), 5, 20, MAX_KEYS)
    }

    pub fn new(window: Duration, per_user: usize, per_address: usize, max_keys: usize) -> Self {
        Self {
            window,
            per_user,
            per_address,
            max_keys: max_keys.max(2),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves an attempt for `user` from `address`, or says how long to wait.
    pub fn reserve(&self, user: &str, address: &str, now: Instant) -> Result<Reservation, Limited> {
        let user_key = user_key(user, address);
        let address_key = address_key(address);
        let mut keys = self.lock();
        let blocked = [
            (user_key.as_str(), self.per_user),
            (address_key.as_str(), self.per_address),
        ]
        .into_iter()
        .filter_map(|(key, limit)| {
            let state = keys.get_mut(key)?;
            self.expire(state, now);
            let wait = self.wait(state, limit, now)?;
            Some((key.to_string(), wait))
        })
        .max_by_key(|(_, wait)| *wait);
        if let Some((key, wait)) = blocked {
            for touched in [&user_key, &address_key] {
                if let Some(state) = keys.get_mut(touched.as_str()) {
                    state.last_used = Some(now);
                }
            }
            let report = match keys.get_mut(&key) {
                Some(state) => {
                    let report = state
                        .reported_at
                        .is_none_or(|at| now.duration_since(at) >= self.window);
                    if report {
                        state.reported_at = Some(now);
                    }
                    report
                }
                None => true,
            };
            return Err(Limited { wait, report });
        }
        for key in [&user_key, &address_key] {
            if !keys.contains_key(key.as_str()) {
                self.make_room(&mut keys, now);
            }
            let state = keys.entry(key.clone()).or_default();
            state.failures.push_back(now);
            state.last_used = Some(now);
        }
        Ok(Reservation {
            user_key,
            address_key,
            at: now,
        })
    }

    /// The attempt succeeded (or was never made): it no longer counts. A successful sign-in
    /// clears the user's failures from that address.
    pub fn release(&self, reservation: Reservation, signed_in: bool) {
        let mut keys = self.lock();
        if signed_in {
            keys.remove(&reservation.user_key);
        } else if let Some(state) = keys.get_mut(&reservation.user_key) {
            remove_one(&mut state.failures, reservation.at);
        }
        if let Some(state) = keys.get_mut(&reservation.address_key) {
            remove_one(&mut state.failures, reservation.at);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expire(&self, state: &mut KeyState, now: Instant) {
        while state
            .failures
            .front()
            .is_some_and(|first| now.duration_since(*first) >= self.window)
        {
            state.failures.pop_front();
        }
    }

    fn wait(&self, state: &KeyState, limit: usize, now: Instant) -> Option<Duration> {
        if state.failures.len() < limit {
            return None;
        }
        let oldest = *state.failures.front()?;
        Some(
            self.window
                .saturating_sub(now.duration_since(oldest))
                .max(Duration::from_secs(1)),
        )
    }

    /// Before a new key goes in: forget keys with nothing left in the window, and when that
    /// is not enough the least recently used one.
    fn make_room(&self, keys: &mut HashMap<String, KeyState>, now: Instant) {
        if keys.len() < self.max_keys {
            return;
        }
        let window = self.window;
        keys.retain(|_, state| {
            state
                .last_used
                .is_some_and(|last| now.duration_since(last) < window)
        });
        while keys.len() >= self.max_keys {
            let Some(oldest) = keys
                .iter()
                .min_by_key(|(_, state)| state.last_used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            keys.remove(&oldest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyState>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn remove_one(failures: &mut VecDeque<Instant>, at: Instant) {
    if let Some(index) = failures.iter().rposition(|time| *time == at) {
        failures.remove(index);
    }
}

/// `text` cut to `max` characters (with `…` when cut): user names come from the form, up to
/// the whole body.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn user_key(user: &str, address: &str) -> String {
    format!(
        "user:{address}:{}",
        truncate_chars(user, MAX_NAME_CHARS).to_lowercase()
    )
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(limiter: &LoginLimiter, user: &str, address: &str, now: Instant) {
        let reservation = limiter.reserve(user, address, now).expect("not limited");
        drop(reservation); // a failure stays counted
    }

    #[test]
    fn the_limit_engages_per_user_and_address_and_per_address_and_expires() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 5, 100);
        let start = Instant::now();
        for _ in 0..3 {
            fail(&limiter, "sam", "1.2.3.4", start);
        }
        assert!(
            limiter.reserve("Sam", "1.2.3.4", start).is_err(),
            "per user"
        );
        assert!(
            limiter.reserve("sam", "9.9.9.9", start).is_ok(),
            "someone elsewhere cannot lock sam out"
        );
        fail(&limiter, "kim", "1.2.3.4", start);
        fail(&limiter, "lee", "1.2.3.4", start);
        assert!(
            limiter.reserve("ana", "1.2.3.4", start).is_err(),
            "per address"
        );
        let later = start + Duration::from_secs(61);
        assert!(
            limiter.reserve("sam", "1.2.3.4", later).is_ok(),
            "window passed"
        );
    }

    #[test]
    fn parallel_attempts_are_reserved_before_verification() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5, 20, 100);
        let now = Instant::now();
        // Twelve posts arrive before any verification finishes: five get to guess.
        let admitted: Vec<Reservation> = (0..12)
            .filter_map(|_| limiter.reserve("sam", "1.2.3.4", now).ok())
            .collect();
        assert_eq!(admitted.len(), 5);
        // A success releases its reservation and clears the user's failures.
        let mut admitted = admitted.into_iter();
        let first = admitted.next().unwrap();
        limiter.release(first, true);
        assert!(limiter.reserve("sam", "1.2.3.4", now).is_ok());
    }

    #[test]
    fn a_refusal_is_reported_once_per_window() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 1, 20, 100);
        let now = Instant::now();
        fail(&limiter, "sam", "1.2.3.4", now);
        let first = limiter.reserve("sam", "1.2.3.4", now).unwrap_err();
        assert!(first.report);
        for _ in 0..10 {
            assert!(!limiter.reserve("sam", "1.2.3.4", now).unwrap_err().report);
        }
        let later = now + Duration::from_secs(30);
        assert!(!limiter.reserve("sam", "1.2.3.4", later).unwrap_err().report);
    }

    #[test]
    fn the_key_map_is_bounded_and_keeps_the_busiest_keys() {
        let limiter = LoginLimiter::new(Duration::from_secs(600), 5, 20, 10);
        let start = Instant::now();
        // An attacker's own address, hot.
        for step in 0..5 {
            fail(
                &limiter,
                "admin",
                "6.6.6.6",
                start + Duration::from_millis(step),
            );
        }
        let base = start + Duration::from_millis(10);
        for index in 0..1_000u32 {
            // Each attempt with a new address pushes the oldest key out, but the attacker's
            // own keys are used on every attempt, so they are never the oldest.
            let at = base + Duration::from_micros(u64::from(index) * 2);
            let address = format!("10.1.{}.{}", index / 256, index % 256);
            let _ = limiter.reserve(&format!("user{index}"), &address, at);
            let touched = at + Duration::from_micros(1);
            assert!(limiter.reserve("admin", "6.6.6.6", touched).is_err());
        }
        assert!(limiter.len() <= 10, "{} keys", limiter.len());
        assert!(
            limiter
                .reserve("admin", "6.6.6.6", start + Duration::from_secs(2))
                .is_err(),
            "flooding keys does not reset the attacker's own limit"
        );
    }

    #[test]
    fn long_names_are_cut() {
        let long = "x".repeat(70_000);
        let cut = truncate_chars(&long, MAX_NAME_CHARS);
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS + 1);
        assert_eq!(truncate_chars("é", 200), "é");
        assert!(user_key(&long, "1.2.3.4").len() < 300);
    }
}
