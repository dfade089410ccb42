//! TikTok scopes: comma-separated on the wire (`scope=a,b` out, `scopes=a,b` back), never spaces.

use std::collections::BTreeSet;

/// `open_id`, `union_id`, avatar and display name; the only scope asked for when `TIKTOK_SCOPES`
/// is unset.
pub const USER_INFO_BASIC: &str = "user.info.basic";
/// `username`, bio, profile link and `is_verified` (needs TikTok's approval).
pub const USER_INFO_PROFILE: &str = "user.info.profile";
/// Follower, following, like and video counts (needs TikTok's approval).
pub const USER_INFO_STATS: &str = "user.info.stats";
/// The user's public videos (needs TikTok's approval).
pub const VIDEO_LIST: &str = "video.list";
/// Direct Post and its status (needs approval, then TikTok's audit to post publicly).
pub const VIDEO_PUBLISH: &str = "video.publish";
/// Uploads to the creator's inbox and their status (needs TikTok's approval).
pub const VIDEO_UPLOAD: &str = "video.upload";

/// One scope name such as `video.list`: lowercase letters, digits, `.` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// A scope from a trusted name (one of the constants here), unchecked; input goes through
    /// `parse`.
    pub fn new(name: &str) -> Self {
        Self(name.to_owned())
    }

    /// Accepts only names shaped like TikTok's scopes, so hostile input never reaches TikTok or storage.
    pub fn parse(name: &str) -> Option<Self> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        valid.then(|| Self(name.to_owned()))
    }

    /// The name as TikTok spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ordered set of scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses `a,b,c`; empty items are ignored. Returns the first invalid item on failure.
    pub fn parse_comma_list(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| s.chars().take(64).collect::<String>()))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// Whether the scope named `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == name)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes of `self` that `allowed` does not contain.
    pub fn not_in<'a>(&'a self, allowed: &'a ScopeSet) -> Vec<&'a str> {
        self.0.difference(&allowed.0).map(Scope::as_str).collect()
    }

    /// The scopes in both sets (the callback keeps only granted scopes it asked for).
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether the set holds no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Scope::as_str)
    }

    /// The names joined with `,` and no spaces: TikTok's wire form, and the stored one.
    pub fn to_comma_list(&self) -> String {
        self.iter().collect::<Vec<_>>().join(",")
    }

    /// The names in order, as owned strings (for JSON answers).
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_lists_parse_and_reject_spaces_inside_names() {
        let set = ScopeSet::parse_comma_list("video.list, user.info.basic,,").expect("valid");
        assert_eq!(set.to_comma_list(), "user.info.basic,video.list");
        assert_eq!(
            ScopeSet::parse_comma_list("user.info.basic video.list"),
            Err("user.info.basic video.list".into())
        );
        assert!(ScopeSet::parse_comma_list("a\r\nb").is_err());
    }
}
