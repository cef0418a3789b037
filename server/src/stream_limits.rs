//! How many live streams (`/api/events`, `/api/v1/rollbacks/{id}/events`) may be open: in
//! all, and per client address. A stream holds a [`StreamPermit`] for as long as it is open;
//! over the limit a client gets 503 (everyone's limit) or 429 (its own) with the reason, and
//! the page falls back to polling.

use crate::config::ServerLimits;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open streams, in all and per address.
pub struct StreamLimits {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_address: HashMap<String, usize>,
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefusal {
    #[error("the server has {0} live streams open, its limit; this page polls instead")]
    Full(usize),
    #[error("this address has {0} live streams open, its limit; close other Lookout tabs")]
    AddressFull(usize),
}

impl StreamRefusal {
    pub fn into_response(self) -> Response {
        let status = match self {
            StreamRefusal::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
            StreamRefusal::AddressFull(_) => StatusCode::TOO_MANY_REQUESTS,
        };
        let mut response = crate::auth::middleware::refuse(status, &self.to_string());
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        response
    }
}

/// One open stream; dropping it (the stream ended or the client went away) frees its place.
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    address: String,
}

impl StreamLimits {
    pub fn new(limits: &ServerLimits) -> Arc<Self> {
        Arc::new(Self {
            max_total: usize::try_from(limits.max_streams).unwrap_or(usize::MAX),
            max_per_address: usize::try_from(limits.max_streams_per_address).unwrap_or(usize::MAX),
            open: Mutex::default(),
        })
    }

    /// A place for one more stream from `address` (unknown addresses share one place).
    pub fn open(self: &Arc<Self>, address: Option<&str>) -> Result<StreamPermit, StreamRefusal> {
        let address = address.unwrap_or("unknown").to_string();
        let mut open = self.lock();
        if open.total >= self.max_total {
            return Err(StreamRefusal::Full(self.max_total));
        }
        let mine = open.per_address.get(&address).copied().unwrap_or(0);
        if mine >= self.max_per_address {
            return Err(StreamRefusal::AddressFull(self.max_per_address));
        }
        open.total += 1;
        open.per_address.insert(address.clone(), mine + 1);
        Ok(StreamPermit {
            limits: self.clone(),
            address,
        })
    }

    /// Streams open now.
    pub fn total(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.limits.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_address.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: u32, per_address: u32) -> Arc<StreamLimits> {
        StreamLimits::new(&ServerLimits {
            max_streams: total,
            max_streams_per_address: per_address,
            ..ServerLimits::default()
        })
    }

    #[test]
    fn streams_are_capped_per_address_and_in_all_and_freed_on_drop() {
        let limits = limits(3, 2);
        let a1 = limits.open(Some("1.1.1.1")).unwrap();
        let _a2 = limits.open(Some("1.1.1.1")).unwrap();
        assert_eq!(
            limits.open(Some("1.1.1.1")).err(),
            Some(StreamRefusal::AddressFull(2))
        );
        let _b1 = limits.open(Some("2.2.2.2")).unwrap();
        assert_eq!(
            limits.open(Some("3.3.3.3")).err(),
            Some(StreamRefusal::Full(3))
        );
        drop(a1);
        assert_eq!(limits.total(), 2);
        assert!(limits.open(Some("1.1.1.1")).is_ok());
        assert_eq!(limits.total(), 2, "the permit was dropped at once");
    }
}
