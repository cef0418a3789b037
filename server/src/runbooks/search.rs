//! The runbook search index: for every word in the folder, which runbooks hold it, where, and
//! how often. Built once per change of the folder (with the index it belongs to), so a search
//! never scans runbook text: it looks up at most [`app::runbooks::MAX_QUERY_TERMS`] words,
//! each a range of a sorted map (a word matches every indexed word it starts, so typing
//! "datab" finds "database").
//!
//! The work of one search is bounded by the number of terms times the size of the index,
//! whatever the query: the query itself is cut by [`SearchTerms::parse`] before it gets here.

use app::runbooks::{search_words, SearchTerms};
use std::collections::{BTreeMap, HashMap};

/// Where a runbook's words come from, for ranking.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    /// Tags and services.
    Label,
    /// Environments and owner.
    Meta,
    /// The body text (the snippet comes from here).
    Body,
}

/// What one runbook's text says for a search index: its fields in order.
pub struct Document<'a> {
    pub fields: Vec<(Field, &'a str)>,
}

/// One word in one runbook.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Posting {
    /// The runbook's position in the index's entries.
    entry: u32,
    in_title: bool,
    in_labels: bool,
    hits: u32,
    /// Byte offset of the first occurrence in the body text.
    first_in_body: Option<u32>,
}

/// A runbook that matched every term, with its score and where its snippet starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub entry: usize,
    pub score: u32,
    /// Byte offset in the body text of the first matched word, if one is in the body.
    pub first_in_body: Option<usize>,
}

/// Words → postings, sorted by word so a prefix is one range.
#[derive(Debug, Default)]
pub struct SearchIndex {
    words: BTreeMap<String, Vec<Posting>>,
    documents: u32,
}

impl SearchIndex {
    /// Indexes `documents`; a hit's `entry` is the position in this sequence.
    pub fn build<'a>(documents: impl IntoIterator<Item = Document<'a>>) -> Self {
        let mut words: BTreeMap<String, Vec<Posting>> = BTreeMap::new();
        let mut count = 0_u32;
        for (position, document) in documents.into_iter().enumerate() {
            let entry = u32::try_from(position).unwrap_or(u32::MAX);
            count = count.saturating_add(1);
            let mut postings: HashMap<String, Posting> = HashMap::new();
            for (field, text) in document.fields {
                for (offset, word) in search_words(text) {
                    let posting = postings.entry(word).or_insert(Posting {
                        entry,
                        ..Posting::default()
                    });
                    posting.hits = posting.hits.saturating_add(1);
                    match field {
                        Field::Title => posting.in_title = true,
                        Field::Label => posting.in_labels = true,
                        Field::Meta => {}
                        Field::Body => {
                            if posting.first_in_body.is_none() {
                                posting.first_in_body = u32::try_from(offset).ok();
                            }
                        }
                    }
                }
            }
            for (word, posting) in postings {
                words.entry(word).or_default().push(posting);
            }
        }
        Self {
            words,
            documents: count,
        }
    }

    /// How many distinct words are indexed.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Every runbook holding all `terms` (each as a word or the start of one), best first
    /// (ties in index order). No terms: every runbook, score 0, in index order.
    pub fn search(&self, terms: &SearchTerms) -> Vec<Hit> {
        if terms.terms.is_empty() {
            return (0..self.documents as usize)
                .map(|entry| Hit {
                    entry,
                    score: 0,
                    first_in_body: None,
                })
                .collect();
        }
        let mut found: Option<BTreeMap<u32, (u32, Option<u32>)>> = None;
        for term in &terms.terms {
            let matched = self.term(term);
            found = Some(match found {
                None => matched,
                Some(previous) => previous
                    .into_iter()
                    .filter_map(|(entry, (score, first))| {
                        let (more, other_first) = matched.get(&entry)?;
                        let first = match (first, *other_first) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        Some((entry, (score.saturating_add(*more), first)))
                    })
                    .collect(),
            });
            if found.as_ref().is_some_and(BTreeMap::is_empty) {
                break;
            }
        }
        let mut hits: Vec<Hit> = found
            .unwrap_or_default()
            .into_iter()
            .map(|(entry, (score, first))| Hit {
                entry: entry as usize,
                score,
                first_in_body: first.map(|offset| offset as usize),
            })
            .collect();
        hits.sort_by(|a, b| b.score.cmp(&a.score).then(a.entry.cmp(&b.entry)));
        hits
    }

    /// The runbooks holding a word that starts with `term`: score (title 10, tags or services
    /// 5, plus up to 5 for how often) and first body offset.
    fn term(&self, term: &str) -> BTreeMap<u32, (u32, Option<u32>)> {
        let mut merged: BTreeMap<u32, Posting> = BTreeMap::new();
        let words = self
            .words
            .range::<str, _>((std::ops::Bound::Included(term), std::ops::Bound::Unbounded))
            .take_while(|(word, _)| word.starts_with(term));
        for (_, postings) in words {
            for posting in postings {
                let into = merged.entry(posting.entry).or_insert(Posting {
                    entry: posting.entry,
                    ..Posting::default()
                });
                into.in_title |= posting.in_title;
                into.in_labels |= posting.in_labels;
                into.hits = into.hits.saturating_add(posting.hits);
                into.first_in_body = match (into.first_in_body, posting.first_in_body) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        merged
            .into_iter()
            .map(|(entry, posting)| {
                let score = 10 * u32::from(posting.in_title)
                    + 5 * u32::from(posting.in_labels)
                    + posting.hits.min(5);
                (entry, (score, posting.first_in_body))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex::build([
            Document {
                fields: vec![
                    (Field::Title, "Database issues"),
                    (Field::Label, "postgres db"),
                    (Field::Body, "Check replication lag. Then lag again."),
                ],
            },
            Document {
                fields: vec![
                    (Field::Title, "API down"),
                    (Field::Label, "api"),
                    (Field::Meta, "production platform"),
                    (Field::Body, "The database may be the cause."),
                ],
            },
        ])
    }

    fn entries(index: &SearchIndex, q: &str) -> Vec<usize> {
        index
            .search(&SearchTerms::parse(q))
            .into_iter()
            .map(|hit| hit.entry)
            .collect()
    }

    #[test]
    fn every_term_must_match_and_titles_rank_first() {
        let index = index();
        assert_eq!(entries(&index, "database"), vec![0, 1]);
        assert_eq!(entries(&index, "DATABASE cause"), vec![1]);
        assert_eq!(entries(&index, "database nonsense"), Vec::<usize>::new());
        assert_eq!(entries(&index, "platform"), vec![1]);
        assert_eq!(entries(&index, ""), vec![0, 1]);
    }

    #[test]
    fn a_term_matches_the_words_it_starts() {
        let index = index();
        assert_eq!(entries(&index, "datab"), vec![0, 1]);
        assert_eq!(entries(&index, "repl"), vec![0]);
        // Inside a word is not a match.
        assert_eq!(entries(&index, "abase"), Vec::<usize>::new());
    }

    #[test]
    fn a_hit_knows_where_its_snippet_starts() {
        let index = index();
        let hits = index.search(&SearchTerms::parse("lag"));
        assert_eq!(hits[0].first_in_body, Some(18));
        // The earliest of the terms' first places.
        let hits = index.search(&SearchTerms::parse("cause database"));
        assert_eq!(hits[0].first_in_body, Some(4));
        // A title-only match has no place in the body.
        let hits = index.search(&SearchTerms::parse("issues"));
        assert_eq!(hits[0].first_in_body, None);
    }

    #[test]
    fn the_index_holds_each_word_once() {
        let index = index();
        // "lag" twice in one runbook, "database" in both: one key each.
        assert!(index.words["lag"].len() == 1 && index.words["lag"][0].hits == 2);
        assert_eq!(index.words["database"].len(), 2);
        assert!(!index.is_empty());
    }
}
