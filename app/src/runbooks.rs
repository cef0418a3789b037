//! Runbooks: the server functions of `/runbooks` and `/runbooks/{slug}`. Their wire types live
//! in [`crate::model::runbooks`] (re-exported here at their old paths).

use crate::error::AppError;
pub use crate::model::runbooks::*;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The runbooks matching `query` (server-side search). Read-only (GET).
#[server(endpoint = "runbooks", input = GetUrl)]
pub async fn list_runbooks(query: RunbookQuery) -> Result<RunbookList, AppError> {
    crate::access::authorize(crate::auth::Access::Read)?;
    let library = crate::runbooks_port::use_runbooks()?;
    Ok(library.list(&query))
}

/// One runbook, rendered and sanitized; `AppError::NotFound` for an unknown slug. Read-only.
#[server(endpoint = "runbook", input = GetUrl)]
pub async fn get_runbook(slug: String) -> Result<Runbook, AppError> {
    crate::access::authorize(crate::auth::Access::Read)?;
    let library = crate::runbooks_port::use_runbooks()?;
    library.get(&slug)
}

/// Runbook links per service, for the status and service pages. Read-only (GET).
#[server(endpoint = "runbook_links", input = GetUrl)]
pub async fn list_runbook_links() -> Result<RunbookLinks, AppError> {
    crate::access::authorize(crate::auth::Access::Read)?;
    let library = crate::runbooks_port::use_runbooks()?;
    Ok(library.links())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_round_trips_through_the_url() {
        let query =
            RunbookQuery::from_pairs([("q", " roll back "), ("tag", "db & co"), ("x", "y")]);
        assert_eq!(query.q, "roll back");
        assert_eq!(query.to_query_string(), "q=roll%20back&tag=db%20%26%20co");
        assert!(RunbookQuery::default().is_empty());
    }

    #[test]
    fn search_words_are_lower_cased_runs_of_letters_and_digits() {
        let words: Vec<_> = search_words("Curl /healthz: HTTP 502, Straße-Ä").collect();
        assert_eq!(
            words,
            vec![
                (0, "curl".to_string()),
                (6, "healthz".to_string()),
                (15, "http".to_string()),
                (20, "502".to_string()),
                (25, "straße".to_string()),
                (33, "ä".to_string()),
            ]
        );
        assert_eq!(search_words(" -- ").count(), 0);
    }

    #[test]
    fn search_terms_are_capped_deduplicated_and_lower_cased() {
        let plain = SearchTerms::parse("Roll BACK roll");
        assert_eq!(plain.terms, vec!["roll", "back"]);
        assert!(!plain.truncated);

        let many = (0..5000)
            .map(|n| format!("w{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let capped = SearchTerms::parse(&many);
        assert_eq!(capped.terms.len(), MAX_QUERY_TERMS as usize);
        assert_eq!(capped.terms[0], "w0");
        assert!(capped.truncated);

        // Repeats do not count towards the cap, and do not truncate.
        let repeated = "a ".repeat(90);
        let same = SearchTerms::parse(&repeated);
        assert_eq!(same.terms, vec!["a"]);
        assert!(!same.truncated);

        let long = "x".repeat(10_000);
        let cut = SearchTerms::parse(&long);
        assert_eq!(cut.terms, vec!["x".repeat(MAX_QUERY_CHARS as usize)]);
        assert!(cut.truncated);
        // Multi-byte characters are cut on a character boundary.
        let cut = SearchTerms::parse(&"é".repeat(300));
        assert_eq!(cut.terms[0].chars().count(), MAX_QUERY_CHARS as usize);
    }

    #[test]
    fn severities_parse_in_any_case_and_sort_most_severe_first() {
        assert_eq!(Severity::parse(" Critical"), Some(Severity::Critical));
        assert_eq!(Severity::parse("sev1"), None);
        let mut all = vec![Severity::Low, Severity::Critical, Severity::Medium];
        all.sort();
        assert_eq!(
            all,
            vec![Severity::Critical, Severity::Medium, Severity::Low]
        );
    }
}
