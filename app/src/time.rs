//! Relative times ("3 min ago") computed against a clock the server sends, so the server
//! render and the hydrated page agree.

use chrono::{DateTime, Utc};

/// "just now", "45 s ago", "3 min ago", "2 h ago", "5 d ago".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    relative_seconds((now - at).num_seconds())
}

/// [`relative`] from the seconds elapsed (the browser computes them from `datetime`).
pub fn relative_seconds(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "just now".to_string(),
        0..=9 => "just now".to_string(),
        10..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// The absolute time for a `title`/`datetime` attribute.
pub fn absolute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long something took: "2 min 14 s".
pub fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let seconds = (to - from).num_seconds().max(0);
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{} min {} s", seconds / 60, seconds % 60)
    } else {
        format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let ago = |s| relative(now - chrono::Duration::seconds(s), now);
        assert_eq!(ago(-5), "just now");
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(45), "45 s ago");
        assert_eq!(ago(180), "3 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(86_400 * 5), "5 d ago");
        assert_eq!(
            duration(now - chrono::Duration::seconds(134), now),
            "2 min 14 s"
        );
    }
}
