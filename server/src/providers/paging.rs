//! One way to page through a provider's list: cursors that are page numbers, the `Link`
//! header (RFC 8288) and link-in-body APIs, and the "is there a next page" rule for APIs that
//! number their pages (GitHub, Netlify, Cloudflare Pages, DigitalOcean).
//!
//! Cursor-paged APIs (Vercel's `until`, Render's per-item `cursor`, Heroku's `Next-Range`,
//! the GraphQL `pageInfo` of Fly and Railway) hand back an opaque token: [`opaque_next`] is
//! their rule. A link is never followed: only its page number is kept and the client rebuilds
//! the URL from its own base, so a link can never send the token to another host.

use super::PageCursor;
use reqwest::header::HeaderMap;
use url::Url;

/// The page a page-number cursor asks for: page 1 without a cursor, `None` for a cursor that
/// is not a page number (each client says how it refuses one).
pub fn requested_page(cursor: Option<&PageCursor>) -> Option<u32> {
    match cursor {
        None => Some(1),
        Some(cursor) => cursor
            .0
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|page| *page >= 1),
    }
}

/// The cursor for a page number.
pub fn page_cursor(page: u32) -> PageCursor {
    PageCursor(page.to_string())
}

/// The next cursor of a cursor-paged API: an empty page ends the listing even when the
/// provider sent a token with it (Vercel's own example does).
pub fn opaque_next(token: Option<String>, received: usize) -> Option<PageCursor> {
    token
        .filter(|token| !token.is_empty() && received > 0)
        .map(PageCursor)
}

/// One page of a page-numbered list as it was read.
#[derive(Clone, Copy, Debug)]
pub struct PageRead {
    /// The page number (from 1).
    pub page: u32,
    pub per_page: u32,
    /// How many items came back.
    pub received: usize,
}

/// What the provider said about what follows; every part optional, consulted in this order.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageSignal<'a> {
    /// The target of the `next` link (the `Link` header, DigitalOcean's `links.pages.next`).
    pub next_link: Option<&'a str>,
    /// The total number of pages (Cloudflare's `total_pages`).
    pub total_pages: Option<u64>,
    /// The total number of items (Cloudflare's `total_count`, DigitalOcean's `meta.total`).
    pub total_count: Option<u64>,
    /// Links came but none to a next page: this was the last page.
    pub links_without_next: bool,
}

impl PageRead {
    /// The page after this one, by the first rule that applies: a `next` link (its page
    /// number; an unreadable one still says there is more), the totals, links without a next,
    /// and else "a full page came back" (the rule providers' own CLIs page by).
    pub fn next_page(self, signal: PageSignal<'_>) -> Option<u32> {
        if self.received == 0 {
            return None;
        }
        let following = self.page.checked_add(1);
        if let Some(link) = signal.next_link {
            return page_of(link).or(following);
        }
        let more = if let Some(total_pages) = signal.total_pages {
            u64::from(self.page) < total_pages
        } else if let Some(total_count) = signal.total_count {
            let before = u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page);
            before + (self.received as u64) < total_count
        } else if signal.links_without_next {
            false
        } else {
            self.received >= self.per_page as usize
        };
        more.then_some(following).flatten()
    }
}

/// The target of the link with relation `rel` among the `Link` headers.
pub fn link_in(headers: &HeaderMap, rel: &str) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| link_target(header, rel))
}

/// The target of the link with relation `rel` in one `Link` header value.
pub fn link_target(header: &str, rel: &str) -> Option<String> {
    split_links(header)
        .into_iter()
        .find(|(_, rels)| rels.split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|(target, _)| target)
}

/// Splits a `Link` header into `(target, rel)` pairs. Commas inside `<…>` belong to the URL.
fn split_links(header: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else {
            break;
        };
        let target = after_open[..close].to_string();
        let after_target = &after_open[close + 1..];
        let params_end = after_target.find('<').unwrap_or(after_target.len());
        let params = &after_target[..params_end];
        let rel = params
            .split([';', ','])
            .filter_map(|param| {
                let (key, value) = param.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("rel")
                    .then(|| value.trim().trim_matches('"').to_string())
            })
            .next()
            .unwrap_or_default();
        links.push((target, rel));
        rest = &after_target[params_end..];
    }
    links
}

/// The `page` query parameter (from 1) of a link target, absolute or relative.
pub fn page_of(target: &str) -> Option<u32> {
    let url = Url::parse(target)
        .or_else(|_| Url::parse("http://link.invalid/").and_then(|base| base.join(target)))
        .ok()?;
    url.query_pairs()
        .find(|(key, _)| key == "page")
        .and_then(|(_, value)| value.trim().parse::<u32>().ok())
        .filter(|page| *page >= 1)
}
