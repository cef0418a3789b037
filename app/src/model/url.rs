//! Building the query strings the wire types travel in: one percent-encoding and one way to
//! join `key=value` pairs, for every page's links.

/// Percent-encodes a URL query value or path segment (unreserved characters stay).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `key=value` pairs joined with `&` (without `?`), values encoded, empty values left out.
pub fn query_string<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    fields
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={}", encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(encode_component("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(
            encode_component("preview/feature x"),
            "preview%2Ffeature%20x"
        );
        assert_eq!(encode_component("é&="), "%C3%A9%26%3D");
    }

    #[test]
    fn empty_values_are_left_out() {
        assert_eq!(
            query_string([("a", "1"), ("b", ""), ("c", "x y")]),
            "a=1&c=x%20y"
        );
        assert_eq!(query_string([("a", "")]), "");
    }
}
