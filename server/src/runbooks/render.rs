//! Markdown → safe HTML: pulldown-cmark (GitHub-flavoured: tables, task lists, footnotes,
//! strikethrough, alerts) and then ammonia, which removes everything executable.
//!
//! Before sanitizing, the events are rewritten: headings get ids (GitHub-style slugs) and a
//! table of contents, relative links to other runbooks become `/runbooks/{slug}`, relative
//! images and files become `/runbooks/assets/{path}`, footnotes get ids that survive the
//! sanitizer's id prefix. Ammonia prefixes every id with [`ID_PREFIX`] so a runbook cannot
//! clobber names the page's scripts use; links to fragments are rewritten to match.

use app::runbooks::TocEntry;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Every id in rendered runbook HTML starts with this.
pub const ID_PREFIX: &str = "rb-";

/// Where runbook images and other files are served.
pub const ASSETS_PATH: &str = "/runbooks/assets/";

/// A rendered runbook body.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Sanitized HTML.
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// The body as plain text (for search).
    pub text: String,
    /// The text of the first level-1 heading (a title when the front matter has none).
    pub first_heading: Option<String>,
}

/// Classes the sanitizer keeps (besides `language-*` on code): the ones the renderer emits.
const ALLOWED_CLASSES: [&str; 13] = [
    "footnote-reference",
    "footnote-definition",
    "footnote-definition-label",
    "footnote-backref",
    "footnotes",
    "heading-anchor",
    "align-left",
    "align-center",
    "align-right",
    "markdown-alert-note",
    "markdown-alert-tip",
    "markdown-alert-important",
    "markdown-alert-warning",
];

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["input"])
        .add_generic_attributes(["id", "class"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
        .id_prefix(Some(ID_PREFIX))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(raw_relative_url)))
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            (_, "class") => {
                let kept: Vec<&str> = value
                    .split_whitespace()
                    .filter(|class| {
                        ALLOWED_CLASSES.contains(class)
                            || *class == "markdown-alert-caution"
                            || (element == "code" && is_language_class(class))
                    })
                    .collect();
                (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
            }
            // Task-list checkboxes only: any other input type is dropped to a plain box.
            ("input", "type") => (value == "checkbox").then_some(Cow::Borrowed(value)),
            _ => Some(Cow::Borrowed(value)),
        });
    builder
});

/// Relative URLs written as raw HTML (`<img src="images/a.png">`) resolve like markdown ones;
/// the ones the renderer already rewrote (`/…`, `#…`) pass through.
fn raw_relative_url(url: &str) -> Option<Cow<'_, str>> {
    if url.starts_with('/') || url.starts_with('#') {
        Some(Cow::Borrowed(url))
    } else {
        Some(Cow::Owned(rewrite_url(url)))
    }
}

fn is_language_class(class: &str) -> bool {
    class.strip_prefix("language-").is_some_and(|lang| {
        !lang.is_empty()
            && lang
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#' | '.'))
    })
}

/// GitHub's heading slug: lower case, letters/digits/`-`/`_` kept, spaces to `-`.
pub fn heading_slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// A runbook's slug from its file stem: lower case ASCII letters, digits, `-` and `_`.
pub fn file_slug(stem: &str) -> String {
    let slug: String = stem
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if slug.is_empty() {
        "runbook".into()
    } else {
        slug
    }
}

/// Where a link or image in a runbook points, after rewriting.
fn rewrite_url(dest: &str) -> String {
    if let Some(fragment) = dest.strip_prefix('#') {
        return format!("#{ID_PREFIX}{fragment}");
    }
    let has_scheme = dest
        .find(':')
        .is_some_and(|colon| !dest[..colon].contains(['/', '?', '#']));
    if dest.is_empty() || has_scheme || dest.starts_with('/') {
        return dest.to_string();
    }
    let (path_and_query, fragment) = match dest.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (dest, None),
    };
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let normalized = segments.join("/");
    let fragment = fragment
        .map(|fragment| format!("#{ID_PREFIX}{fragment}"))
        .unwrap_or_default();
    let query = query.map(|query| format!("?{query}")).unwrap_or_default();
    match normalized.strip_suffix(".md") {
        Some(stem) => {
            let stem = stem.rsplit('/').next().unwrap_or(stem);
            format!("/runbooks/{}{query}{fragment}", file_slug(stem))
        }
        None => format!("{ASSETS_PATH}{normalized}{query}{fragment}"),
    }
}

fn heading_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Renders a runbook's markdown body to sanitized HTML with its table of contents.
pub fn render(markdown: &str) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();

    // Footnotes are numbered in order of first reference, as GitHub does.
    let mut footnotes: HashMap<String, usize> = HashMap::new();
    for event in &events {
        if let Event::FootnoteReference(name) = event {
            let next = footnotes.len() + 1;
            footnotes.entry(name.to_string()).or_insert(next);
        }
    }
    for event in &events {
        if let Event::Start(Tag::FootnoteDefinition(name)) = event {
            let next = footnotes.len() + 1;
            footnotes.entry(name.to_string()).or_insert(next);
        }
    }
    let footnote_id = |name: &str| heading_slug(name);

    let mut toc = Vec::new();
    let mut used_ids: HashSet<String> = HashSet::new();
    let mut text = String::new();
    let mut first_heading = None;
    let mut index = 0;
    while index < events.len() {
        match &events[index] {
            Event::Start(Tag::Heading { level, .. }) => {
                let level = *level;
                let mut title = String::new();
                let mut end = index + 1;
                while end < events.len() {
                    match &events[end] {
                        Event::End(TagEnd::Heading(_)) => break,
                        Event::Text(part) | Event::Code(part) => title.push_str(part),
                        _ => {}
                    }
                    end += 1;
                }
                let base = match heading_slug(&title) {
                    slug if slug.is_empty() => "section".to_string(),
                    slug => slug,
                };
                let mut id = base.clone();
                let mut counter = 1;
                while !used_ids.insert(id.clone()) {
                    id = format!("{base}-{counter}");
                    counter += 1;
                }
                if level == HeadingLevel::H1 && first_heading.is_none() {
                    first_heading = Some(title.trim().to_string());
                }
                toc.push(TocEntry {
                    level: heading_number(level),
                    id: format!("{ID_PREFIX}{id}"),
                    text: title.trim().to_string(),
                });
                let anchor = format!(
                    r##" <a class="heading-anchor" href="#{ID_PREFIX}{id}" title="Link to this section">#</a>"##
                );
                events[index] = Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(id)),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                });
                if end < events.len() {
                    events.insert(end, Event::InlineHtml(CowStr::from(anchor)));
                }
                text.push_str(&title);
                text.push('\n');
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                events[index] = Event::Start(Tag::Link {
                    link_type: *link_type,
                    dest_url: CowStr::from(rewrite_url(dest_url)),
                    title: title.clone(),
                    id: id.clone(),
                });
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                events[index] = Event::Start(Tag::Image {
                    link_type: *link_type,
                    dest_url: CowStr::from(rewrite_url(dest_url)),
                    title: title.clone(),
                    id: id.clone(),
                });
            }
            Event::FootnoteReference(name) => {
                let number = footnotes.get(name.as_ref()).copied().unwrap_or(0);
                let id = footnote_id(name);
                events[index] = Event::InlineHtml(CowStr::from(format!(
                    r##"<sup class="footnote-reference" id="fnref-{id}"><a href="#{ID_PREFIX}fn-{id}">{number}</a></sup>"##
                )));
            }
            Event::Start(Tag::FootnoteDefinition(name)) => {
                let number = footnotes.get(name.as_ref()).copied().unwrap_or(0);
                let id = footnote_id(name);
                events[index] = Event::Html(CowStr::from(format!(
                    r#"<div class="footnote-definition" id="fn-{id}"><sup class="footnote-definition-label">{number}</sup>"#
                )));
                let mut end = index + 1;
                while end < events.len()
                    && !matches!(events[end], Event::End(TagEnd::FootnoteDefinition))
                {
                    end += 1;
                }
                if end < events.len() {
                    events[end] = Event::Html(CowStr::from(format!(
                        r##"<a class="footnote-backref" href="#{ID_PREFIX}fnref-{id}" title="Back to the reference">↩</a></div>"##
                    )));
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                // Only the language's first word, so the class stays a class.
                let lang: String = info
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                events[index] =
                    Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(CowStr::from(lang))));
            }
            Event::Text(part) | Event::Code(part) => {
                text.push_str(part);
                text.push(' ');
            }
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph) => text.push('\n'),
            _ => {}
        }
        index += 1;
    }

    let mut raw = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut raw, events.into_iter());
    // Table alignment as classes: inline styles would need a looser CSP.
    let raw = raw
        .replace(r#" style="text-align: left""#, r#" class="align-left""#)
        .replace(r#" style="text-align: center""#, r#" class="align-center""#)
        .replace(r#" style="text-align: right""#, r#" class="align-right""#);
    let html = SANITIZER.clean(&raw).to_string();
    Rendered {
        html,
        toc,
        text: collapse_whitespace(&text),
        first_heading,
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every markdown feature runbooks may use, in one document.
    pub const EVERY_FEATURE: &str = r#"# Database failover

Intro with **bold**, *emphasis*, ~~struck~~ text, `inline code` and a [link](https://example.com "Example").

## Steps

1. Check the [API runbook](api-down.md#first-checks) and [this section](#verify).
2. Look at ![the diagram](images/failover.png "Failover")

- [x] Page the on-call
- [ ] Post in #incidents

### Verify

| Check | Command | Expected |
|:------|:-------:|---------:|
| health | `curl /healthz` | 200 |
| replicas | `psql -c 'select 1'` | 1 |

```bash
psql "$DATABASE_URL" -c 'select now();'
```

```rust,ignore
fn main() {}
```

    indented code

> [!WARNING]
> Failing over drops in-flight transactions.

> A plain quote.

A statement with a footnote.[^why]

## Steps

Duplicate headings get distinct anchors.

[^why]: Because replicas lag.

---
"#;

    #[test]
    fn every_supported_feature_renders() {
        let rendered = render(EVERY_FEATURE);
        insta::assert_snapshot!("every_feature_html", rendered.html);
        insta::assert_debug_snapshot!("every_feature_toc", rendered.toc);
        assert_eq!(rendered.first_heading.as_deref(), Some("Database failover"));
        assert!(rendered.text.contains("Because replicas lag"));
    }

    #[test]
    fn relative_links_point_at_runbooks_and_assets() {
        assert_eq!(rewrite_url("api-down.md"), "/runbooks/api-down");
        assert_eq!(
            rewrite_url("./API Down.md#step-2"),
            "/runbooks/api-down#rb-step-2"
        );
        assert_eq!(rewrite_url("images/a.png"), "/runbooks/assets/images/a.png");
        assert_eq!(
            rewrite_url("../../etc/passwd"),
            "/runbooks/assets/etc/passwd"
        );
        assert_eq!(rewrite_url("#verify"), "#rb-verify");
        assert_eq!(
            rewrite_url("https://x.example/a.md"),
            "https://x.example/a.md"
        );
        assert_eq!(rewrite_url("/services/api"), "/services/api");
        assert_eq!(
            rewrite_url("mailto:ops@example.com"),
            "mailto:ops@example.com"
        );
    }

    #[test]
    fn heading_slugs_follow_github() {
        assert_eq!(
            heading_slug("Roll back on Fly.io (machines)"),
            "roll-back-on-flyio-machines"
        );
        assert_eq!(heading_slug("  Step 2: verify_it "), "step-2-verify_it");
    }

    fn assert_inert(html: &str) {
        let lower = html.to_lowercase();
        for needle in [
            "<script",
            "javascript:",
            "onerror",
            "onclick",
            "onload",
            "onmouseover",
            "<iframe",
            "<svg",
            "<object",
            "<embed",
            "<style",
            "<form",
            "srcdoc",
            "data:text/html",
            "<!--",
            "vbscript:",
        ] {
            assert!(!lower.contains(needle), "`{needle}` survived in:\n{html}");
        }
    }

    #[test]
    fn script_tags_are_removed() {
        let html = render("Hello <script>alert(1)</script>\n\n<script src=\"https://evil.example/x.js\"></script>\n").html;
        assert_inert(&html);
        assert!(html.contains("Hello"));
    }

    #[test]
    fn javascript_links_are_removed() {
        let html = render(
            "[click](javascript:alert(1)) [upper](JaVaScRiPt:alert(1)) [spaced]( javascript:alert(1))\n\n<a href=\"javascript:alert(1)\">raw</a> <a href=\"jav&#x09;ascript:alert(1)\">tab</a>\n\n![img](javascript:alert(1))\n\n[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n",
        )
        .html;
        assert_inert(&html);
        assert!(html.contains("click"));
    }

    #[test]
    fn event_handler_attributes_are_removed() {
        let html = render(
            "<img src=\"x.png\" onerror=\"alert(1)\">\n\n<p onclick=\"alert(1)\" onmouseover='alert(2)'>text</p>\n\n<a href=\"https://example.com\" onload=alert(3)>ok</a>\n\n<input type=\"text\" onfocus=\"alert(4)\" autofocus>\n",
        )
        .html;
        assert_inert(&html);
        assert!(!html.contains("onfocus") && !html.contains("autofocus"));
        assert!(html.contains("text</p>"));
    }

    #[test]
    fn iframes_and_embeds_are_removed() {
        let html = render(
            "<iframe src=\"https://evil.example\"></iframe>\n\n<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>\n\n<object data=\"x.swf\"></object><embed src=\"x.swf\">\n\n<form action=\"https://evil.example\"><button>go</button></form>\n",
        )
        .html;
        assert_inert(&html);
    }

    #[test]
    fn svg_with_script_is_removed() {
        let html = render(
            "<svg onload=\"alert(1)\"><script>alert(2)</script><a xlink:href=\"javascript:alert(3)\"><text>x</text></a></svg>\n\n<svg><animate onbegin=\"alert(4)\" attributeName=\"x\"/></svg>\n\n![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)\n",
        )
        .html;
        assert_inert(&html);
        assert!(!html.contains("onbegin"));
    }

    #[test]
    fn comments_cannot_break_out() {
        let html = render(
            "<!-- --><script>alert(1)</script> -->\n\ntext <!--> <img src=x onerror=alert(2)> -->\n\n<!--[if IE]><script>alert(3)</script><![endif]-->\n\n--!><script>alert(4)</script>\n",
        )
        .html;
        assert_inert(&html);
    }

    #[test]
    fn styles_and_foreign_classes_are_removed() {
        let html = render(
            "<p style=\"position:fixed;top:0\" class=\"demo-banner language-x\">spoof</p>\n\n<style>body{display:none}</style>\n\n```js onclick=alert(1)\ncode\n```\n",
        )
        .html;
        assert_inert(&html);
        assert!(!html.contains("style="));
        assert!(!html.contains("demo-banner"));
        assert!(html.contains(r#"<code class="language-js">"#));
    }

    /// Every attack above in one document: the snapshot shows exactly what is left.
    #[test]
    fn hostile_document_snapshot() {
        let html = render(
            "# Hostile\n\n<script>alert(1)</script>\n\n[link](javascript:alert(2))\n\n<img src=\"x.png\" onerror=\"alert(3)\">\n\n<iframe src=\"https://evil.example\"></iframe>\n\n<svg onload=\"alert(4)\"><script>alert(5)</script></svg>\n\n<!-- --><script>alert(6)</script> -->\n\n<a href=\"https://example.com\" target=\"_top\" onclick=\"alert(7)\">ok</a>\n",
        )
        .html;
        assert_inert(&html);
        insta::assert_snapshot!("hostile_document_html", html);
    }

    #[test]
    fn ids_are_prefixed_so_runbooks_cannot_clobber_page_names() {
        let html = render("<p id=\"main\">x</p>\n\n## Main\n").html;
        assert!(html.contains(r#"id="rb-main""#));
        assert!(!html.contains(r#"id="main""#));
    }
}
