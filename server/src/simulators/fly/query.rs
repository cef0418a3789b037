//! The slice of GraphQL Fly's client sends: finding a field call in a query and reading its\narguments (literals and $variables), without a full parser.

use super::*;
use crate::simulators::skeleton::{alias_before, is_name_byte};

/// One field found in a query: its response key (alias or name) and resolved arguments.
#[derive(Debug, PartialEq)]
pub(super) struct FieldCall {
    pub(super) key: String,
    pub(super) arguments: Map<String, Value>,
}

/// The first `name` / `alias: name` / `name(args)` in the query, as a whole word (so `app`
/// never matches inside `$appName` or `appName`).
pub(super) fn find_field(
    query: &str,
    name: &str,
    variables: &Map<String, Value>,
) -> Option<FieldCall> {
    let bytes = query.as_bytes();
    let mut from = 0;
    while let Some(offset) = query.get(from..)?.find(name) {
        let start = from + offset;
        let end = start + name.len();
        from = end;
        let before_ok = start == 0 || !(is_name_byte(bytes[start - 1]) || bytes[start - 1] == b'$');
        let after_ok = bytes.get(end).is_none_or(|byte| !is_name_byte(*byte));
        if !before_ok || !after_ok {
            continue;
        }
        let rest = &query[end..];
        let open = end + (rest.len() - rest.trim_start().len());
        let arguments = if bytes.get(open) == Some(&b'(') {
            let close = closing_paren(query, open)?;
            parse_arguments(&query[open + 1..close], variables)
        } else {
            Map::new()
        };
        let key = alias_before(&query[..start]).unwrap_or_else(|| name.to_string());
        return Some(FieldCall { key, arguments });
    }
    None
}

/// The `)` matching the `(` at `open`, skipping string literals.
pub(super) fn closing_paren(query: &str, open: usize) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (at, byte) in query.bytes().enumerate().skip(open + 1) {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (false, _, b'"') => in_string = true,
            (false, _, b')') => return Some(at),
            _ => {}
        }
    }
    None
}

/// `name: $var, first: 10, after: "x"`: variables, strings, numbers, booleans, null and enum
/// names (as strings). Enough for the arguments of the fields above.
pub(super) fn parse_arguments(text: &str, variables: &Map<String, Value>) -> Map<String, Value> {
    let bytes = text.as_bytes();
    let mut arguments = Map::new();
    let mut at = 0;
    let skip = |at: &mut usize| {
        while bytes
            .get(*at)
            .is_some_and(|byte| byte.is_ascii_whitespace() || *byte == b',')
        {
            *at += 1;
        }
    };
    let name = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).copied().is_some_and(is_name_byte) {
            *at += 1;
        }
        text[start..*at].to_string()
    };
    loop {
        skip(&mut at);
        let key = name(&mut at);
        skip(&mut at);
        if key.is_empty() || bytes.get(at) != Some(&b':') {
            break;
        }
        at += 1;
        skip(&mut at);
        let value = match bytes.get(at) {
            Some(b'$') => {
                at += 1;
                let variable = name(&mut at);
                variables.get(&variable).cloned().unwrap_or(Value::Null)
            }
            Some(b'"') => {
                at += 1;
                let mut raw = Vec::new();
                while let Some(&byte) = bytes.get(at) {
                    at += 1;
                    match byte {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&escaped) = bytes.get(at) {
                                raw.push(escaped);
                                at += 1;
                            }
                        }
                        other => raw.push(other),
                    }
                }
                Value::String(String::from_utf8_lossy(&raw).into_owned())
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = at;
                at += 1;
                while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
                serde_json::from_str(&text[start..at]).unwrap_or(Value::Null)
            }
            Some(_) => match name(&mut at).as_str() {
                "" => break,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                enum_value => Value::String(enum_value.to_string()),
            },
            None => break,
        };
        arguments.insert(key, value);
    }
    arguments
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------
