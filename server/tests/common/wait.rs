//! Waiting for something the server does in the background (a poll, a reload, a sweep):
//! ask again every 50 ms until the answer is the one wanted or the time is up.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How long a wait lasts unless the test says otherwise: far longer than any poll interval
/// the tests configure, so only a real failure runs out of time.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// How often a wait asks again.
pub const EVERY: Duration = Duration::from_millis(50);

/// Asks `probe` until `done` holds for its answer, for at most `within`; returns the last
/// answer either way, for the test to assert on (so a failure shows what was seen).
pub async fn settle<T, Probe, Answer>(
    within: Duration,
    mut probe: Probe,
    done: impl Fn(&T) -> bool,
) -> T
where
    Probe: FnMut() -> Answer,
    Answer: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let answer = probe().await;
        if done(&answer) || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// As [`settle`] within [`PATIENCE`], failing the test with `what` and the last answer when
/// `done` never held.
pub async fn wait_until<T: Debug, Probe, Answer>(
    what: &str,
    probe: Probe,
    done: impl Fn(&T) -> bool,
) -> T
where
    Probe: FnMut() -> Answer,
    Answer: Future<Output = T>,
{
    let answer = settle(PATIENCE, probe, &done).await;
    assert!(
        done(&answer),
        "{what} never happened; last seen:\n{answer:#?}"
    );
    answer
}
