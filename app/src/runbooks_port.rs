//! The runbook port the server implements (ssr only): server functions reach the runbook
//! library through it, so `app` carries no markdown or file-system code.

use crate::error::AppError;
use crate::model::runbooks::{Runbook, RunbookLinks, RunbookList, RunbookQuery};
use std::sync::Arc;

/// The runbooks folder, loaded, rendered and indexed by the server. Every call answers from
/// memory (the server reloads changed files in the background).
pub trait RunbookLibrary: Send + Sync + 'static {
    /// The runbooks matching `query`, most severe first.
    fn list(&self, query: &RunbookQuery) -> RunbookList;

    /// One runbook; `AppError::NotFound` when no runbook has this slug.
    fn get(&self, slug: &str) -> Result<Runbook, AppError>;

    /// Runbook links per service name.
    fn links(&self) -> RunbookLinks;
}

/// The runbook handle, as stored in context.
#[derive(Clone)]
pub struct RunbooksHandle(pub Arc<dyn RunbookLibrary>);

/// The handle from the current request's context.
pub fn use_runbooks() -> Result<Arc<dyn RunbookLibrary>, AppError> {
    leptos::prelude::use_context::<RunbooksHandle>()
        .map(|handle| handle.0)
        .ok_or_else(|| AppError::Unavailable("the runbooks are not wired into this request".into()))
}
