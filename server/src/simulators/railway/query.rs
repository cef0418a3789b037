//! The slice of GraphQL Railway's client sends: the root field calls of a query, with their\naliases and arguments (literals and $variables), without a full parser.

use super::*;
use crate::simulators::skeleton::{alias_before, is_name_byte};

/// The root fields the simulator answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RootField {
    Deployments,
    Deployment,
    ServiceInstance,
    /// The one mutation: `deploymentRollback(id: String!): Boolean!`.
    DeploymentRollback,
}

impl RootField {
    const ALL: [(&'static str, RootField); 4] = [
        ("deployments", RootField::Deployments),
        ("deployment", RootField::Deployment),
        ("serviceInstance", RootField::ServiceInstance),
        ("deploymentRollback", RootField::DeploymentRollback),
    ];
}

/// One root field in a query: its response key (alias or name) and its resolved arguments.
#[derive(Debug, PartialEq)]
pub(super) struct RootCall {
    pub(super) field: RootField,
    pub(super) key: String,
    pub(super) arguments: Map<String, Value>,
}

/// Finds `name(` / `alias: name(` for the known root fields, in query order. Field names
/// inside a selection (`activeDeployments { … }`) take no arguments here and so never match.
pub(super) fn find_root_calls(query: &str, variables: &Map<String, Value>) -> Vec<RootCall> {
    let bytes = query.as_bytes();
    let mut found: Vec<(usize, RootCall)> = Vec::new();
    for (name, field) in RootField::ALL {
        let mut from = 0;
        while let Some(offset) = query[from..].find(name) {
            let start = from + offset;
            let end = start + name.len();
            from = end;
            if start > 0 && (is_name_byte(bytes[start - 1]) || bytes[start - 1] == b'$') {
                continue;
            }
            let open = end + (query[end..].len() - query[end..].trim_start().len());
            if bytes.get(open) != Some(&b'(') {
                continue;
            }
            let Some(close) = query[open..].find(')').map(|at| open + at) else {
                continue;
            };
            let arguments =
                match ArgumentParser::new(&query[open + 1..close], variables).object_body(None) {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
            found.push((
                start,
                RootCall {
                    field,
                    key: alias_before(&query[..start]).unwrap_or_else(|| name.to_string()),
                    arguments,
                },
            ));
        }
    }
    found.sort_by_key(|(start, _)| *start);
    found.into_iter().map(|(_, call)| call).collect()
}

/// Reads GraphQL argument values: `$variables`, objects, lists, strings, numbers, booleans,
/// `null` and enum names (as strings). Enough for the arguments Railway's fields take.
pub(super) struct ArgumentParser<'a> {
    pub(super) text: &'a [u8],
    pub(super) at: usize,
    pub(super) variables: &'a Map<String, Value>,
}

impl<'a> ArgumentParser<'a> {
    pub(super) fn new(text: &'a str, variables: &'a Map<String, Value>) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            variables,
        }
    }

    /// Commas are insignificant in GraphQL, like whitespace.
    pub(super) fn skip_ignored(&mut self) {
        while self
            .text
            .get(self.at)
            .is_some_and(|byte| byte.is_ascii_whitespace() || *byte == b',')
        {
            self.at += 1;
        }
    }

    pub(super) fn name(&mut self) -> String {
        let start = self.at;
        while self.text.get(self.at).copied().is_some_and(is_name_byte) {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    /// `name: value` pairs until `closing` (or the end of the text).
    pub(super) fn object_body(&mut self, closing: Option<u8>) -> Value {
        let mut map = Map::new();
        loop {
            self.skip_ignored();
            match self.text.get(self.at) {
                None => break,
                Some(byte) if Some(*byte) == closing => {
                    self.at += 1;
                    break;
                }
                Some(_) => {}
            }
            let key = self.name();
            self.skip_ignored();
            if key.is_empty() || self.text.get(self.at) != Some(&b':') {
                // Not an argument list the simulator understands; stop rather than loop.
                break;
            }
            self.at += 1;
            let value = self.value();
            map.insert(key, value);
        }
        Value::Object(map)
    }

    pub(super) fn value(&mut self) -> Value {
        self.skip_ignored();
        let Some(&byte) = self.text.get(self.at) else {
            return Value::Null;
        };
        match byte {
            b'$' => {
                self.at += 1;
                let name = self.name();
                self.variables.get(&name).cloned().unwrap_or(Value::Null)
            }
            b'{' => {
                self.at += 1;
                self.object_body(Some(b'}'))
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ignored();
                    match self.text.get(self.at) {
                        None => break,
                        Some(b']') => {
                            self.at += 1;
                            break;
                        }
                        Some(_) => {
                            let before = self.at;
                            items.push(self.value());
                            if self.at == before {
                                break;
                            }
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => {
                self.at += 1;
                let mut raw = Vec::new();
                while let Some(&byte) = self.text.get(self.at) {
                    self.at += 1;
                    match byte {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&escaped) = self.text.get(self.at) {
                                raw.push(escaped);
                                self.at += 1;
                            }
                        }
                        other => raw.push(other),
                    }
                }
                Value::String(String::from_utf8_lossy(&raw).into_owned())
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.at += 1;
                while self.text.get(self.at).is_some_and(|byte| {
                    byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-')
                }) {
                    self.at += 1;
                }
                let literal = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                serde_json::from_str(&literal).unwrap_or(Value::Null)
            }
            _ => match self.name().as_str() {
                "" => {
                    // Something unexpected: step over it so parsing always moves on.
                    self.at += 1;
                    Value::Null
                }
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                enum_value => Value::String(enum_value.to_string()),
            },
        }
    }
}
