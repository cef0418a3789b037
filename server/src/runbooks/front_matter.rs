//! Front matter: the YAML (`---`) or TOML (`+++`) block at the top of a runbook.
//!
//! Parsing never fails as a whole: every problem becomes a [`Problem`] with its line in the
//! file, and the fields that could be read are kept, so a runbook with a typo still shows.

use app::runbooks::Severity;
use chrono::NaiveDate;

/// The fields a runbook's front matter may hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub services: Vec<String>,
    pub environments: Vec<String>,
    pub severity: Option<Severity>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub last_reviewed: Option<NaiveDate>,
}

/// Something wrong in a runbook file, with its line (1-based, in the whole file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub key: String,
    pub message: String,
    /// True when the front matter as a whole could not be read (its syntax, an unclosed
    /// block): on reload the last good version is kept instead.
    pub fatal: bool,
}

impl Problem {
    fn new(line: u32, key: &str, message: impl Into<String>) -> Self {
        Self {
            line,
            key: key.to_string(),
            message: message.into(),
            fatal: false,
        }
    }

    fn fatal(line: u32, key: &str, message: impl Into<String>) -> Self {
        Self {
            fatal: true,
            ..Self::new(line, key, message)
        }
    }
}

/// A runbook file split into its front matter and its markdown body.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub front: FrontMatter,
    pub body: &'a str,
    pub problems: Vec<Problem>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Toml,
}

const KEYS: [&str; 7] = [
    "title",
    "services",
    "environments",
    "severity",
    "tags",
    "owner",
    "last_reviewed",
];

/// Splits and parses a runbook file's text.
pub fn parse(text: &str) -> Parsed<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    let format = match first.trim_end() {
        "---" => Format::Yaml,
        "+++" => Format::Toml,
        _ => {
            return Parsed {
                front: FrontMatter::default(),
                body: text,
                problems: vec![Problem::new(
                    1,
                    "(front matter)",
                    "no front matter: start the file with a `---` (YAML) or `+++` (TOML) block",
                )],
            }
        }
    };
    let fence = if format == Format::Yaml { "---" } else { "+++" };
    // Find the closing fence: where it starts and where the body begins.
    let mut offset = first.len();
    let mut closing = None;
    for line in lines {
        let trimmed = line.trim_end();
        if trimmed == fence || (format == Format::Yaml && trimmed == "...") {
            closing = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((block_end, body_start)) = closing else {
        return Parsed {
            front: FrontMatter::default(),
            body: text,
            problems: vec![Problem::fatal(
                1,
                "(front matter)",
                format!("the front matter opened on line 1 is never closed with `{fence}`"),
            )],
        };
    };
    let block = &text[first.len()..block_end];
    let body = &text[body_start..];
    let mut problems = Vec::new();
    let fields = match format {
        Format::Yaml => yaml_fields(block, &mut problems),
        Format::Toml => toml_fields(block, &mut problems),
    };
    let front = read_fields(block, format, fields, &mut problems);
    Parsed {
        front,
        body,
        problems,
    }
}

/// One front-matter value, whichever format it came from.
enum Value {
    Text(String),
    List(Vec<Value>),
    Date(NaiveDate),
    Other(&'static str),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "a string",
            Self::List(_) => "a list",
            Self::Date(_) => "a date",
            Self::Other(kind) => kind,
        }
    }
}

/// The front matter's own line 1 is the file's line 2 (after the opening fence).
fn file_line(block_line: usize) -> u32 {
    u32::try_from(block_line + 1).unwrap_or(u32::MAX)
}

fn line_of_offset(block: &str, offset: usize) -> u32 {
    let clamped = offset.min(block.len());
    file_line(
        block.as_bytes()[..clamped]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
    )
}

/// The line where `key` is set at the top level of the block (for errors about its value).
fn key_line(block: &str, format: Format, key: &str) -> u32 {
    let separator = if format == Format::Yaml { ':' } else { '=' };
    block
        .lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(separator))
                || line
                    .strip_prefix(&format!("\"{key}\""))
                    .is_some_and(|rest| rest.trim_start().starts_with(separator))
        })
        .map_or(1, |index| file_line(index + 1))
}

fn yaml_fields(block: &str, problems: &mut Vec<Problem>) -> Vec<(String, Value)> {
    use saphyr::{LoadableYamlNode, Yaml};
    if block.trim().is_empty() {
        return Vec::new();
    }
    // saphyr: YAML 1.2, pure Rust; duplicate keys are an error and alias expansion is capped
    // (no "billion laughs"). Its marker lines are 1-based lines of the block.
    let documents = match Yaml::load_from_str(block) {
        Ok(documents) => documents,
        Err(error) => {
            let line = file_line(error.marker().line().max(1));
            problems.push(Problem::fatal(
                line,
                "(syntax)",
                format!("invalid YAML: {}", error.info().trim()),
            ));
            return Vec::new();
        }
    };
    let mut documents = documents.into_iter();
    let mapping = match documents.next() {
        // Only comments: nothing set.
        None => return Vec::new(),
        Some(Yaml::Mapping(mapping)) => mapping,
        Some(_) => {
            problems.push(Problem::fatal(
                2,
                "(syntax)",
                "the front matter must be a mapping of keys to values",
            ));
            return Vec::new();
        }
    };
    mapping
        .into_iter()
        .map(|(key, value)| {
            let key = match key {
                Yaml::Value(scalar) => scalar_text(&scalar),
                Yaml::Representation(text, _, _) => text.into_owned(),
                _ => "(a complex key)".to_string(),
            };
            (key, from_yaml(value))
        })
        .collect()
}

/// A scalar key as it was written (`true`, `12`, `name`).
fn scalar_text(scalar: &saphyr::Scalar<'_>) -> String {
    match scalar {
        saphyr::Scalar::Null => "null".into(),
        saphyr::Scalar::Boolean(value) => value.to_string(),
        saphyr::Scalar::Integer(value) => value.to_string(),
        saphyr::Scalar::FloatingPoint(value) => value.to_string(),
        saphyr::Scalar::String(text) => text.to_string(),
    }
}

fn from_yaml(value: saphyr::Yaml<'_>) -> Value {
    use saphyr::{Scalar, Yaml};
    match value {
        Yaml::Value(Scalar::String(text)) => Value::Text(text.into_owned()),
        Yaml::Representation(text, _, _) => Value::Text(text.into_owned()),
        Yaml::Value(Scalar::Null) => Value::Other("empty"),
        Yaml::Value(Scalar::Boolean(_)) => Value::Other("a boolean"),
        Yaml::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)) => Value::Other("a number"),
        Yaml::Sequence(items) => Value::List(items.into_iter().map(from_yaml).collect()),
        Yaml::Mapping(_) => Value::Other("a mapping"),
        Yaml::Tagged(_, _) => Value::Other("a tagged value"),
        Yaml::Alias(_) => Value::Other("an alias"),
        Yaml::BadValue => Value::Other("an unreadable value"),
    }
}

fn toml_fields(block: &str, problems: &mut Vec<Problem>) -> Vec<(String, Value)> {
    match toml::from_str::<toml::Table>(block) {
        Ok(table) => table
            .into_iter()
            .map(|(key, value)| (key, from_toml(value)))
            .collect(),
        Err(error) => {
            let line = error
                .span()
                .map_or(2, |span| line_of_offset(block, span.start));
            problems.push(Problem::fatal(
                line,
                "(syntax)",
                format!("invalid TOML: {}", error.message().trim()),
            ));
            Vec::new()
        }
    }
}

fn from_toml(value: toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::Text(text),
        toml::Value::Array(items) => Value::List(items.into_iter().map(from_toml).collect()),
        toml::Value::Datetime(datetime) => match datetime.date {
            Some(date) if datetime.time.is_none() => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .map_or(Value::Other("an invalid date"), Value::Date),
            _ => Value::Other("a date-time"),
        },
        toml::Value::Boolean(_) => Value::Other("a boolean"),
        toml::Value::Integer(_) | toml::Value::Float(_) => Value::Other("a number"),
        toml::Value::Table(_) => Value::Other("a table"),
    }
}

fn read_fields(
    block: &str,
    format: Format,
    fields: Vec<(String, Value)>,
    problems: &mut Vec<Problem>,
) -> FrontMatter {
    let mut front = FrontMatter::default();
    for (key, value) in fields {
        let line = key_line(block, format, &key);
        let mut problem = |message: String| problems.push(Problem::new(line, &key, message));
        match key.as_str() {
            "title" => front.title = text(value, &mut problem),
            "owner" => front.owner = text(value, &mut problem),
            "services" => front.services = list(value, &mut problem),
            "environments" => front.environments = list(value, &mut problem),
            "tags" => front.tags = list(value, &mut problem),
            "severity" => {
                front.severity = text(value, &mut problem).and_then(|text| {
                    let severity = Severity::parse(&text);
                    if severity.is_none() {
                        problem(format!(
                            "`{text}` is not a severity; use one of critical, high, medium, low"
                        ));
                    }
                    severity
                });
            }
            "last_reviewed" => {
                front.last_reviewed = match value {
                    Value::Date(date) => Some(date),
                    Value::Text(text) => match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                        Ok(date) => Some(date),
                        Err(_) => {
                            problem(format!("`{text}` is not a date; write it as YYYY-MM-DD"));
                            None
                        }
                    },
                    other => {
                        problem(format!("must be a date (YYYY-MM-DD), not {}", other.kind()));
                        None
                    }
                };
            }
            _ => problem(format!("unknown key; the keys are {}", KEYS.join(", "))),
        }
    }
    if front.title.is_none() && !problems.iter().any(|problem| problem.fatal) {
        problems.push(Problem::new(
            1,
            "title",
            "missing: every runbook needs a title",
        ));
    }
    front
}

fn text(value: Value, problem: &mut impl FnMut(String)) -> Option<String> {
    match value {
        Value::Text(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Value::Text(_) => {
            problem("is empty".into());
            None
        }
        other => {
            problem(format!("must be a string, not {}", other.kind()));
            None
        }
    }
}

/// A list of strings; a single string is accepted as a list of one.
fn list(value: Value, problem: &mut impl FnMut(String)) -> Vec<String> {
    match value {
        Value::Text(text) => vec![text.trim().to_string()],
        Value::List(items) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Text(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
                other => {
                    problem(format!("every item must be a string, not {}", other.kind()));
                    None
                }
            })
            .collect(),
        other => {
            problem(format!("must be a list of strings, not {}", other.kind()));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_front_matter_is_read() {
        let parsed = parse(
            "---\ntitle: API down\nservices: [api, db]\nenvironments:\n  - production\nseverity: critical\ntags: [outage]\nowner: platform\nlast_reviewed: 2026-10-01\n---\n# Body\n",
        );
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(parsed.front.title.as_deref(), Some("API down"));
        assert_eq!(parsed.front.services, vec!["api", "db"]);
        assert_eq!(parsed.front.environments, vec!["production"]);
        assert_eq!(parsed.front.severity, Some(Severity::Critical));
        assert_eq!(parsed.front.owner.as_deref(), Some("platform"));
        assert_eq!(
            parsed.front.last_reviewed,
            NaiveDate::from_ymd_opt(2026, 10, 1)
        );
        assert_eq!(parsed.body, "# Body\n");
    }

    #[test]
    fn toml_front_matter_is_read() {
        let parsed = parse(
            "+++\ntitle = \"Rollback\"\nservices = [\"web\"]\nseverity = \"high\"\nlast_reviewed = 2026-09-30\n+++\nText\n",
        );
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(parsed.front.title.as_deref(), Some("Rollback"));
        assert_eq!(parsed.front.services, vec!["web"]);
        assert_eq!(parsed.front.severity, Some(Severity::High));
        assert_eq!(
            parsed.front.last_reviewed,
            NaiveDate::from_ymd_opt(2026, 9, 30)
        );
        assert_eq!(parsed.body, "Text\n");
    }

    #[test]
    fn a_bad_value_names_its_key_and_file_line_and_keeps_the_rest() {
        let parsed = parse(
            "---\ntitle: Broken\nseverity: apocalyptic\nlast_reviewed: last week\ncolour: red\n---\nBody\n",
        );
        let found: Vec<_> = parsed
            .problems
            .iter()
            .map(|problem| (problem.line, problem.key.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![(3, "severity"), (4, "last_reviewed"), (5, "colour")]
        );
        assert_eq!(parsed.front.title.as_deref(), Some("Broken"));
        assert!(parsed.problems.iter().all(|problem| !problem.fatal));
    }

    #[test]
    fn a_yaml_syntax_error_has_its_file_line() {
        let parsed = parse("---\ntitle: ok\nservices: [api\ntags: x\n---\nBody\n");
        assert_eq!(parsed.problems.len(), 1);
        let problem = &parsed.problems[0];
        assert!(problem.fatal);
        assert_eq!(problem.key, "(syntax)");
        assert!(
            (3..=5).contains(&problem.line),
            "line {} for {problem:?}",
            problem.line
        );
        assert_eq!(parsed.body, "Body\n");
    }

    #[test]
    fn yaml_errors_name_the_problem_and_its_file_line() {
        // Duplicate keys are an error (YAML says keys are unique), on the second one's line.
        let parsed = parse("---\ntitle: One\ntitle: Two\n---\n");
        let problem = &parsed.problems[0];
        assert!(problem.fatal, "{problem:?}");
        assert!((2..=3).contains(&problem.line), "{problem:?}");
        assert!(problem.message.starts_with("invalid YAML: "), "{problem:?}");
        // A bad indentation further down the block is reported on its own line.
        let parsed = parse("---\ntitle: ok\nservices:\n  - api\n - web\n---\n");
        assert!(parsed.problems[0].fatal);
        assert_eq!(parsed.problems[0].line, 5, "{:?}", parsed.problems);
        // A scalar, not a mapping.
        let parsed = parse("---\njust text\n---\n");
        assert_eq!(
            parsed.problems[0].message,
            "the front matter must be a mapping of keys to values"
        );
    }

    #[test]
    fn yaml_values_of_the_wrong_kind_are_named() {
        let parsed = parse(
            "---\ntitle: 12\nservices: [api, true]\nowner: ~\ntags: {a: b}\nlast_reviewed: no\n---\n",
        );
        let found: Vec<_> = parsed
            .problems
            .iter()
            .map(|problem| (problem.line, problem.key.as_str(), problem.message.as_str()))
            .collect();
        assert_eq!(
            found[..4],
            [
                (2, "title", "must be a string, not a number"),
                (3, "services", "every item must be a string, not a boolean"),
                (4, "owner", "must be a string, not empty"),
                (5, "tags", "must be a list of strings, not a mapping"),
            ]
        );
        // YAML 1.2: `no` is a string, so it is read as a (wrong) date, not a boolean.
        assert_eq!(
            found[4],
            (
                6,
                "last_reviewed",
                "`no` is not a date; write it as YYYY-MM-DD"
            )
        );
        assert_eq!(parsed.front.services, vec!["api"]);
    }

    #[test]
    fn a_toml_syntax_error_has_its_file_line() {
        let parsed = parse("+++\ntitle = \"ok\"\nseverity = high\n+++\nBody\n");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 3);
        assert!(parsed.problems[0].fatal);
    }

    #[test]
    fn an_unclosed_block_or_no_block_is_reported_and_the_text_kept() {
        let unclosed = parse("---\ntitle: half written\n");
        assert!(unclosed.problems[0].fatal);
        assert_eq!(unclosed.problems[0].line, 1);
        let none = parse("# Just markdown\n");
        assert_eq!(none.problems[0].key, "(front matter)");
        assert!(!none.problems[0].fatal);
        assert_eq!(none.body, "# Just markdown\n");
    }

    #[test]
    fn a_missing_title_is_reported() {
        let parsed = parse("---\nservices: api\n---\n");
        assert_eq!(parsed.front.services, vec!["api"]);
        assert_eq!(parsed.problems[0].key, "title");
    }
}
