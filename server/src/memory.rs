//! What the process does about its own memory (issue #19, BENCHMARKS.md "Idle memory").
//!
//! glibc's malloc gives every thread that allocates while the others hold their arenas an arena
//! of its own, up to eight per core, and keeps freed memory inside them. Lookout's threads are
//! the tokio workers, the blocking pool (page compression, file reads) and one thread per
//! SQLite connection (sqlx), so a short burst — startup's first polls, a page render per
//! worker — leaves memory spread over many arenas that idle time never gives back. Two
//! measures, both measured (BENCHMARKS.md):
//!
//! - [`limit_malloc_arenas`] caps the arenas at two (`M_ARENA_MAX`) unless the operator set
//!   `MALLOC_ARENA_MAX` themselves, and fixes the mmap threshold at [`MMAP_THRESHOLD`]:
//!   glibc otherwise raises it to the size of the largest block freed (up to 32 MiB), after
//!   which a rendered page's buffers and the compressors' tables come from the arenas and
//!   stay resident when freed, instead of going back to the kernel with `munmap`;
//! - [`spawn_trimmer`] asks malloc every [`TRIM_INTERVAL`] to return free pages of every arena
//!   to the kernel (`malloc_trim(0)`, which is cheap when there is little to return).
//!
//! On other C libraries (musl, macOS) both do nothing: the functions are chosen at their
//! definitions, not inside them.

use std::time::Duration;

/// How often free heap pages are handed back to the kernel.
pub const TRIM_INTERVAL: Duration = Duration::from_secs(10);

/// Arenas malloc may create (`M_ARENA_MAX`).
pub const ARENA_MAX: i32 = 2;

/// Blocks at least this large are mapped on their own and unmapped when freed
/// (`M_MMAP_THRESHOLD`; glibc's starting value, kept from moving).
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Caps malloc's arenas at [`ARENA_MAX`] and fixes its mmap threshold at [`MMAP_THRESHOLD`],
/// each unless its environment variable (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`) is set:
/// glibc has read those already, and the operator's choice wins. Call before the runtime
/// starts its threads.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_malloc_arenas() {
    let settings = [
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, ARENA_MAX),
        (
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD,
        ),
    ];
    for (variable, parameter, value) in settings {
        if std::env::var_os(variable).is_some() {
            continue;
        }
        // SAFETY: mallopt only sets a malloc parameter; it is called before any other
        // thread exists (from `cli::serve`, before the runtime is built).
        let accepted = unsafe { libc::mallopt(parameter, value) };
        if accepted != 1 {
            tracing::debug!(variable, "malloc did not accept the setting");
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_malloc_arenas() {}

/// Returns free pages of every arena to the kernel every [`TRIM_INTERVAL`], on the blocking
/// pool (a trim walks the heaps). The task ends when the returned handle is aborted.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn spawn_trimmer() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut ticker = tokio::time::interval(TRIM_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once: trim right after startup's burst too.
        loop {
            ticker.tick().await;
            // SAFETY: malloc_trim takes malloc's own locks; it is safe to call from any thread.
            let trimmed = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
            if trimmed.is_err() {
                return;
            }
        }
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn spawn_trimmer() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}
