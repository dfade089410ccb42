//! Query strings read from the raw URI, decoded exactly once (TikTok's `code` contains `*` and `!`).

use std::collections::HashMap;

/// Longest raw query string accepted.
pub const MAX_QUERY_LEN: usize = 8 * 1024;
/// Longest single decoded value accepted.
pub const MAX_VALUE_LEN: usize = 2 * 1024;
const MAX_PARAMS: usize = 32;

/// Why a query string was refused as a whole. API routes answer `400 invalid_request` with
/// `message`; the callback redirects with `tiktok=error` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The raw query string is longer than `MAX_QUERY_LEN` bytes.
    TooLong,
    /// More than 32 parameters.
    TooMany,
    /// A name appears more than once; carries the name, cut to 40 printable ASCII characters.
    Duplicate(String),
    /// A decoded value is longer than `MAX_VALUE_LEN` bytes; carries its name, cut likewise.
    ValueTooLong(String),
}

impl QueryError {
    /// The text for the caller, naming the limit and, when there is one, the parameter.
    pub fn message(&self) -> String {
        match self {
            Self::TooLong => format!("query string longer than {MAX_QUERY_LEN} bytes"),
            Self::TooMany => format!("more than {MAX_PARAMS} query parameters"),
            Self::Duplicate(name) => format!("query parameter `{name}` appears more than once"),
            Self::ValueTooLong(name) => {
                format!("query parameter `{name}` is longer than {MAX_VALUE_LEN} bytes")
            }
        }
    }
}

/// Decoded query parameters, each name at most once (a repeated name is ambiguous, so refused).
#[derive(Debug, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Decodes the URI's raw query (without `?`; `None` is an empty query) exactly once, keeping
    /// each name as decoded. Any limit exceeded or name repeated refuses the whole query.
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let raw = raw.unwrap_or_default();
        if raw.len() > MAX_QUERY_LEN {
            return Err(QueryError::TooLong);
        }
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            // Keyed by the exact decoded name: `st%20ate` or `max_c%C3%B6unt` is another
            // parameter, not `state` or `max_count`. Only error messages see the sanitised name.
            if value.len() > MAX_VALUE_LEN {
                return Err(QueryError::ValueTooLong(sanitize_name(&name)));
            }
            if map.len() >= MAX_PARAMS {
                return Err(QueryError::TooMany);
            }
            if map.contains_key(name.as_ref()) {
                return Err(QueryError::Duplicate(sanitize_name(&name)));
            }
            map.insert(name.into_owned(), value.into_owned());
        }
        Ok(Self(map))
    }

    /// Refuses parameters outside `known`, so a typo (`maxcount`) is an error, not a silent default.
    pub fn only(&self, known: &[&str]) -> Result<&Self, String> {
        let mut unknown: Vec<String> = self
            .0
            .keys()
            .filter(|name| !known.contains(&name.as_str()))
            .map(|name| sanitize_name(name))
            .collect();
        if unknown.is_empty() {
            return Ok(self);
        }
        unknown.sort_unstable();
        if known.is_empty() {
            return Err(format!(
                "unknown query parameter `{}`; this route takes none",
                unknown.join("`, `")
            ));
        }
        Err(format!(
            "unknown query parameter `{}`; this route accepts: {}",
            unknown.join("`, `"),
            known.join(", ")
        ))
    }

    /// The decoded value of `name`, matched exactly; `None` when absent (`name=` gives `Some("")`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Names go into error messages; keep them short and printable.
fn sanitize_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exactly_once() {
        let q = Query::parse(Some(
            "code=abc%2A0%216410.u1&scopes=user.info.basic%2Cvideo.list&x=%252A",
        ))
        .expect("ok");
        assert_eq!(q.get("code"), Some("abc*0!6410.u1"));
        assert_eq!(q.get("scopes"), Some("user.info.basic,video.list"));
        assert_eq!(q.get("x"), Some("%2A"));
    }

    #[test]
    fn hostile_queries_are_refused() {
        assert_eq!(
            Query::parse(Some("state=a&state=b")).err(),
            Some(QueryError::Duplicate("state".into()))
        );
        assert_eq!(
            Query::parse(Some(&"a".repeat(MAX_QUERY_LEN + 1))).err(),
            Some(QueryError::TooLong)
        );
        assert!(matches!(
            Query::parse(Some(&format!("code={}", "x".repeat(MAX_VALUE_LEN + 1)))),
            Err(QueryError::ValueTooLong(_))
        ));
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=1")).collect();
        assert_eq!(
            Query::parse(Some(&many.join("&"))).err(),
            Some(QueryError::TooMany)
        );
    }
}
