//! The status board's paging as it travels: the query of `/` and of the live stream, and what a
//! card says about the rows it left out. Cutting a snapshot to a page is `crate::board`'s.

use super::url::query_string;
use super::RollupStatus;
use serde::{Deserialize, Serialize};

/// Rows an environment card shows on the overview.
pub const OVERVIEW_ROWS: u32 = 25;
/// Rows of one page of an environment's own view.
pub const PAGE_ROWS: u32 = 100;

/// The overview, or one page of one environment (the query string of `/` and of the live
/// stream `/api/events`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BoardQuery {
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
}

impl BoardQuery {
    /// The query string (`?environment=…&page=…`), empty for the overview.
    pub fn to_query_string(&self) -> String {
        let Some(environment) = self.environment.as_deref().filter(|name| !name.is_empty()) else {
            return String::new();
        };
        let page = self
            .page
            .filter(|page| *page > 1)
            .map(|page| page.to_string())
            .unwrap_or_default();
        format!(
            "?{}",
            query_string([("environment", environment), ("page", &page)])
        )
    }

    /// The address of this view of the board.
    pub fn href(&self) -> String {
        format!("/{}", self.to_query_string())
    }

    /// One page of `environment`'s own view.
    pub fn environment_page(environment: &str, page: u32) -> Self {
        Self {
            environment: Some(environment.to_string()),
            page: Some(page),
        }
    }
}

/// What a card left out, for its footer. Counts are `u32` like every count on the wire (the
/// page is 32-bit wasm); `crate::board` converts from the server's `usize` lengths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowWindow {
    /// Services in the environment.
    pub total: u32,
    /// Rows not on this page.
    pub hidden: u32,
    /// How many of the hidden rows are operational (on the overview, all but the overflow of
    /// rows that need attention).
    pub hidden_operational: u32,
    /// On an environment's own view: this page (from 1) and the number of pages.
    pub page: Option<(u32, u32)>,
    /// The roll-up of every row of the environment, shown or not (a page of healthy rows
    /// must not make an environment with an outage look operational).
    pub rollup: RollupStatus,
}

impl RowWindow {
    /// Rows this page carries.
    pub fn shown(&self) -> u32 {
        self.total.saturating_sub(self.hidden)
    }

    /// Hidden rows that need attention.
    pub fn hidden_attention(&self) -> u32 {
        self.hidden.saturating_sub(self.hidden_operational)
    }

    /// On an environment's own view: the numbers (from 1) of the first and last row shown.
    pub fn shown_range(&self) -> Option<(u32, u32)> {
        let (page, _) = self.page?;
        let first = page
            .saturating_sub(1)
            .saturating_mul(PAGE_ROWS)
            .saturating_add(1);
        Some((first, first.saturating_add(self.shown().saturating_sub(1))))
    }
}
